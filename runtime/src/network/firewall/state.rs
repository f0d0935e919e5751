//! Reading the table back: the JSON of `list table inet <table>` (what
//! `nft -j` prints and libnftables gives with `NFT_CTX_OUTPUT_JSON`) parsed
//! into a [`Listing`] — the bridges, per-network objects and published port
//! elements — from which [`TableState`] and the deletions of
//! `remove_network`/`unpublish` are computed. Pure.

use std::net::IpAddr;

use kiln_parser::values::Protocol;
use serde_json::Value;

use super::rules::{network_chains, NetworkObjects};
use super::{PortRule, TableState};

/// What a table listing holds that kiln cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Elements of `@bridges`.
    pub bridges: Vec<String>,
    /// Every chain's name.
    pub chains: Vec<String>,
    /// Keys of `fwd_to`.
    pub fwd_to: Vec<String>,
    /// Keys of `fwd_from`.
    pub fwd_from: Vec<String>,
    /// `(map, subnet, target chain)` of `post4`/`post6`.
    pub post: Vec<(String, String, String)>,
    /// Elements of the `pub*` maps.
    pub ports: Vec<PortRule>,
}

impl Listing {
    /// Parses nft's JSON (one document per listing command, several
    /// concatenated); `Err` names what did not fit.
    pub fn parse(json: &str) -> Result<Listing, String> {
        let mut out = Listing::default();
        let mut docs = 0;
        for doc in serde_json::Deserializer::from_str(json).into_iter::<Value>() {
            let doc = doc.map_err(|e| format!("bad JSON: {e}"))?;
            out.add_doc(&doc)?;
            docs += 1;
        }
        if docs == 0 {
            return Err("bad JSON: no document".into());
        }
        Ok(out)
    }

    fn add_doc(&mut self, doc: &Value) -> Result<(), String> {
        let items = doc
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or("no \"nftables\" array")?;
        for item in items {
            if let Some(chain) = item.get("chain") {
                if let Some(name) = chain.get("name").and_then(Value::as_str) {
                    self.chains.push(name.to_string());
                }
            } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
                self.add_set(set)?;
            }
        }
        Ok(())
    }

    fn add_set(&mut self, set: &Value) -> Result<(), String> {
        let name = set.get("name").and_then(Value::as_str).unwrap_or_default();
        let elems = elements(set);
        match name {
            "bridges" => self.bridges = elems.iter().filter_map(str_of).collect(),
            "fwd_to" | "fwd_from" => {
                let keys = elems.iter().filter_map(|e| str_of(pair(e)?.0)).collect();
                if name == "fwd_to" {
                    self.fwd_to = keys;
                } else {
                    self.fwd_from = keys;
                }
            }
            "post4" | "post6" => {
                for e in &elems {
                    let (key, verdict) = pair(e).ok_or("post element without verdict")?;
                    let net = prefix_text(key).ok_or("post element without prefix")?;
                    let target = verdict
                        .pointer("/jump/target")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    self.post.push((name.to_string(), net, target.to_string()));
                }
            }
            "pub4" | "pub4_ip" | "pub6" | "pub6_ip" => {
                for e in &elems {
                    let port = port_of(e).ok_or_else(|| format!("bad {name} element {e}"))?;
                    self.ports.push(port);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the table holds, for the sweep.
    pub fn state(&self) -> TableState {
        TableState {
            bridges: self.bridges.clone(),
            ports: self.ports.clone(),
        }
    }

    /// What of `bridge`'s network is present.
    pub fn network(&self, bridge: &str) -> NetworkObjects {
        let chains = network_chains(bridge);
        let post_target = &chains[2];
        NetworkObjects {
            in_bridges: self.bridges.iter().any(|b| b == bridge),
            in_fwd_to: self.fwd_to.iter().any(|b| b == bridge),
            in_fwd_from: self.fwd_from.iter().any(|b| b == bridge),
            post: self
                .post
                .iter()
                .filter(|(_, _, t)| t == post_target)
                .map(|(m, n, _)| (m.clone(), n.clone()))
                .collect(),
            chains: chains
                .into_iter()
                .filter(|c| self.chains.contains(c))
                .collect(),
        }
    }
}

/// A set's or map's elements (nft prints one element bare, several as an
/// array, none not at all).
fn elements(set: &Value) -> Vec<Value> {
    match set.get("elem") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    }
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A map element `[key, value]`.
fn pair(e: &Value) -> Option<(&Value, &Value)> {
    let a = e.as_array()?;
    Some((a.first()?, a.get(1)?))
}

/// `{"prefix": {"addr", "len"}}` as `addr/len`; a bare address as `/32|128`.
fn prefix_text(v: &Value) -> Option<String> {
    if let Some(p) = v.get("prefix") {
        let addr = p.get("addr")?.as_str()?;
        return Some(format!("{addr}/{}", p.get("len")?.as_u64()?));
    }
    let ip: IpAddr = v.as_str()?.parse().ok()?;
    Some(format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }))
}

/// A `pub*` element: `[{"concat": [[ip,] proto, port]}, {"concat": [ip, port]}]`.
fn port_of(e: &Value) -> Option<PortRule> {
    let (key, value) = pair(e)?;
    let key = key.get("concat")?.as_array()?;
    let value = value.get("concat")?.as_array()?;
    let (host_ip, rest) = match key.len() {
        3 => (Some(key[0].as_str()?.parse().ok()?), &key[1..]),
        2 => (None, &key[..]),
        _ => return None,
    };
    Some(PortRule {
        host_ip,
        host_port: port_num(&rest[1])?,
        protocol: protocol_of(&rest[0])?,
        container_ip: value.first()?.as_str()?.parse().ok()?,
        container_port: port_num(value.get(1)?)?,
    })
}

fn port_num(v: &Value) -> Option<u16> {
    v.as_u64().and_then(|n| u16::try_from(n).ok())
}

/// `"tcp"` or `6` (nft prints numbers for protocols it cannot name).
fn protocol_of(v: &Value) -> Option<Protocol> {
    match (v.as_str(), v.as_u64()) {
        (Some("tcp"), _) | (_, Some(6)) => Some(Protocol::Tcp),
        (Some("udp"), _) | (_, Some(17)) => Some(Protocol::Udp),
        (Some("sctp"), _) | (_, Some(132)) => Some(Protocol::Sctp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What nft 1.0.6 printed for a table with one network and four ports
    /// (rules left out: the parser skips them).
    const LISTING: &str = r#"{"nftables": [
{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "kiln_t1", "handle": 5}},
{"set": {"family": "inet", "name": "bridges", "table": "kiln_t1", "type": "ifname", "handle": 1, "elem": ["kbx"]}},
{"map": {"family": "inet", "name": "pub4", "table": "kiln_t1", "type": ["inet_proto", "inet_service"], "handle": 2, "map": "ipv4_addr . inet_service", "elem": [[{"concat": ["sctp", 9]}, {"concat": ["10.200.1.2", 9]}], [{"concat": ["tcp", 8080]}, {"concat": ["10.200.1.2", 80]}]]}},
{"map": {"family": "inet", "name": "pub4_ip", "table": "kiln_t1", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 3, "map": "ipv4_addr . inet_service", "elem": [[{"concat": ["127.0.0.1", "udp", 8081]}, {"concat": ["10.200.1.2", 81]}]]}},
{"map": {"family": "inet", "name": "pub6", "table": "kiln_t1", "type": ["inet_proto", "inet_service"], "handle": 4, "map": "ipv6_addr . inet_service", "elem": [[{"concat": ["tcp", 8080]}, {"concat": ["fd00::2", 80]}]]}},
{"map": {"family": "inet", "name": "pub6_ip", "table": "kiln_t1", "type": ["ipv6_addr", "inet_proto", "inet_service"], "handle": 9, "map": "ipv6_addr . inet_service"}},
{"map": {"family": "inet", "name": "fwd_to", "table": "kiln_t1", "type": "ifname", "handle": 5, "map": "verdict", "elem": [["kbx", {"jump": {"target": "n_kbx_to"}}]]}},
{"map": {"family": "inet", "name": "post4", "table": "kiln_t1", "type": "ipv4_addr", "handle": 6, "map": "verdict", "flags": ["interval"], "elem": [[{"prefix": {"addr": "10.200.1.0", "len": 24}}, {"jump": {"target": "n_kbx_post"}}], [{"prefix": {"addr": "10.200.2.0", "len": 24}}, {"jump": {"target": "n_kby_post"}}]]}},
{"chain": {"family": "inet", "table": "kiln_t1", "name": "forward", "handle": 11, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
{"chain": {"family": "inet", "table": "kiln_t1", "name": "n_kbx_to", "handle": 12}},
{"chain": {"family": "inet", "table": "kiln_t1", "name": "n_kbx_post", "handle": 13}},
{"rule": {"family": "inet", "table": "kiln_t1", "chain": "n_kbx_to", "handle": 26, "expr": [{"drop": null}]}}
]}"#;

    fn rule(host_ip: Option<&str>, port: u16, protocol: Protocol, ip: &str, to: u16) -> PortRule {
        PortRule {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: port,
            protocol,
            container_ip: ip.parse().unwrap(),
            container_port: to,
        }
    }

    #[test]
    fn a_listing_gives_bridges_and_ports() {
        let l = Listing::parse(LISTING).unwrap();
        let state = l.state();
        assert_eq!(state.bridges, ["kbx"]);
        assert_eq!(
            state.ports,
            [
                rule(None, 9, Protocol::Sctp, "10.200.1.2", 9),
                rule(None, 8080, Protocol::Tcp, "10.200.1.2", 80),
                rule(Some("127.0.0.1"), 8081, Protocol::Udp, "10.200.1.2", 81),
                rule(None, 8080, Protocol::Tcp, "fd00::2", 80),
            ]
        );
    }

    #[test]
    fn a_listing_tells_what_of_a_network_is_there() {
        let l = Listing::parse(LISTING).unwrap();
        let found = l.network("kbx");
        assert_eq!(
            found,
            NetworkObjects {
                in_bridges: true,
                in_fwd_to: true,
                in_fwd_from: false,
                post: vec![("post4".into(), "10.200.1.0/24".into())],
                chains: vec!["n_kbx_to".into(), "n_kbx_post".into()],
            }
        );
        assert_eq!(l.network("kbz"), NetworkObjects::default());
    }

    #[test]
    fn single_elements_and_numeric_protocols_are_read() {
        let json = r#"{"nftables": [
{"set": {"name": "bridges", "elem": "kb1"}},
{"map": {"name": "pub4", "elem": [[{"concat": [17, 53]}, {"concat": ["10.0.0.2", 53]}]]}},
{"map": {"name": "post4", "elem": [["10.0.0.9", {"jump": {"target": "n_kb1_post"}}]]}}
]}"#;
        let l = Listing::parse(json).unwrap();
        assert_eq!(l.bridges, ["kb1"]);
        assert_eq!(l.ports, [rule(None, 53, Protocol::Udp, "10.0.0.2", 53)]);
        assert_eq!(
            l.network("kb1").post,
            [("post4".into(), "10.0.0.9/32".into())]
        );
    }

    #[test]
    fn several_documents_add_up() {
        let json = r#"{"nftables": [{"set": {"name": "bridges", "elem": ["kb1"]}}]}
{"nftables": [{"map": {"name": "pub4", "elem": [[{"concat": ["tcp", 80]}, {"concat": ["10.0.0.2", 8]}]]}}]}"#;
        let l = Listing::parse(json).unwrap();
        assert_eq!(l.bridges, ["kb1"]);
        assert_eq!(l.ports, [rule(None, 80, Protocol::Tcp, "10.0.0.2", 8)]);
    }

    #[test]
    fn bad_listings_are_errors_not_panics() {
        assert!(Listing::parse("").unwrap_err().contains("no document"));
        assert!(Listing::parse("{").unwrap_err().contains("bad JSON"));
        assert!(Listing::parse("{}").unwrap_err().contains("nftables"));
        let bad_port = r#"{"nftables": [{"map": {"name": "pub4", "elem": [[{"concat": ["tcp", 70000]}, {"concat": ["10.0.0.2", 1]}]]}}]}"#;
        assert!(Listing::parse(bad_port)
            .unwrap_err()
            .contains("bad pub4 element"));
        let bad_post = r#"{"nftables": [{"map": {"name": "post4", "elem": [["x"]]}}]}"#;
        assert!(Listing::parse(bad_post).is_err());
    }
}
