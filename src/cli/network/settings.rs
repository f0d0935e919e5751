//! What `kiln ps` and `kiln inspect` show of a container's networks, from
//! its endpoint records: `ps`'s PORTS (Docker's `DisplayablePorts`: sorted,
//! consecutive ports grouped into ranges, `0.0.0.0:8080->80/tcp,
//! :::8080->80/tcp`) and NETWORKS columns, and `inspect`'s
//! `NetworkSettings` as Docker 20.10 shapes it (the top-level `IPAddress`,
//! `Gateway`, `MacAddress`… come from the default `bridge` network's
//! endpoint only, as in Docker).
//!
//! A port published on every address (`-p 8080:80`) is listed for
//! `0.0.0.0` and, when the endpoint has an IPv6 address (so the port is
//! published for IPv6 too), for `::`, as Docker 20.10 lists a port bound on
//! both. Only running containers show ports, as in Docker.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use kiln_runtime::container::{short_id, Container, Status};
use kiln_runtime::network::record::{EndpointRecord, NetworkRecord, NetworkStore};
use serde_json::{json, Map, Value};

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

    /// The network named `name`.
    fn named(&self, name: &str) -> Option<&NetworkRecord> {
        self.networks.values().find(|n| n.name == name)
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
/// then host address, host port, protocol).
pub fn port_entries(endpoints: &[EndpointRecord]) -> Vec<PortEntry> {
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
                    if e.ipv6.is_some() {
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
        if p.public != p.private {
            mappings.push(format!("{}:{}->{}/{}", p.ip, p.public, p.private, p.proto));
            continue;
        }
        let key = format!("{}/{}", p.ip, p.proto);
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

/// `ip:80-81->80-81/tcp` for a group of same-numbered ports.
fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, proto) = key.rsplit_once('/').unwrap_or(("", key));
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    format!("{ip}:{range}->{range}/{proto}")
}

/// Whether the container's network state is live (Docker shows ports and
/// addresses of running containers only).
fn live(c: &Container) -> bool {
    matches!(c.state.status, Status::Running | Status::Paused)
}

/// `ps`'s `{{.Ports}}` for the container.
pub fn ps_ports(index: &NetworkIndex, c: &Container) -> String {
    if !live(c) {
        return String::new();
    }
    let endpoints: Vec<EndpointRecord> = index.of(&c.record.id).into_iter().map(|p| p.1).collect();
    ports_text(&port_entries(&endpoints))
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
        return mode_network(&c.record.host_config.network_mode);
    }
    names.join(",")
}

/// The network a network mode names (`default` is `bridge`, as Docker).
fn mode_network(mode: &str) -> String {
    match mode {
        "" | "default" => "bridge".into(),
        other => other.into(),
    }
}

/// `inspect`'s `NetworkSettings` for the container.
pub fn network_settings(index: &NetworkIndex, c: &Container) -> Value {
    let attached = if live(c) {
        index.of(&c.record.id)
    } else {
        Vec::new()
    };
    let mut networks = Map::new();
    for (network, endpoint) in &attached {
        networks.insert(network.name.clone(), entry(network, Some(endpoint), c));
    }
    if networks.is_empty() {
        let name = mode_network(&c.record.host_config.network_mode);
        let entry = match index.named(&name) {
            Some(network) => entry(network, None, c),
            None => blank_entry(""),
        };
        networks.insert(name, entry);
    }
    let default = attached.iter().find(|(n, _)| n.name == "bridge");
    let endpoints: Vec<EndpointRecord> = attached.iter().map(|p| p.1.clone()).collect();
    let mut settings = json!({
        "Bridge": "",
        "SandboxID": if live(c) { c.record.id.clone() } else { String::new() },
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports_map(&port_entries(&endpoints)),
        "SandboxKey": if live(c) && c.state.pid != 0 { format!("/proc/{}/ns/net", c.state.pid) } else { String::new() },
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
    });
    let top = match default {
        Some((network, endpoint)) => entry(network, Some(endpoint), c),
        None => blank_entry(""),
    };
    for key in [
        "EndpointID",
        "Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "MacAddress",
    ] {
        settings[key] = top[key].clone();
    }
    settings["Networks"] = Value::Object(networks);
    settings
}

/// `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, …]`.
fn ports_map(ports: &[PortEntry]) -> Value {
    let mut map = Map::new();
    for p in ports {
        let list = map
            .entry(format!("{}/{}", p.private, p.proto))
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(json!({"HostIp": p.ip, "HostPort": p.public.to_string()}));
        }
    }
    Value::Object(map)
}

/// One `Networks` entry (Docker's `EndpointSettings`).
fn entry(network: &NetworkRecord, endpoint: Option<&EndpointRecord>, c: &Container) -> Value {
    let mut value = blank_entry(&network.id);
    let Some(e) = endpoint else {
        return value;
    };
    let gateway = |v6: bool| {
        network
            .subnets
            .iter()
            .map(|s| s.gateway)
            .find(|g| g.is_ipv6() == v6)
            .map(|g| g.to_string())
            .unwrap_or_default()
    };
    if network.dns {
        let mut aliases = vec![short_id(&c.record.id).to_string()];
        aliases.extend(e.aliases.iter().cloned());
        value["Aliases"] = json!(aliases);
    }
    value["EndpointID"] = json!(e.endpoint_id);
    value["MacAddress"] = json!(e.mac);
    if let Some((ip, len)) = e.ipv4 {
        value["IPAddress"] = json!(ip.to_string());
        value["IPPrefixLen"] = json!(len);
        value["Gateway"] = json!(gateway(false));
    }
    if let Some((ip, len)) = e.ipv6 {
        value["GlobalIPv6Address"] = json!(ip.to_string());
        value["GlobalIPv6PrefixLen"] = json!(len);
        value["IPv6Gateway"] = json!(gateway(true));
    }
    value
}

/// An `EndpointSettings` with nothing attached.
fn blank_entry(network_id: &str) -> Value {
    json!({
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": network_id,
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "DriverOpts": null,
    })
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
        let map = ports_map(&ports);
        assert_eq!(map["80/tcp"][1]["HostIp"], "::");
        assert_eq!(map["53/udp"][0]["HostPort"], "5353");
    }
}
