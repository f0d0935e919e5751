//! `NetworkSettings` of `kiln inspect`, shaped like Docker's: the published
//! `Ports`, and per network the endpoint (`NetworkID`, `EndpointID`,
//! `Gateway`, `IPAddress`, `IPPrefixLen`, `MacAddress`, `Aliases`, …), from
//! the network records while the container runs. The top-level address
//! fields are filled for the default `bridge` network only, as Docker does.

use std::path::Path;

use kiln_runtime::container::{Container, ContainerStore, Status};
use kiln_runtime::lifecycle::network::{is_bridge_mode, network_name};
use kiln_runtime::network::record::{EndpointRecord, NetworkRecord, NetworkStore};
use serde_json::{json, Map, Value};

/// The `NetworkSettings` document of container `c`.
pub fn network_settings(root: &Path, store: &ContainerStore, c: &Container) -> Value {
    let mode = c.record.host_config.network_mode.as_str();
    let running = matches!(c.state.status, Status::Running | Status::Paused);
    let live = if running && is_bridge_mode(mode) {
        endpoints(root, &c.record.id)
    } else {
        Vec::new()
    };
    let mut networks = Map::new();
    for (network, endpoint) in &live {
        networks.insert(
            network.name.clone(),
            endpoint_json(c, network, Some(endpoint)),
        );
    }
    if live.is_empty() && !mode.starts_with("container:") {
        let name = network_name(mode).to_string();
        let empty = NetworkRecord {
            id: String::new(),
            name: name.clone(),
            driver: String::new(),
            created: String::new(),
            bridge: String::new(),
            subnets: Vec::new(),
            internal: false,
            ipv6: false,
            attachable: false,
            dns: false,
            mtu: 0,
            labels: Default::default(),
            options: Default::default(),
        };
        networks.insert(name, endpoint_json(c, &empty, None));
    }
    let mut doc = json!({
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports(c, &live),
        "SandboxKey": if running && mode != "host" { store.dir(&c.record.id).join("netns").display().to_string() } else { String::new() },
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": networks,
    });
    if let Some(Value::Object(bridge)) = doc["Networks"].get("bridge").cloned() {
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
            if let Some(value) = bridge.get(key) {
                doc[key] = value.clone();
            }
        }
    }
    doc
}

/// The container's live endpoints with their networks (none when the
/// records cannot be read: inspect still shows the rest).
fn endpoints(root: &Path, id: &str) -> Vec<(NetworkRecord, EndpointRecord)> {
    let Ok(store) = NetworkStore::open(root) else {
        return Vec::new();
    };
    let networks = store.networks().unwrap_or_default();
    let mut out: Vec<_> = store
        .endpoints_of(id)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            let network = networks.iter().find(|n| n.id == e.network_id)?;
            Some((network.clone(), e))
        })
        .collect();
    out.sort_by(|a, b| a.1.interface.cmp(&b.1.interface));
    out
}

/// One entry of `Networks`.
fn endpoint_json(c: &Container, network: &NetworkRecord, e: Option<&EndpointRecord>) -> Value {
    let asked = c.record.endpoints_config.get(&network.name);
    let gateway = |v6: bool| {
        network
            .subnets
            .iter()
            .find(|s| s.gateway.is_ipv6() == v6)
            .filter(|_| e.is_some())
            .map(|s| s.gateway.to_string())
            .unwrap_or_default()
    };
    let address = |pair: Option<(std::net::IpAddr, u8)>| {
        pair.map(|(ip, len)| (ip.to_string(), len))
            .unwrap_or_default()
    };
    let (ip4, len4) = address(e.and_then(|e| e.ipv4));
    let (ip6, len6) = address(e.and_then(|e| e.ipv6));
    let ipam = asked
        .filter(|a| a.ipv4_address.is_some() || a.ipv6_address.is_some())
        .map(|a| {
            json!({
                "IPv4Address": a.ipv4_address.map(|i| i.to_string()).unwrap_or_default(),
                "IPv6Address": a.ipv6_address.map(|i| i.to_string()).unwrap_or_default(),
            })
        });
    let mut aliases: Vec<String> = asked.map(|a| a.aliases.clone()).unwrap_or_default();
    if network.dns && e.is_some() {
        aliases.push(c.record.id[..12].to_string());
    }
    json!({
        "IPAMConfig": ipam,
        "Links": null,
        "Aliases": if aliases.is_empty() { Value::Null } else { json!(aliases) },
        "NetworkID": network.id,
        "EndpointID": e.map(|e| e.endpoint_id.clone()).unwrap_or_default(),
        "Gateway": gateway(false),
        "IPAddress": ip4,
        "IPPrefixLen": len4,
        "IPv6Gateway": gateway(true),
        "GlobalIPv6Address": ip6,
        "GlobalIPv6PrefixLen": len6,
        "MacAddress": e.map(|e| e.mac.clone()).unwrap_or_default(),
        "DriverOpts": null,
    })
}

/// `Ports`: every exposed port, with its host bindings while published
/// (`null` when not published), as Docker shows a running container's;
/// empty when it is not running.
fn ports(c: &Container, live: &[(NetworkRecord, EndpointRecord)]) -> Value {
    let mut out = Map::new();
    if live.is_empty() {
        return Value::Object(out);
    }
    for key in c.record.config.exposed_ports.keys() {
        out.insert(key.clone(), Value::Null);
    }
    for (_, endpoint) in live {
        for p in &endpoint.ports {
            let key = format!("{}/{}", p.container_port, p.protocol.as_str());
            let ips = match p.host_ip {
                Some(ip) => vec![ip.to_string()],
                None => vec!["0.0.0.0".to_string(), "::".to_string()],
            };
            let slot = out.entry(key).or_insert(Value::Null);
            if slot.is_null() {
                *slot = json!([]);
            }
            for ip in ips {
                if let Value::Array(list) = slot {
                    list.push(json!({"HostIp": ip, "HostPort": p.host_port.to_string()}));
                }
            }
        }
    }
    Value::Object(out)
}
