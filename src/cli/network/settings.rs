//! What `kiln ps` and `kiln port` show of a container's networks, from its
//! endpoint records: `ps`'s PORTS (Docker's `DisplayablePorts`: sorted,
//! consecutive ports grouped into ranges, `0.0.0.0:8080->80/tcp,
//! :::8080->80/tcp`, exposed but unpublished ports as `80/tcp`) and
//! NETWORKS columns, and `port`'s lines. (`inspect`'s `NetworkSettings` is
//! `crate::cli::container::inspect_network`.)
//!
//! A port published on every address (`-p 8080:80`) is listed for
//! `0.0.0.0` and also for `::` when it is really published on IPv6 too: the
//! host has IPv6 ([`ports::ipv6_available`]) and the endpoint has an IPv6
//! address (kiln forwards by NAT, which cannot turn IPv6 into IPv4; Docker's
//! userland proxy listed `::` for every port). Only running containers show
//! ports, as in Docker.
//!
//! [`ports::ipv6_available`]: kiln_runtime::network::ports::ipv6_available

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use kiln_runtime::container::{Container, Status};
use kiln_runtime::lifecycle::network::network_name;
use kiln_runtime::network::ports::ipv6_available;
use kiln_runtime::network::record::{EndpointRecord, NetworkRecord, NetworkStore};

/// The root's networks, read once for a listing of many containers.
#[derive(Debug, Default)]
pub struct NetworkIndex {
    store: Option<NetworkStore>,
    networks: BTreeMap<String, NetworkRecord>,
}

impl NetworkIndex {
    /// Reads the networks of `root`; a root that never had a network (or
    /// unreadable records) gives an empty index: listings never fail on it.
    pub fn load(root: &Path) -> NetworkIndex {
        if !root.join("networks").is_dir() {
            return NetworkIndex::default();
        }
        let Ok(store) = NetworkStore::open(root) else {
            return NetworkIndex::default();
        };
        let networks = store
            .networks()
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        NetworkIndex {
            store: Some(store),
            networks,
        }
    }

    /// The container's endpoints with their networks, sorted by network name.
    pub fn of(&self, container_id: &str) -> Vec<(NetworkRecord, EndpointRecord)> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let mut out: Vec<_> = store
            .endpoints_of(container_id)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| Some((self.networks.get(&e.network_id)?.clone(), e)))
            .collect();
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }
}

/// One published port as Docker's API lists it (`types.Port`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortEntry {
    /// The container port.
    pub private: u16,
    /// The host address (`0.0.0.0`, `::` or the given one).
    pub ip: String,
    /// The host port.
    pub public: u16,
    /// `tcp`, `udp`, `sctp`.
    pub proto: String,
}

/// The published ports of endpoints, in Docker's order (container port,
/// then host address, host port, protocol); `host_ipv6`: the host has IPv6,
/// so ports published on every address of an endpoint with an IPv6 address
/// are published on `::` too.
pub fn port_entries(endpoints: &[EndpointRecord], host_ipv6: bool) -> Vec<PortEntry> {
    let mut out = Vec::new();
    for e in endpoints {
        for p in &e.ports {
            let entry = |ip: String| PortEntry {
                private: p.container_port,
                ip,
                public: p.host_port,
                proto: p.protocol.as_str().to_string(),
            };
            match p.host_ip {
                Some(ip) => out.push(entry(ip.to_string())),
                None => {
                    out.push(entry("0.0.0.0".into()));
                    if host_ipv6 && e.ipv6.is_some() {
                        out.push(entry("::".into()));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Docker's PORTS column text (`DisplayablePorts` of docker/cli 20.10).
pub fn ports_text(ports: &[PortEntry]) -> String {
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut done = Vec::new();
    let mut mappings = Vec::new();
    for p in ports {
        if p.public != p.private && !p.ip.is_empty() {
            mappings.push(format!("{}:{}->{}/{}", p.ip, p.public, p.private, p.proto));
            continue;
        }
        let key = match p.ip.as_str() {
            "" => p.proto.clone(),
            ip => format!("{ip}/{}", p.proto),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, p.private, p.private)),
            Some(group) if group.2.checked_add(1) == Some(p.private) => group.2 = p.private,
            Some(group) => {
                done.push(form_group(&group.0, group.1, group.2));
                *group = (key, p.private, p.private);
            }
        }
    }
    done.extend(groups.iter().map(|g| form_group(&g.0, g.1, g.2)));
    done.extend(mappings);
    done.join(", ")
}

/// `ip:80-81->80-81/tcp` for a group of same-numbered ports (`80-81/tcp`
/// for exposed ports, which have no host address).
fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, proto) = key.rsplit_once('/').unwrap_or(("", key));
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    match ip {
        "" => format!("{range}/{proto}"),
        ip => format!("{ip}:{range}->{range}/{proto}"),
    }
}

/// Whether the container's network state is live (Docker shows ports and
/// addresses of running containers only).
fn live(c: &Container) -> bool {
    matches!(c.state.status, Status::Running | Status::Paused)
}

/// `ps`'s `{{.Ports}}` for the container: published ports, and exposed
/// ones that are not published (as `80/tcp`).
pub fn ps_ports(index: &NetworkIndex, c: &Container) -> String {
    if !live(c) {
        return String::new();
    }
    let endpoints: Vec<EndpointRecord> = index.of(&c.record.id).into_iter().map(|p| p.1).collect();
    let mut ports = port_entries(&endpoints, ipv6_available());
    for key in c.record.config.exposed_ports.keys() {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if !ports.iter().any(|p| p.private == port && p.proto == proto) {
            ports.push(PortEntry {
                private: port,
                ip: String::new(),
                public: 0,
                proto: proto.to_string(),
            });
        }
    }
    ports.sort();
    ports_text(&ports)
}

/// `ps`'s `{{.Networks}}`: the names of the container's networks, sorted,
/// comma-joined; the network mode when it has no endpoint.
pub fn ps_networks(index: &NetworkIndex, c: &Container) -> String {
    let names: Vec<String> = index
        .of(&c.record.id)
        .into_iter()
        .map(|(n, _)| n.name)
        .collect();
    if names.is_empty() {
        return network_name(&c.record.host_config.network_mode).to_string();
    }
    names.join(",")
}

/// `kiln port`'s lines for the ports matching `wanted` (`None`: every
/// port, as `80/tcp -> 0.0.0.0:8080`; `Some`: just `0.0.0.0:8080`), IPv6
/// host addresses in brackets.
pub fn port_lines(ports: &[PortEntry], wanted: Option<(u16, &str)>) -> Vec<String> {
    ports
        .iter()
        .filter(|p| wanted.is_none_or(|(port, proto)| p.private == port && p.proto == proto))
        .map(|p| {
            let host = match p.ip.parse::<IpAddr>() {
                Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", p.public),
                _ => format!("{}:{}", p.ip, p.public),
            };
            match wanted {
                Some(_) => host,
                None => format!("{}/{} -> {host}", p.private, p.proto),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(private: u16, ip: &str, public: u16, proto: &str) -> PortEntry {
        PortEntry {
            private,
            ip: ip.into(),
            public,
            proto: proto.into(),
        }
    }

    #[test]
    fn ports_column_is_dockers() {
        let mut ports = vec![
            port(80, "::", 8080, "tcp"),
            port(80, "0.0.0.0", 8080, "tcp"),
        ];
        ports.sort();
        assert_eq!(ports_text(&ports), "0.0.0.0:8080->80/tcp, :::8080->80/tcp");
        let mut ports = vec![
            port(8000, "0.0.0.0", 8000, "tcp"),
            port(8001, "0.0.0.0", 8001, "tcp"),
            port(8002, "0.0.0.0", 8002, "tcp"),
            port(8005, "0.0.0.0", 8005, "tcp"),
            port(53, "127.0.0.1", 5353, "udp"),
        ];
        ports.sort();
        assert_eq!(
            ports_text(&ports),
            "0.0.0.0:8000-8002->8000-8002/tcp, 0.0.0.0:8005->8005/tcp, 127.0.0.1:5353->53/udp"
        );
        assert_eq!(ports_text(&[]), "");
        let exposed = [
            port(80, "", 0, "tcp"),
            port(81, "", 0, "tcp"),
            port(82, "0.0.0.0", 9000, "tcp"),
        ];
        assert_eq!(ports_text(&exposed), "80-81/tcp, 0.0.0.0:9000->82/tcp");
    }

    #[test]
    fn ports_on_every_address_list_ipv6_only_when_forwarded_there() {
        use kiln_parser::values::Protocol;
        use kiln_runtime::network::record::PublishedPort;
        let endpoint = |ipv6: Option<(IpAddr, u8)>| EndpointRecord {
            network_id: String::new(),
            container_id: String::new(),
            container_name: String::new(),
            endpoint_id: String::new(),
            interface: "eth0".into(),
            host_veth: String::new(),
            mac: String::new(),
            ipv4: Some(("10.200.1.2".parse().unwrap(), 24)),
            ipv6,
            aliases: vec![],
            ports: vec![PublishedPort {
                host_ip: None,
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
            }],
            dns_servers: vec![],
            holder_pid: 0,
            holder_start: 0,
        };
        let v4 = [endpoint(None)];
        assert_eq!(port_entries(&v4, true), [port(80, "0.0.0.0", 8080, "tcp")]);
        let v6 = [endpoint(Some(("fd00::2".parse().unwrap(), 64)))];
        assert_eq!(
            port_entries(&v6, true),
            [
                port(80, "0.0.0.0", 8080, "tcp"),
                port(80, "::", 8080, "tcp")
            ]
        );
        assert_eq!(port_entries(&v6, false).len(), 1);
    }

    #[test]
    fn port_lines_are_dockers() {
        let ports = vec![
            port(80, "0.0.0.0", 8080, "tcp"),
            port(80, "::", 8080, "tcp"),
            port(53, "127.0.0.1", 5353, "udp"),
        ];
        assert_eq!(
            port_lines(&ports, None),
            [
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
                "53/udp -> 127.0.0.1:5353"
            ]
        );
        assert_eq!(
            port_lines(&ports, Some((80, "tcp"))),
            ["0.0.0.0:8080", "[::]:8080"]
        );
        assert!(port_lines(&ports, Some((80, "udp"))).is_empty());
    }
}
