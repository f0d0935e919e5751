//! Removes what a `kill -9` left behind (of kiln, of a monitor, at any
//! point): endpoints whose holder process is gone (their port elements and
//! records), and links, firewall rules and iptables shim rules of this root
//! that no record names. Run at the start of networking commands, under the
//! lock; cheap (one nft listing, one link dump, the records).
//!
//! Steps (`notes/networking.md` 3.8):
//! 1. every endpoint whose holder is not alive (its PID runs and has the
//!    recorded start time, field 22 of `/proc/<pid>/stat`, so a reused PID
//!    is not mistaken for it): its ports unpublished, its host veth deleted
//!    if still there, its record removed (its address is free again);
//! 2. links named `kb<tag>…`/`kv<tag>…` that no record names: deleted;
//! 3. the nft table's bridges without a network record and port elements
//!    whose container address no live endpoint holds: removed;
//! 4. iptables shim rules tagged `kiln:<tag>:` for networks without a
//!    record: removed;
//! 5. bridge networks whose bridge or rules are missing (a reboot, a crash
//!    during `create`): their bridge and rules made again.
//!
//! Because records are written before the objects they name and removed
//! after them, steps 2 to 5 can only find something after a crash freed an
//! endpoint (step 1), after a reboot, or when records were changed behind
//! kiln's back. So they run when step 1 found a dead endpoint or when the
//! boot or the set of networks differs from the one of the last complete
//! sweep (kept in `<root>/networks/.swept`): a sweep that finds nothing stale (every
//! `run` sweeps) costs reading the records and `/proc/<pid>/stat` of each
//! endpoint's holder, and no netlink, nft or iptables call. `network
//! create`, `rm` and `prune` change records and objects together after
//! their own sweep, so they mark the sweep clean ([`mark_swept`]). `reset`
//! removes everything of a root whatever the records say.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use super::firewall::{self, Firewall, PortRule};
use super::manage;
use super::names::RootTag;
use super::netlink;
use super::record::{EndpointRecord, NetworkRecord, NetworkStore};
use super::NetworkError;
use crate::container::process;

/// What one sweep removed (for tests and `--debug`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Endpoint records of dead holders (`network/container`).
    pub endpoints: Vec<String>,
    /// Links without a record.
    pub links: Vec<String>,
    /// Bridges' firewall rules without a record.
    pub rules: Vec<String>,
    /// Published ports without an endpoint.
    pub ports: usize,
    /// iptables shim rules without a record.
    pub shim_rules: Vec<String>,
    /// Networks whose bridge was missing (after a reboot, or a crash during
    /// `create`) and was made again.
    pub remade: Vec<String>,
}

impl SweepReport {
    /// Whether the sweep found nothing stale.
    pub fn is_empty(&self) -> bool {
        *self == SweepReport::default()
    }
}

/// The marker of the last complete sweep: the network IDs it saw.
const SWEPT: &str = ".swept";

/// Sweeps the root `root` (taking its lock; re-entrant when the caller
/// holds it).
pub fn sweep(root: &Path) -> Result<SweepReport, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let tag = RootTag::of(root);
    let mut report = SweepReport::default();
    let networks = store.networks()?;
    let mut live = Vec::new();
    for network in &networks {
        for endpoint in store.endpoints(&network.id)? {
            if process::alive(endpoint.holder_pid, endpoint.holder_start) {
                live.push(endpoint);
            } else {
                remove_dead(&store, &tag, &endpoint)?;
                let name = &endpoint.container_name;
                report.endpoints.push(format!("{}/{name}", network.name));
            }
        }
    }
    let marker = store.dir().join(SWEPT);
    let seen = network_set(&networks);
    let changed = std::fs::read_to_string(&marker).map_or(true, |text| text != seen);
    if changed || !report.endpoints.is_empty() {
        let with_rules = sweep_firewall(&tag, &networks, &live, &mut report)?;
        report.remade = remake_missing(&tag, &networks, &with_rules)?;
        report.links = sweep_links(&tag, &networks, &live)?;
        report.shim_rules = sweep_shim(&tag, &networks)?;
        std::fs::write(&marker, seen).map_err(|e| NetworkError::io("writing", &marker, e))?;
    }
    Ok(report)
}

/// Records that the root's kernel objects match its records now (the
/// caller swept, then changed both together, under the lock): the next
/// sweep need not be complete. `network create`, `rm` and `prune` call it
/// so the first `run` after them stays cheap.
pub fn mark_swept(store: &NetworkStore) -> Result<(), NetworkError> {
    let marker = store.dir().join(SWEPT);
    let seen = network_set(&store.networks()?);
    std::fs::write(&marker, seen).map_err(|e| NetworkError::io("writing", &marker, e))
}

/// Whether `endpoint`'s holder (the container's monitor) still runs.
pub fn endpoint_alive(endpoint: &EndpointRecord) -> bool {
    process::alive(endpoint.holder_pid, endpoint.holder_start)
}

/// The firewall elements of an endpoint's published ports: one per port
/// and container address of the host address's family (both families when
/// the port is published on every host address).
pub fn port_rules(endpoint: &EndpointRecord) -> Vec<PortRule> {
    let addresses = [endpoint.ipv4, endpoint.ipv6];
    let mut rules = Vec::new();
    for port in &endpoint.ports {
        for (container_ip, _) in addresses.iter().flatten() {
            if port
                .host_ip
                .is_some_and(|h| h.is_ipv4() != container_ip.is_ipv4())
            {
                continue;
            }
            rules.push(PortRule {
                host_ip: port.host_ip,
                host_port: port.host_port,
                protocol: port.protocol,
                container_ip: *container_ip,
                container_port: port.container_port,
            });
        }
    }
    rules
}

/// Unpublishes a dead endpoint's ports, deletes its host veth when still
/// there, then removes its record.
fn remove_dead(
    store: &NetworkStore,
    tag: &RootTag,
    endpoint: &EndpointRecord,
) -> Result<(), NetworkError> {
    let rules = port_rules(endpoint);
    if !rules.is_empty() {
        Firewall::open(&tag.table())?.unpublish(&rules)?;
    }
    if !endpoint.host_veth.is_empty() {
        netlink::delete_link(&endpoint.host_veth)?;
    }
    store.remove_endpoint(&endpoint.network_id, &endpoint.container_id)
}

/// Deletes the root's tagged links that no record names.
fn sweep_links(
    tag: &RootTag,
    networks: &[NetworkRecord],
    live: &[EndpointRecord],
) -> Result<Vec<String>, NetworkError> {
    let named: BTreeSet<&str> = networks
        .iter()
        .map(|n| n.bridge.as_str())
        .chain(live.iter().map(|e| e.host_veth.as_str()))
        .collect();
    let mut removed = Vec::new();
    for link in netlink::links_with_prefix("k")? {
        if tag.owns_link(&link) && !named.contains(link.as_str()) {
            netlink::delete_link(&link)?;
            removed.push(link);
        }
    }
    Ok(removed)
}

/// Removes the table's bridges without a record and port elements no live
/// endpoint owns; returns the bridges that keep rules. Nothing is asked of
/// nftables when the root has no bridge network (the table is then never
/// made).
fn sweep_firewall(
    tag: &RootTag,
    networks: &[NetworkRecord],
    live: &[EndpointRecord],
    report: &mut SweepReport,
) -> Result<BTreeSet<String>, NetworkError> {
    if !networks.iter().any(|n| n.driver == "bridge") {
        return Ok(BTreeSet::new());
    }
    let firewall = Firewall::open(&tag.table())?;
    let state = firewall.state()?;
    let bridges: BTreeSet<&str> = networks.iter().map(|n| n.bridge.as_str()).collect();
    let mut with_rules = BTreeSet::new();
    for bridge in state.bridges {
        if bridges.contains(bridge.as_str()) {
            with_rules.insert(bridge);
        } else {
            firewall.remove_network(&bridge)?;
            report.rules.push(bridge);
        }
    }
    let owned: BTreeSet<IpAddr> = live
        .iter()
        .flat_map(|e| [e.ipv4, e.ipv6])
        .flatten()
        .map(|(ip, _)| ip)
        .collect();
    let stale: Vec<PortRule> = state
        .ports
        .into_iter()
        .filter(|p| !owned.contains(&p.container_ip))
        .collect();
    if !stale.is_empty() {
        firewall.unpublish(&stale)?;
        report.ports = stale.len();
    }
    Ok(with_rules)
}

/// Removes shim rules of this root whose network has no record.
fn sweep_shim(tag: &RootTag, networks: &[NetworkRecord]) -> Result<Vec<String>, NetworkError> {
    let known: BTreeSet<String> = networks.iter().map(|n| tag.comment(&n.id)).collect();
    let mut removed = Vec::new();
    for comment in firewall::forward_shim_comments(&tag.comment_prefix())? {
        if !known.contains(&comment) {
            firewall::remove_forward_shim(&comment)?;
            removed.push(comment);
        }
    }
    Ok(removed)
}

/// Makes again the kernel objects of bridge networks whose bridge or whose
/// rules (`with_rules` lists the bridges that have them) are missing; their
/// names.
fn remake_missing(
    tag: &RootTag,
    networks: &[NetworkRecord],
    with_rules: &BTreeSet<String>,
) -> Result<Vec<String>, NetworkError> {
    let mut remade = Vec::new();
    for network in networks {
        let whole = manage::link_exists(&network.bridge) && with_rules.contains(&network.bridge);
        if network.driver == "bridge" && !whole {
            manage::realize(tag, network)?;
            remade.push(network.name.clone());
        }
    }
    Ok(remade)
}

/// The marker text for `networks`: this boot's ID (so the first sweep after
/// a reboot is complete), then their IDs, sorted, one a line.
fn network_set(networks: &[NetworkRecord]) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let ids: BTreeSet<&str> = networks.iter().map(|n| n.id.as_str()).collect();
    let mut text = format!("boot {}\n", boot.trim());
    text.extend(ids.into_iter().map(|id| format!("{id}\n")));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::record::PublishedPort;
    use kiln_parser::values::Protocol;

    fn endpoint(ports: Vec<PublishedPort>) -> EndpointRecord {
        EndpointRecord {
            network_id: "n".into(),
            container_id: "c".into(),
            container_name: "c".into(),
            endpoint_id: "e".into(),
            interface: "eth0".into(),
            host_veth: String::new(),
            mac: String::new(),
            ipv4: Some(("10.200.0.2".parse().unwrap(), 24)),
            ipv6: Some(("fd00::2".parse().unwrap(), 64)),
            aliases: vec![],
            ports,
            dns_servers: vec![],
            holder_pid: 0,
            holder_start: 0,
        }
    }

    fn port(host_ip: Option<&str>, host_port: u16) -> PublishedPort {
        PublishedPort {
            host_ip: host_ip.map(|h| h.parse().unwrap()),
            host_port,
            container_port: 80,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn port_rules_cover_each_family_the_host_address_allows() {
        let e = endpoint(vec![
            port(None, 8080),
            port(Some("127.0.0.1"), 8081),
            port(Some("::1"), 8082),
        ]);
        let rules: Vec<(u16, String)> = port_rules(&e)
            .into_iter()
            .map(|r| (r.host_port, r.container_ip.to_string()))
            .collect();
        let expected = [
            (8080, "10.200.0.2"),
            (8080, "fd00::2"),
            (8081, "10.200.0.2"),
            (8082, "fd00::2"),
        ];
        let expected: Vec<(u16, String)> = expected
            .iter()
            .map(|(p, ip)| (*p, ip.to_string()))
            .collect();
        assert_eq!(rules, expected);
        assert!(port_rules(&endpoint(vec![])).is_empty());
    }

    #[test]
    fn a_holder_that_is_gone_or_reused_is_dead() {
        let mut e = endpoint(vec![]);
        assert!(!endpoint_alive(&e));
        e.holder_pid = std::process::id();
        e.holder_start = process::start_time(e.holder_pid).unwrap();
        assert!(endpoint_alive(&e));
        e.holder_start += 1;
        assert!(!endpoint_alive(&e));
    }

    #[test]
    fn the_marker_lists_network_ids_sorted() {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        let head = format!("boot {}\n", boot.trim());
        assert_eq!(network_set(&[]), head);
        let record = |id: &str| NetworkRecord {
            id: id.into(),
            name: id.into(),
            driver: "bridge".into(),
            created: String::new(),
            bridge: String::new(),
            subnets: vec![],
            internal: false,
            ipv6: false,
            attachable: false,
            dns: false,
            mtu: 0,
            labels: Default::default(),
            options: Default::default(),
        };
        assert_eq!(
            network_set(&[record("b"), record("a")]),
            format!("{head}a\nb\n")
        );
    }
}
