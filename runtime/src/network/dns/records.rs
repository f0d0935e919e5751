//! Reading the network records the responder answers from, through
//! [`NetworkStore`], read-only and without the root-wide lock (every record
//! file is replaced atomically by its writer, so a reader sees the old or
//! the new one).
//!
//! The change counter is read before the records: a change made while they
//! are read bumps it again, so the next question reloads.

use std::net::{IpAddr, SocketAddr};

use super::names::NameTable;
use crate::network::record::NetworkStore;
use crate::network::NetworkError;

/// What the responder of one container knows from the records.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The names it answers.
    pub table: NameTable,
    /// The container's `--dns` servers (port 53); empty: the host's.
    pub upstream: Vec<SocketAddr>,
}

/// The [`View`] of container `container_id` from the records of `store`:
/// the names of its DNS-enabled networks (those it has an endpoint on) and
/// its endpoints' `--dns` servers. An unreadable record fails the whole
/// load (the caller keeps its previous view and tries again).
pub fn load(store: &NetworkStore, container_id: &str) -> Result<View, NetworkError> {
    let own = store.endpoints_of(container_id)?;
    let mut upstream = Vec::new();
    for server in own.iter().flat_map(|e| &e.dns_servers) {
        let server = SocketAddr::new(*server, 53);
        if usable_upstream(&server.ip()) && !upstream.contains(&server) {
            upstream.push(server);
        }
    }
    let networks = store.networks()?;
    let mut endpoints = Vec::new();
    for network in networks.iter().filter(|n| n.dns) {
        if own.iter().any(|e| e.network_id == network.id) {
            endpoints.extend(store.endpoints(&network.id)?);
        }
    }
    Ok(View {
        table: NameTable::build(container_id, &networks, &endpoints),
        upstream,
    })
}

/// Whether `ip` may be used as a forwarding target: any unicast address
/// (loopback included: forwarding happens from the host's namespace).
pub fn usable_upstream(ip: &IpAddr) -> bool {
    !ip.is_unspecified() && !ip.is_multicast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_reads_the_askers_networks_and_dns_servers() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("networks");
        std::fs::create_dir_all(dir.join("n1/endpoints")).unwrap();
        let network = serde_json::json!({
            "id": "n1", "name": "front", "driver": "bridge", "created": "", "bridge": "",
            "subnets": [], "internal": false, "ipv6": false, "attachable": true,
            "dns": true, "mtu": 1500, "labels": {}, "options": {}
        });
        std::fs::write(dir.join("n1.json"), network.to_string()).unwrap();
        let endpoint = |id: &str, name: &str, ip: &str, dns: &[&str]| {
            serde_json::json!({
                "network_id": "n1", "container_id": id, "container_name": name,
                "endpoint_id": "", "interface": "eth0", "host_veth": "", "mac": "",
                "ipv4": [ip, 24], "ipv6": null, "aliases": [], "ports": [],
                "dns_servers": dns, "holder_pid": 1, "holder_start": 0
            })
        };
        let me = endpoint("me", "me", "10.1.0.2", &["10.0.0.53", "10.0.0.53"]);
        std::fs::write(dir.join("n1/endpoints/me.json"), me.to_string()).unwrap();
        let web = endpoint("web", "web", "10.1.0.3", &[]);
        std::fs::write(dir.join("n1/endpoints/web.json"), web.to_string()).unwrap();
        std::fs::write(dir.join("generation"), "41\n").unwrap();

        let store = NetworkStore::open(root.path()).unwrap();
        let view = load(&store, "me").unwrap();
        assert_eq!(view.upstream, ["10.0.0.53:53".parse().unwrap()]);
        assert_eq!(
            view.table.lookup("web.front").unwrap(),
            ["10.1.0.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(store.generation(), 41);
        assert!(load(&store, "../me").is_err(), "IDs never name paths");
        assert!(load(&store, "stranger").unwrap().table.is_empty());
        std::fs::write(dir.join("n1/endpoints/bad.json"), "{not json").unwrap();
        assert!(load(&store, "me").is_err(), "a corrupt record is reported");
    }
}
