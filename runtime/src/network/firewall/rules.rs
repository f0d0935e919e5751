//! The nft command texts kiln runs, as pure functions (golden-tested below).
//!
//! The table of a kiln root (`inet kiln_<tag>`):
//! - `guard` (filter, prerouting, priority raw): `iifname != "lo" ip daddr
//!   127.0.0.0/8 drop` — `route_localnet=1` on the bridges (needed for
//!   127.0.0.1 publishing) would otherwise let containers reach services the
//!   host binds to loopback only (CVE-2020-8558 class, reproduced in the
//!   research). It runs before NAT so localhost-published replies, which get
//!   their 127.0.0.1 back only in NAT, are not dropped.
//! - `prerouting` (nat, dstnat): `ip daddr 127.0.0.0/8 return` (moby#41872),
//!   then DNAT of local destinations through the maps `pub4_ip`
//!   (host ip . proto . port) before `pub4` (proto . port), and the IPv6 twins.
//! - `output` (nat, -100: nft 1.0.6 rejects `dstnat` there): the same DNAT for
//!   connections the host itself makes, so `127.0.0.1:PORT` and `localhost`
//!   work without a proxy; `ip6 daddr ::1 return` first, because `::1` cannot
//!   be NATed out of `lo` (the client then gets ECONNREFUSED and falls back to
//!   127.0.0.1, as with Docker when it has no IPv6 proxy).
//! - `postrouting` (nat, srcnat): `oifname @bridges fib saddr type local
//!   masquerade` (host and localhost clients reach containers with the
//!   gateway as source), then `ip saddr vmap @post4` / `ip6 saddr vmap
//!   @post6` to each network's `n_<bridge>_post` chain: hairpin
//!   (`oifname <br> ct status dnat masquerade`) and, unless internal,
//!   outbound masquerade (`oifname != <br> masquerade`, Docker's
//!   `-s <subnet> ! -o <br> -j MASQUERADE`). Postrouting has no input
//!   interface, so dispatch is by source subnet.
//! - `forward` (filter): `ct state established,related accept`, then
//!   `oifname vmap @fwd_to` and `iifname vmap @fwd_from` to the network's
//!   chains. `n_<br>_to` (towards its containers): `iifname <br> accept`
//!   (same bridge), `ct status dnat accept` (published ports, from anywhere,
//!   other networks included — Docker reaches them through its userland
//!   proxy), `drop` (isolation from other bridges and no direct routing to
//!   container addresses from outside, as Docker 28). Internal networks have
//!   no dnat accept: Docker ignores `-p` there. `n_<br>_from` (from its
//!   containers to non-kiln interfaces): `accept`, or `drop` when internal.
//!
//! Adding or removing a network is one transaction: its three chains plus
//! one element in `bridges`, `fwd_to`, `fwd_from` and `post4`/`post6` per
//! subnet. nft 1.0.6 quirk: elements of an interval map cannot be added in
//! the transaction that creates the map (ENOENT), so the table is made by
//! [`open`] and networks come later.

use std::fmt::Write;
use std::net::IpAddr;

use super::{NetworkRules, PortRule};

/// The maps and sets of the table and their nft declarations.
const DECLARATIONS: [(&str, &str, &str); 10] = [
    ("set", "bridges", "type ifname;"),
    (
        "map",
        "pub4",
        "type inet_proto . inet_service : ipv4_addr . inet_service;",
    ),
    (
        "map",
        "pub4_ip",
        "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;",
    ),
    (
        "map",
        "pub6",
        "type inet_proto . inet_service : ipv6_addr . inet_service;",
    ),
    (
        "map",
        "pub6_ip",
        "type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;",
    ),
    ("map", "fwd_to", "type ifname : verdict;"),
    ("map", "fwd_from", "type ifname : verdict;"),
    ("map", "post4", "type ipv4_addr : verdict; flags interval;"),
    ("map", "post6", "type ipv6_addr : verdict; flags interval;"),
    ("set", LAYOUT_MARKER, "type ifname;"),
];

/// The base chains: name and hook declaration.
const BASE_CHAINS: [(&str, &str); 5] = [
    (
        "guard",
        "type filter hook prerouting priority raw; policy accept;",
    ),
    (
        "prerouting",
        "type nat hook prerouting priority dstnat; policy accept;",
    ),
    (
        "output",
        "type nat hook output priority -100; policy accept;",
    ),
    (
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept;",
    ),
    (
        "forward",
        "type filter hook forward priority filter; policy accept;",
    ),
];

/// DNAT of local destinations through the published-port maps.
const DNAT: [&str; 4] = [
    "fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip",
    "fib daddr type local dnat ip to meta l4proto . th dport map @pub4",
    "fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip",
    "fib daddr type local dnat ip6 to meta l4proto . th dport map @pub6",
];

/// The base rules, chain by chain.
fn base_rules() -> Vec<(&'static str, &'static str)> {
    let mut rules = vec![
        ("guard", "iifname != \"lo\" ip daddr 127.0.0.0/8 drop"),
        ("prerouting", "ip daddr 127.0.0.0/8 return"),
    ];
    rules.extend(DNAT.iter().map(|r| ("prerouting", *r)));
    rules.push(("output", "ip6 daddr ::1 return"));
    rules.extend(DNAT.iter().map(|r| ("output", *r)));
    rules.extend([
        (
            "postrouting",
            "oifname @bridges fib saddr type local masquerade",
        ),
        ("postrouting", "ip saddr vmap @post4"),
        ("postrouting", "ip6 saddr vmap @post6"),
        ("forward", "ct state established,related accept"),
        ("forward", "oifname vmap @fwd_to"),
        ("forward", "iifname vmap @fwd_from"),
    ]);
    rules
}

/// Creates the table, its maps and base chains when missing, and rewrites
/// the base chains' rules (one transaction: atomic, idempotent, and the
/// rules match this kiln's layout). Elements are kept. Run only when
/// [`probe`] fails: replacing rules costs milliseconds, the probe 0.05.
pub fn open(table: &str) -> String {
    let mut s = format!("add table inet {table}\n");
    for (kind, name, decl) in DECLARATIONS {
        let _ = writeln!(s, "add {kind} inet {table} {name} {{ {decl} }}");
    }
    for (name, decl) in BASE_CHAINS {
        let _ = writeln!(s, "add chain inet {table} {name} {{ {decl} }}");
        let _ = writeln!(s, "flush chain inet {table} {name}");
    }
    for (chain, rule) in base_rules() {
        let _ = writeln!(s, "add rule inet {table} {chain} {rule}");
    }
    s
}

/// The names of a network's chains: (to, from, post).
pub fn network_chains(bridge: &str) -> [String; 3] {
    [
        format!("n_{bridge}_to"),
        format!("n_{bridge}_from"),
        format!("n_{bridge}_post"),
    ]
}

/// Adds a network's chains and dispatch elements (one transaction). The
/// chains are flushed first so a repeat is harmless.
pub fn add_network(table: &str, network: &NetworkRules) -> String {
    let br = &network.bridge;
    let [to, from, post] = network_chains(br);
    let mut s = String::new();
    for chain in [&to, &from, &post] {
        let _ = writeln!(s, "add chain inet {table} {chain}");
        let _ = writeln!(s, "flush chain inet {table} {chain}");
    }
    let mut rules = vec![(&to, format!("iifname \"{br}\" accept"))];
    if !network.internal {
        rules.push((&to, "ct status dnat accept".to_string()));
    }
    rules.push((&to, "drop".to_string()));
    let out = if network.internal { "drop" } else { "accept" };
    rules.push((&from, out.to_string()));
    rules.push((&post, format!("oifname \"{br}\" ct status dnat masquerade")));
    if !network.internal {
        rules.push((&post, format!("oifname != \"{br}\" masquerade")));
    }
    for (chain, rule) in rules {
        let _ = writeln!(s, "add rule inet {table} {chain} {rule}");
    }
    let _ = writeln!(s, "add element inet {table} bridges {{ \"{br}\" }}");
    let _ = writeln!(
        s,
        "add element inet {table} fwd_to {{ \"{br}\" : jump {to} }}"
    );
    let _ = writeln!(
        s,
        "add element inet {table} fwd_from {{ \"{br}\" : jump {from} }}"
    );
    for (addr, len) in &network.subnets {
        let map = post_map(addr);
        let net = subnet_text(*addr, *len);
        let _ = writeln!(
            s,
            "add element inet {table} {map} {{ {net} : jump {post} }}"
        );
    }
    s
}

/// What of a network the table holds, as found by a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkObjects {
    /// In `@bridges`.
    pub in_bridges: bool,
    /// A key of `fwd_to`.
    pub in_fwd_to: bool,
    /// A key of `fwd_from`.
    pub in_fwd_from: bool,
    /// `(map, subnet text)` of the `post4`/`post6` elements jumping to it.
    pub post: Vec<(String, String)>,
    /// Its chains that exist.
    pub chains: Vec<String>,
}

/// Deletes what a listing found of a network (one transaction: elements
/// first, since a chain a map still jumps to cannot be deleted). Empty when
/// nothing is there.
pub fn remove_network(table: &str, bridge: &str, found: &NetworkObjects) -> String {
    let mut s = String::new();
    let flags = [
        (found.in_bridges, "bridges"),
        (found.in_fwd_to, "fwd_to"),
        (found.in_fwd_from, "fwd_from"),
    ];
    for (present, set) in flags {
        if present {
            let _ = writeln!(s, "delete element inet {table} {set} {{ \"{bridge}\" }}");
        }
    }
    for (map, net) in &found.post {
        let _ = writeln!(s, "delete element inet {table} {map} {{ {net} }}");
    }
    for chain in &found.chains {
        let _ = writeln!(s, "delete chain inet {table} {chain}");
    }
    s
}

/// The map a port element belongs in, by host IP and container family.
/// `None`: host IP and container address of different families.
pub fn port_map(port: &PortRule) -> Option<&'static str> {
    match (port.host_ip, port.container_ip) {
        (None, IpAddr::V4(_)) => Some("pub4"),
        (None, IpAddr::V6(_)) => Some("pub6"),
        (Some(IpAddr::V4(_)), IpAddr::V4(_)) => Some("pub4_ip"),
        (Some(IpAddr::V6(_)), IpAddr::V6(_)) => Some("pub6_ip"),
        _ => None,
    }
}

/// A port element's key: `[host ip . ]proto . port`.
pub fn port_key(port: &PortRule) -> String {
    let base = format!("{} . {}", port.protocol.as_str(), port.host_port);
    match port.host_ip {
        Some(ip) => format!("{ip} . {base}"),
        None => base,
    }
}

/// A port element: `key : container ip . port`.
pub fn port_element(port: &PortRule) -> String {
    format!(
        "{} : {} . {}",
        port_key(port),
        port.container_ip,
        port.container_port
    )
}

/// `create element` (fails with EEXIST on a present key) for each port,
/// one transaction. Ports must have passed [`port_map`].
pub fn publish(table: &str, ports: &[PortRule]) -> String {
    let mut s = String::new();
    for port in ports {
        let map = port_map(port).unwrap_or("pub4");
        let elem = port_element(port);
        let _ = writeln!(s, "create element inet {table} {map} {{ {elem} }}");
    }
    s
}

/// `delete element` for each port, one transaction.
pub fn unpublish(table: &str, ports: &[PortRule]) -> String {
    let mut s = String::new();
    for port in ports {
        let map = port_map(port).unwrap_or("pub4");
        let key = port_key(port);
        let _ = writeln!(s, "delete element inet {table} {map} {{ {key} }}");
    }
    s
}

/// `list table inet <table>` (read as JSON).
pub fn list(table: &str) -> String {
    format!("list table inet {table}\n")
}

/// `list map` of each map these ports belong in, once (read as JSON): much
/// cheaper than listing the table with its rules.
pub fn list_port_maps(table: &str, ports: &[PortRule]) -> String {
    let mut maps: Vec<&str> = ports.iter().filter_map(port_map).collect();
    maps.sort();
    maps.dedup();
    maps.iter()
        .map(|m| format!("list map inet {table} {m}\n"))
        .collect()
}

/// The set whose presence says the table was made, base rules included,
/// by this layout of [`open`]; bump it when the base layout changes.
pub const LAYOUT_MARKER: &str = "layout_1";

/// The cheap probe of [`LAYOUT_MARKER`] (fails when the table is missing
/// or older).
pub fn probe(table: &str) -> String {
    format!("list set inet {table} {LAYOUT_MARKER}\n")
}

/// `delete table inet <table>`.
pub fn delete_table(table: &str) -> String {
    format!("delete table inet {table}\n")
}

/// `post4` or `post6`, by family.
fn post_map(addr: &IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "post4"
    } else {
        "post6"
    }
}

/// `addr/len` with the host bits cleared (nft refuses host bits in an
/// interval element).
pub fn subnet_text(addr: IpAddr, len: u8) -> String {
    match addr {
        IpAddr::V4(a) => {
            let len = len.min(32);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            format!("{}/{len}", std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let len = len.min(128);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            format!("{}/{len}", std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
