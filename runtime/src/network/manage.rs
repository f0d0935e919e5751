//! The verbs on networks that `kiln network …` and Compose call: create,
//! list, inspect, remove, prune, and the predefined networks (`bridge`,
//! `host`, `none`) made on first use as Docker's daemon makes them at start.
//! Each verb: lock, sweep, check, write the record, then act on the kernel;
//! removal acts on the kernel first (shim rules, firewall rules, bridge) and
//! drops the record last, so a crash never leaves a kernel object that no
//! record names (see [`super::sweep`]).
//!
//! The predefined networks are made on first use by `ls`, `inspect` and
//! [`ensure_predefined`] (which `run` calls), and their bridge is remade when
//! it is missing (after a reboot), as Docker's daemon does at start.
//! Choosing a subnet from the default pools is serialised across kiln roots
//! by an `flock` on `/run/lock/kiln-network-pools.lock` (as iptables
//! serialises on `/run/xtables.lock`): two roots creating networks at the
//! same moment would otherwise both see the same pool free in the routing
//! table and both take it.
//!
//! Unlike Docker, kiln never adopts an existing link as a network's bridge
//! (`-o com.docker.network.bridge.name=docker0` is refused): every bridge a
//! record names was made by kiln, so removing it never removes someone
//! else's interface.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::firewall::{self, Firewall, FirewallError, NetworkRules};
use super::names::RootTag;
use super::netlink::{self, BridgeSpec};
use super::plan::{self, PlanContext};
use super::record::{EndpointRecord, NetworkRecord, NetworkStore};
use super::NetworkError;

/// `kiln network create`'s request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// The name.
    pub name: String,
    /// `--driver` (`bridge` when empty).
    pub driver: String,
    /// `--subnet`/`--gateway`/`--ip-range`, in order (IPv4 and IPv6).
    pub subnets: Vec<SubnetRequest>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o` (`com.docker.network.bridge.name`, `…driver.mtu` are honoured).
    pub options: BTreeMap<String, String>,
}

/// One `--subnet` with its `--gateway` and `--ip-range`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetRequest {
    /// CIDR.
    pub subnet: String,
    /// The bridge's address (default: the first host address).
    pub gateway: Option<IpAddr>,
    /// Where dynamic addresses come from.
    pub ip_range: Option<String>,
}

/// A network with the containers on it (for `ls`, `inspect`, `rm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    /// The record.
    pub network: NetworkRecord,
    /// Its live endpoints.
    pub endpoints: Vec<EndpointRecord>,
}

/// Creates a network (record first, then bridge and rules). When making
/// the kernel objects fails, what was made is removed with the record and
/// the first error is returned.
pub fn create(root: &Path, request: &CreateRequest) -> Result<NetworkRecord, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    super::sweep::sweep(root)?;
    let tag = RootTag::of(root);
    let _pools = PoolLock::take();
    let existing = store.networks()?;
    let routed = host_routes()?;
    let ctx = context(&existing, &routed, &tag)?;
    let network = plan::plan_network(request, &ctx)?;
    refuse_foreign_bridge(&network)?;
    store.put_network(&network)?;
    if let Err(e) = realize(&tag, &network) {
        let _ = store.remove_network(&network.id);
        return Err(e);
    }
    super::sweep::mark_swept(&store)?;
    Ok(network)
}

/// Makes sure the predefined networks exist (`bridge` with its bridge and
/// rules, `host`, `none`) and returns `bridge`.
pub fn ensure_predefined(root: &Path) -> Result<NetworkRecord, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let tag = RootTag::of(root);
    let existing = store.networks()?;
    for (name, driver) in [("host", "host"), ("none", "null")] {
        if !existing.iter().any(|n| n.name == name) {
            let ctx = context(&existing, &[], &tag)?;
            store.put_network(&plan::plan_plain(name, driver, &ctx))?;
        }
    }
    if let Some(bridge) = existing.into_iter().find(|n| n.name == "bridge") {
        ensure_realized(root, &bridge)?;
        return Ok(bridge);
    }
    let _pools = PoolLock::take();
    let existing = store.networks()?;
    let routed = host_routes()?;
    let bridge = plan::plan_default_bridge(&context(&existing, &routed, &tag)?)?;
    store.put_network(&bridge)?;
    realize(&tag, &bridge)?;
    Ok(bridge)
}

/// Remakes a bridge network's kernel objects when its bridge link is
/// missing (after a reboot, or a crash during `create`); one `stat` when
/// it is there.
pub fn ensure_realized(root: &Path, network: &NetworkRecord) -> Result<(), NetworkError> {
    if network.driver != "bridge" || link_exists(&network.bridge) {
        return Ok(());
    }
    realize(&RootTag::of(root), network)
}

/// Every network with its endpoints, sorted by name.
pub fn list(root: &Path) -> Result<Vec<NetworkView>, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    ensure_predefined(root)?;
    super::sweep::sweep(root)?;
    store
        .networks()?
        .into_iter()
        .map(|network| view(&store, network))
        .collect()
}

/// One network by name, ID or ID prefix, with its endpoints.
pub fn inspect(root: &Path, name_or_id: &str) -> Result<NetworkView, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    ensure_predefined(root)?;
    super::sweep::sweep(root)?;
    view(&store, store.find(name_or_id)?)
}

/// Removes a network (refused while containers use it, or predefined).
pub fn remove(root: &Path, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    super::sweep::sweep(root)?;
    let network = store.find(name_or_id)?;
    if is_predefined(&network) {
        return Err(NetworkError::Predefined(network.name));
    }
    if !store.endpoints(&network.id)?.is_empty() {
        return Err(NetworkError::InUse {
            name: network.name,
            id: network.id,
        });
    }
    teardown(&RootTag::of(root), &network)?;
    store.remove_network(&network.id)?;
    super::sweep::mark_swept(&store)?;
    Ok(network)
}

/// Removes every user-defined network without endpoints for which `keep`
/// says false; returns the removed networks' names.
pub fn prune(
    root: &Path,
    keep: &dyn Fn(&NetworkRecord) -> bool,
) -> Result<Vec<String>, NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    super::sweep::sweep(root)?;
    let tag = RootTag::of(root);
    let mut removed = Vec::new();
    for network in store.networks()? {
        if is_predefined(&network) || keep(&network) || !store.endpoints(&network.id)?.is_empty() {
            continue;
        }
        teardown(&tag, &network)?;
        store.remove_network(&network.id)?;
        removed.push(network.name);
    }
    super::sweep::mark_swept(&store)?;
    Ok(removed)
}

/// Removes ALL of this root's networking state: its nft table, its links
/// (tagged ones and the bridges its records name), its iptables shim rules
/// and its records. Safe when nothing exists (and then free: nothing is
/// asked of the kernel when `<root>/networks` does not exist); links and
/// records go even when nftables cannot be used. Returns the first error
/// after doing all it can.
pub fn reset(root: &Path) -> Result<(), NetworkError> {
    if !root.join("networks").is_dir() {
        return Ok(());
    }
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let tag = RootTag::of(root);
    let mut first: Option<NetworkError> = None;
    let mut keep = |result: Result<(), NetworkError>| {
        if let Err(e) = result {
            first.get_or_insert(e);
        }
    };
    let firewall = Firewall::open(&tag.table()).and_then(|fw| fw.delete_table());
    keep(match firewall {
        Err(FirewallError::Unavailable(_)) => Ok(()),
        other => other.map_err(NetworkError::from),
    });
    let named: Vec<String> = store
        .networks()
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.bridge)
        .filter(|b| !b.is_empty())
        .collect();
    keep(delete_links(&tag, &named));
    keep(firewall::remove_forward_shim(&tag.comment_prefix()).map_err(NetworkError::from));
    keep(clear_records(&store));
    first.map_or(Ok(()), Err)
}

/// Whether `network` is one of the predefined ones (`bridge`, `host`,
/// `none`).
pub fn is_predefined(network: &NetworkRecord) -> bool {
    plan::PREDEFINED.contains(&network.name.as_str())
}

/// Makes a bridge network's kernel objects (idempotent): the bridge with its
/// gateways, forwarding on, the firewall rules, the iptables shim. When one
/// step fails, what the others made is removed (so the bridge link exists
/// only with its rules, and the next attempt starts over) and the first
/// error is returned.
pub fn realize(tag: &RootTag, network: &NetworkRecord) -> Result<(), NetworkError> {
    if network.driver != "bridge" {
        return Ok(());
    }
    realize_steps(tag, network).inspect_err(|_| {
        let _ = teardown(tag, network);
    })
}

fn realize_steps(tag: &RootTag, network: &NetworkRecord) -> Result<(), NetworkError> {
    let addresses = gateways(network)?;
    netlink::ensure_bridge(&BridgeSpec {
        name: network.bridge.clone(),
        mtu: network.mtu,
        addresses: addresses.clone(),
    })?;
    netlink::set_sysctl("net/ipv4/ip_forward", "1")?;
    if network.ipv6 {
        netlink::set_sysctl("net/ipv6/conf/all/forwarding", "1")?;
    }
    let firewall = Firewall::open(&tag.table())?;
    firewall.add_network(&NetworkRules {
        bridge: network.bridge.clone(),
        subnets: subnets(network)?,
        internal: network.internal,
    })?;
    firewall::ensure_forward_shim(&network.bridge, &tag.comment(&network.id))?;
    Ok(())
}

/// Removes a bridge network's kernel objects (missing ones are fine): shim
/// rules, firewall rules, then the bridge. Every step is tried; the first
/// error is returned (the record is then kept, so a retry or the sweep
/// finds what is left).
pub fn teardown(tag: &RootTag, network: &NetworkRecord) -> Result<(), NetworkError> {
    if network.driver != "bridge" || network.bridge.is_empty() {
        return Ok(());
    }
    let shim = firewall::remove_forward_shim(&tag.comment(&network.id));
    let rules = Firewall::open(&tag.table()).and_then(|fw| fw.remove_network(&network.bridge));
    let link = netlink::delete_link(&network.bridge);
    shim?;
    rules?;
    link?;
    Ok(())
}

/// The gateways of a network with their subnets' prefix lengths.
pub fn gateways(network: &NetworkRecord) -> Result<Vec<(IpAddr, u8)>, NetworkError> {
    network
        .subnets
        .iter()
        .map(|s| {
            Ok((
                s.gateway,
                super::ipam::Prefix::parse(&s.subnet, "--subnet")?.len,
            ))
        })
        .collect()
}

/// The subnets of a network as (network address, prefix length).
pub fn subnets(network: &NetworkRecord) -> Result<Vec<(IpAddr, u8)>, NetworkError> {
    network
        .subnets
        .iter()
        .map(|s| {
            let prefix = super::ipam::Prefix::parse(&s.subnet, "--subnet")?;
            Ok((prefix.address, prefix.len))
        })
        .collect()
}

fn view(store: &NetworkStore, network: NetworkRecord) -> Result<NetworkView, NetworkError> {
    let endpoints = store.endpoints(&network.id)?;
    Ok(NetworkView { network, endpoints })
}

fn context<'a>(
    existing: &'a [NetworkRecord],
    routed: &'a [super::ipam::Prefix],
    tag: &'a RootTag,
) -> Result<PlanContext<'a>, NetworkError> {
    let (secs, nanos) = kiln_image::time::now();
    Ok(PlanContext {
        existing,
        routed,
        tag,
        default_mtu: default_mtu()?,
        id: crate::container::new_id()
            .map_err(|e| NetworkError::io("reading", "/dev/urandom", e))?,
        created: kiln_image::time::format_rfc3339_nanos(secs, nanos),
    })
}

/// The default route's interface's MTU (1400 on this project's machines),
/// else 1500.
fn default_mtu() -> Result<u32, NetworkError> {
    Ok(netlink::default_route_mtu()?.unwrap_or(1500))
}

fn host_routes() -> Result<Vec<super::ipam::Prefix>, NetworkError> {
    Ok(plan::routed(&netlink::routed_prefixes()?))
}

/// Refuses a user-chosen bridge name (`-o com.docker.network.bridge.name`)
/// that names a link which exists already: Docker would adopt it, but kiln
/// runs beside other tools (Docker's `docker0` among them) and only ever
/// removes links it made, so it never adopts one.
fn refuse_foreign_bridge(network: &NetworkRecord) -> Result<(), NetworkError> {
    if network.options.contains_key(plan::OPT_BRIDGE_NAME) && link_exists(&network.bridge) {
        return Err(NetworkError::InvalidOption {
            flag: "-o com.docker.network.bridge.name",
            value: network.bridge.clone(),
            reason: "a network interface of this name exists already".into(),
        });
    }
    Ok(())
}

/// Whether the host has a link named `name` (one `stat` in sysfs).
pub fn link_exists(name: &str) -> bool {
    super::names::valid_link_name(name) && Path::new("/sys/class/net").join(name).exists()
}

/// Deletes the root's tagged links and the bridges `named`.
fn delete_links(tag: &RootTag, named: &[String]) -> Result<(), NetworkError> {
    let mut links = netlink::links_with_prefix("k")?;
    links.retain(|l| tag.owns_link(l));
    for name in named {
        if link_exists(name) && !links.contains(name) {
            links.push(name.clone());
        }
    }
    for link in links {
        netlink::delete_link(&link)?;
    }
    Ok(())
}

/// Removes every record and marker under `<root>/networks` but the lock.
fn clear_records(store: &NetworkStore) -> Result<(), NetworkError> {
    let dir = store.dir();
    let entries = std::fs::read_dir(dir).map_err(|e| NetworkError::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| NetworkError::io("listing", dir, e))?;
        if entry.file_name() == ".lock" {
            continue;
        }
        let path = entry.path();
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.map_err(|e| NetworkError::io("removing", &path, e))?;
    }
    Ok(())
}

/// The host-wide lock on choosing subnets from the default pools (see the
/// module docs); best effort: without `/run/lock` kiln goes on unlocked.
struct PoolLock {
    _file: Option<std::fs::File>,
}

impl PoolLock {
    fn take() -> PoolLock {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/run/lock/kiln-network-pools.lock")
            .ok();
        if let Some(file) = &file {
            // SAFETY: flock on a descriptor owned by `file`.
            while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                    break;
                }
            }
        }
        PoolLock { _file: file }
    }
}
