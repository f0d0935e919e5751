//! The network half of a container's plan: which network it joins, the
//! options Docker refuses in combination, and the `HostConfig`/`Config`
//! fields that let every start re-attach the same way. Pure, except
//! [`resolve`], which the act step calls first to look up what the plan
//! cannot know (a named network exists; the container of `container:X`).
//!
//! Docker is the reference:
//! - no `--network` is `default`, recorded as `default` (Docker 20.10) and
//!   attached to the predefined `bridge` network, made on first use;
//! - a named network must exist when the container is created
//!   (`network X not found`, exit 125);
//! - `container:X` records X's full ID, takes X's hostname, and refuses
//!   `--hostname`, `--dns`, `--add-host`, `--mac-address`, `-p`, `-P` and
//!   `--expose` (runconfig's `conflicting options: …` words); whether X runs
//!   is checked at each start by the monitor;
//! - `--ip`, `--ip6` and `--network-alias` need a user-defined network;
//! - `-p` with `--network host` is recorded but never published, with
//!   Docker's warning (see [`warnings`]);
//! - `--add-host NAME:host-gateway` is the gateway of the container's
//!   network (resolved by the monitor when it attaches). With `host` or
//!   `none` networks kiln uses the host's address on its default route
//!   (Docker uses its `docker0` address; kiln does not make a bridge for a
//!   container that does not use one), with `127.0.0.1` when the host has no
//!   default route.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use kiln_parser::values::{HostAddress, NetworkAttachment, PortMapping, PortRange};

use super::options::{CreateOptions, ExposedPort};
use crate::container::{ContainerStore, EndpointConfig, HostConfig, PortBinding};
use crate::error::{Error, Result};
use crate::network::record::NetworkStore;
use crate::spec::NetworkMode;

/// What the act step looked up for the plan (nothing for `none`, `host`
/// and the default network).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedNetwork {
    /// For `container:X`: X's full ID and hostname.
    pub container: Option<(String, String)>,
    /// The host's address for `host-gateway` with `host`/`none` networks.
    pub host_address: Option<IpAddr>,
}

/// The network decisions of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPlan {
    /// The namespace as the `/etc` files see it (`None`: kiln makes one).
    pub mode: NetworkMode,
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
    /// The endpoint settings to record, by network name.
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// The hostname forced by `container:X` (X's).
    pub hostname: Option<String>,
    /// `--add-host` lines for `/etc/hosts` written at create (`IP\tNAME`).
    pub extra_host_lines: Vec<String>,
}

/// Whether `mode` (a record's `HostConfig.NetworkMode`) names a bridge
/// network: the default one or a user-defined one.
pub fn is_bridge_mode(mode: &str) -> bool {
    !matches!(mode, "none" | "host" | "") && !mode.starts_with("container:")
}

/// The predefined network a mode names (`default` is `bridge`).
pub fn network_name(mode: &str) -> &str {
    match mode {
        "default" => "bridge",
        other => other,
    }
}

/// Looks up what the plan needs: that a named network exists, the
/// container of `container:X`, the host's address for `host-gateway`.
pub fn resolve(root: &Path, options: &CreateOptions) -> Result<ResolvedNetwork> {
    let mut resolved = ResolvedNetwork::default();
    match &options.network {
        NetworkAttachment::Named { name, .. } if name != "default" && name != "bridge" => {
            NetworkStore::open(root)?.find(name)?;
        }
        NetworkAttachment::Container(key) => {
            let other = ContainerStore::open(root)?.find(key)?;
            resolved.container = Some((other.record.id, other.record.config.hostname));
        }
        NetworkAttachment::Host | NetworkAttachment::None => {
            let wanted = options.extra_hosts.iter();
            if wanted.clone().any(|(_, a)| *a == HostAddress::HostGateway) {
                resolved.host_address = Some(default_route_address());
            }
        }
        NetworkAttachment::Named { .. } => {}
    }
    Ok(resolved)
}

/// Decides the container's network from its options.
pub fn plan_network(options: &CreateOptions, resolved: &ResolvedNetwork) -> Result<NetworkPlan> {
    refuse_conflicts(options)?;
    let mut plan = NetworkPlan {
        mode: NetworkMode::None,
        network_mode: String::new(),
        endpoints: BTreeMap::new(),
        hostname: None,
        extra_host_lines: Vec::new(),
    };
    match &options.network {
        NetworkAttachment::None => plan.network_mode = "none".into(),
        NetworkAttachment::Host => {
            plan.mode = NetworkMode::Host;
            plan.network_mode = "host".into();
        }
        NetworkAttachment::Container(key) => {
            let (id, hostname) = resolved.container.clone().ok_or_else(|| {
                Error::Network(crate::network::NetworkError::NotFound(format!(
                    "container:{key}"
                )))
            })?;
            plan.network_mode = format!("container:{id}");
            plan.hostname = Some(hostname);
        }
        NetworkAttachment::Named { name, .. } => {
            plan.network_mode = name.clone();
            let endpoint = named_endpoint(options)?;
            plan.endpoints
                .insert(network_name(name).to_string(), endpoint);
        }
    }
    if !is_bridge_mode(&plan.network_mode) {
        plan.extra_host_lines = extra_host_lines(options, resolved.host_address);
    }
    Ok(plan)
}

/// The endpoint settings of a named network, refused on the predefined
/// `bridge` network where Docker refuses them.
fn named_endpoint(options: &CreateOptions) -> Result<EndpointConfig> {
    let NetworkAttachment::Named {
        name,
        aliases,
        ipv4,
        ipv6,
    } = &options.network
    else {
        return Ok(EndpointConfig::default());
    };
    let predefined = name == "default" || name == "bridge";
    if predefined && (ipv4.is_some() || ipv6.is_some()) {
        return Err(Error::Conflict(
            "user specified IP address is supported on user defined networks only",
        ));
    }
    if predefined && !aliases.is_empty() {
        return Err(Error::Conflict(
            "network-scoped alias is supported only for containers in user defined networks",
        ));
    }
    Ok(EndpointConfig {
        aliases: aliases.clone(),
        ipv4_address: *ipv4,
        ipv6_address: *ipv6,
        mac_address: options.mac_address.map(format_mac).unwrap_or_default(),
    })
}

/// Docker's refusals of options that cannot go with the network mode.
fn refuse_conflicts(o: &CreateOptions) -> Result<()> {
    let container = matches!(o.network, NetworkAttachment::Container(_));
    let host = o.network == NetworkAttachment::Host;
    let conflicts: [(bool, &'static str); 6] = [
        (
            o.hostname.is_some(),
            "conflicting options: hostname and the network mode",
        ),
        (
            !o.dns.is_empty(),
            "conflicting options: dns and the network mode",
        ),
        (
            !o.extra_hosts.is_empty(),
            "conflicting options: custom host-to-IP mapping and the network mode",
        ),
        (
            o.mac_address.is_some(),
            "conflicting options: mac-address and the network mode",
        ),
        (
            !o.ports.is_empty() || o.publish_all,
            "conflicting options: port publishing and the container type network mode",
        ),
        (
            !o.expose.is_empty(),
            "conflicting options: port exposing and the container type network mode",
        ),
    ];
    if container {
        if let Some((_, message)) = conflicts.iter().find(|(hit, _)| *hit) {
            return Err(Error::Conflict(message));
        }
    }
    if host && o.mac_address.is_some() {
        return Err(Error::Conflict(
            "conflicting options: mac-address and the network mode",
        ));
    }
    Ok(())
}

/// What Docker warns about at create (printed by the caller as
/// `WARNING: …`).
pub fn warnings(options: &CreateOptions) -> Vec<String> {
    let mut out = Vec::new();
    if options.network == NetworkAttachment::Host && !options.ports.is_empty() {
        out.push("Published ports are discarded when using host network mode".to_string());
    }
    out
}

/// The `--add-host` lines written at create for `host`/`none` networks
/// (bridge networks get theirs from the monitor, which knows the gateway).
fn extra_host_lines(options: &CreateOptions, host_address: Option<IpAddr>) -> Vec<String> {
    options
        .extra_hosts
        .iter()
        .filter_map(|(name, address)| match address {
            HostAddress::Ip(ip) => Some(format!("{ip}\t{name}")),
            HostAddress::HostGateway => host_address.map(|ip| format!("{ip}\t{name}")),
        })
        .collect()
}

/// Fills the network fields of `HostConfig`: `PortBindings`,
/// `PublishAllPorts`, `Dns`, `DnsSearch`, `DnsOptions`, `ExtraHosts`.
pub fn fill_host_config(o: &CreateOptions, host: &mut HostConfig) {
    for mapping in &o.ports {
        let key = format!("{}/{}", mapping.container_port, mapping.protocol.as_str());
        host.port_bindings
            .entry(key)
            .or_default()
            .push(PortBinding {
                host_ip: mapping.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                host_port: mapping
                    .host_ports
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            });
    }
    host.publish_all_ports = o.publish_all;
    host.dns = o.dns.iter().map(IpAddr::to_string).collect();
    host.dns_search = o.dns_search.clone();
    host.dns_options = o.dns_options.clone();
    host.extra_hosts = o
        .extra_hosts
        .iter()
        .map(|(name, address)| match address {
            HostAddress::Ip(ip) => format!("{name}:{ip}"),
            HostAddress::HostGateway => format!("{name}:host-gateway"),
        })
        .collect();
}

/// `Config.ExposedPorts`: the image's, the `--expose`d ones, and every
/// published container port (Docker adds those too).
pub fn exposed_ports(o: &CreateOptions, image: &[String]) -> BTreeMap<String, serde_json::Value> {
    let mut ports: BTreeMap<String, serde_json::Value> = image
        .iter()
        .filter_map(|key| ExposedPort::parse(key))
        .chain(o.expose.iter().copied())
        .chain(o.ports.iter().map(|p| ExposedPort {
            port: p.container_port,
            protocol: p.protocol,
        }))
        .map(|p| (p.to_string(), serde_json::json!({})))
        .collect();
    ports.retain(|k, _| !k.is_empty());
    ports
}

/// The ports to publish at start from a record: `PortBindings`, and with
/// `PublishAllPorts` every exposed port without a binding on a random host
/// port (Docker's order: sorted by port).
pub fn ports_to_publish(
    host: &HostConfig,
    exposed: &BTreeMap<String, serde_json::Value>,
) -> Vec<PortMapping> {
    let mut out = Vec::new();
    for (key, bindings) in &host.port_bindings {
        let Some(port) = ExposedPort::parse(key) else {
            continue;
        };
        for binding in bindings {
            out.push(PortMapping {
                host_ip: binding.host_ip.parse().ok(),
                host_ports: parse_range(&binding.host_port),
                container_port: port.port,
                protocol: port.protocol,
            });
        }
    }
    if host.publish_all_ports {
        let mut all: Vec<ExposedPort> = exposed
            .keys()
            .filter_map(|k| ExposedPort::parse(k))
            .collect();
        all.sort_by_key(|p| (p.port, p.protocol.as_str()));
        for port in all {
            if !host.port_bindings.contains_key(&port.to_string()) {
                out.push(PortMapping {
                    host_ip: None,
                    host_ports: None,
                    container_port: port.port,
                    protocol: port.protocol,
                });
            }
        }
    }
    out
}

/// `8080` or `8000-8010` (empty: none).
fn parse_range(text: &str) -> Option<PortRange> {
    let (start, end) = text.split_once('-').unwrap_or((text, text));
    let (start, end) = (start.parse().ok()?, end.parse().ok()?);
    (start <= end).then_some(PortRange { start, end })
}

/// `--add-host` entries of a record: names with a literal address, and the
/// names that want the gateway (`host-gateway`).
pub fn parse_extra_hosts(entries: &[String]) -> (Vec<(String, IpAddr)>, Vec<String>) {
    let mut literal = Vec::new();
    let mut gateway = Vec::new();
    for entry in entries {
        let Some((name, address)) = entry.split_once(':') else {
            continue;
        };
        if address == "host-gateway" {
            gateway.push(name.to_string());
        } else if let Ok(ip) = address.trim_matches(['[', ']']).parse() {
            literal.push((name.to_string(), ip));
        }
    }
    (literal, gateway)
}

/// `02:42:ac:11:00:02`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `--mac-address` (six hex pairs separated by `:` or `-`).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (slot, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *slot = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

/// The host's IPv4 address on the interface of its default route
/// (`127.0.0.1` when there is none).
pub fn default_route_address() -> IpAddr {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let iface = routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 2 && fields[1] == "00000000").then(|| fields[0].to_string())
    });
    iface
        .and_then(|name| interface_ipv4(&name))
        .map(IpAddr::V4)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The first IPv4 address of interface `name` (getifaddrs).
fn interface_ipv4(name: &str) -> Option<Ipv4Addr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut cursor = list;
    while !cursor.is_null() && found.is_none() {
        // SAFETY: cursor walks the list getifaddrs returned, until null.
        let entry = unsafe { &*cursor };
        // SAFETY: ifa_name is a NUL-terminated string of the entry.
        let entry_name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
        let addr = entry.ifa_addr;
        // SAFETY: an AF_INET sockaddr is a sockaddr_in.
        if !addr.is_null()
            && entry_name.to_bytes() == name.as_bytes()
            && unsafe { (*addr).sa_family } as i32 == libc::AF_INET
        {
            let sin = unsafe { &*(addr as *const libc::sockaddr_in) };
            found = Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: the list from getifaddrs, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}
