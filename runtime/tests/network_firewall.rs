//! The firewall on the real kernel: the root's nft table made, networks
//! added and removed, ports published, refused when present (EEXIST) and
//! unpublished, `state()` read back — through libnftables and through the
//! `nft` program — then published ports and the per-network rules carrying
//! real traffic between network namespaces the test makes with `ip`, and
//! the iptables shim's tagged rules.
//!
//! Every test has its own table `kiln_t<hex>`, deleted by a guard even when
//! the test fails; its own bridge, veth and netns names; and a subnet in
//! 10.200.0.0/16 checked free against the routing table.

mod fw_support;

use std::net::{IpAddr, Ipv4Addr};

use fw_support::{unique_hex, Lab, Table};
use kiln_parser::values::Protocol;
use kiln_runtime::network::firewall::{
    forward_shim_comments, remove_forward_shim, shim, Firewall, FirewallError, NetworkRules,
    NftBackend, PortRule, TableState,
};

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn port(host_ip: Option<&str>, host_port: u16, proto: Protocol, ip: &str, to: u16) -> PortRule {
    PortRule {
        host_ip: host_ip.map(v4),
        host_port,
        protocol: proto,
        container_ip: v4(ip),
        container_port: to,
    }
}

fn network(bridge: &str, subnet: &str, internal: bool) -> NetworkRules {
    NetworkRules {
        bridge: bridge.to_string(),
        subnets: vec![(v4(subnet), 24)],
        internal,
    }
}

/// The table's chains, as `nft list table` names them.
fn chains(table: &str) -> Vec<String> {
    let out = fw_support::cmd("nft", &["list", "table", "inet", table]);
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("chain "))
        .map(|l| l.trim_end_matches(" {").to_string())
        .collect()
}

fn table_lifecycle(backend: NftBackend) {
    let t = Table::new(backend);
    let fw = &t.fw;
    assert_eq!(
        fw.state().unwrap(),
        TableState::default(),
        "a new table is empty"
    );
    // Opening again keeps what is there.
    let net = network("kbt0a", "10.200.7.0", false);
    fw.add_network(&net).unwrap();
    let again = Firewall::open_using(fw.table(), backend).unwrap();
    assert_eq!(again.state().unwrap().bridges, vec!["kbt0a".to_string()]);

    // Adding twice is harmless: one copy of each chain and element.
    fw.add_network(&net).unwrap();
    fw.add_network(&network("kbt0b", "10.200.8.0", true))
        .unwrap();
    let mut bridges = fw.state().unwrap().bridges;
    bridges.sort();
    assert_eq!(bridges, ["kbt0a", "kbt0b"]);
    let c = chains(fw.table());
    assert_eq!(
        c.iter().filter(|c| c.starts_with("n_kbt0a_")).count(),
        3,
        "{c:?}"
    );

    fw.remove_network("kbt0a").unwrap();
    fw.remove_network("kbt0a").unwrap();
    assert_eq!(fw.state().unwrap().bridges, ["kbt0b"]);
    assert!(!chains(fw.table()).iter().any(|c| c.starts_with("n_kbt0a_")));
    fw.remove_network("kbt0b").unwrap();
    assert_eq!(fw.state().unwrap(), TableState::default());
    assert_eq!(
        chains(fw.table()),
        ["guard", "prerouting", "output", "postrouting", "forward"],
        "only the base chains remain"
    );
}

#[test]
fn table_and_networks_through_libnftables() {
    table_lifecycle(NftBackend::Library);
}

#[test]
fn table_and_networks_through_the_nft_program() {
    table_lifecycle(NftBackend::Program);
}

#[test]
fn a_network_added_again_with_another_subnet_is_replaced() {
    let t = Table::new(NftBackend::Auto);
    t.fw.add_network(&network("kbt1a", "10.200.9.0", false))
        .unwrap();
    t.fw.add_network(&network("kbt1a", "10.200.10.0", false))
        .unwrap();
    let listing = fw_support::cmd("nft", &["list", "map", "inet", t.fw.table(), "post4"]);
    assert!(listing.contains("10.200.10.0/24"), "{listing}");
    assert!(!listing.contains("10.200.9.0/24"), "{listing}");
}

fn ports_lifecycle(backend: NftBackend) {
    let t = Table::new(backend);
    let fw = &t.fw;
    let web = port(None, 18080, Protocol::Tcp, "10.200.11.2", 80);
    let dns = port(None, 18053, Protocol::Udp, "10.200.11.2", 53);
    let local = port(Some("127.0.0.1"), 18081, Protocol::Tcp, "10.200.11.3", 81);
    let sctp = port(None, 18082, Protocol::Sctp, "10.200.11.3", 82);
    let six = PortRule {
        host_ip: Some("::1".parse().unwrap()),
        host_port: 18083,
        protocol: Protocol::Tcp,
        container_ip: "fd00:200::3".parse().unwrap(),
        container_port: 83,
    };
    fw.publish(&[web, dns, local, sctp, six]).unwrap();
    let mut got = fw.state().unwrap().ports;
    got.sort_by_key(|p| p.host_port);
    assert_eq!(
        got,
        vec![dns, web, local, sctp, six],
        "state() reads back what was published"
    );

    // The same key again, to another container: refused, naming the port.
    let stale = port(None, 18080, Protocol::Tcp, "10.200.11.9", 80);
    let err = fw.publish(&[stale]).unwrap_err();
    assert!(
        matches!(err, FirewallError::AlreadyPublished { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("18080/tcp"), "{err}");
    // A port given twice in one call is refused too, and nothing of it stays.
    let twice = port(None, 18090, Protocol::Tcp, "10.200.11.4", 90);
    let err = fw.publish(&[twice, twice]).unwrap_err();
    assert!(err.to_string().contains("18090/tcp"), "{err}");
    assert_eq!(
        fw.state().unwrap().ports.len(),
        5,
        "a refused publish adds nothing"
    );

    // Unpublishing another container's mapping of the same key leaves it.
    fw.unpublish(&[stale]).unwrap();
    assert!(fw.state().unwrap().ports.contains(&web));
    fw.unpublish(&[web, dns, local, sctp, six]).unwrap();
    fw.unpublish(&[web, dns]).unwrap();
    assert_eq!(fw.state().unwrap(), TableState::default());
    // Free again: publishing the key to the new container works now.
    fw.publish(&[stale]).unwrap();
    assert_eq!(fw.state().unwrap().ports, vec![stale]);
}

#[test]
fn ports_through_libnftables() {
    ports_lifecycle(NftBackend::Library);
}

#[test]
fn ports_through_the_nft_program() {
    ports_lifecycle(NftBackend::Program);
}

#[test]
fn bad_names_and_ports_are_refused_before_nft_sees_them() {
    let t = Table::new(NftBackend::Auto);
    let err =
        t.fw.add_network(&network("kb\"x", "10.200.12.0", false))
            .unwrap_err();
    assert!(err.to_string().contains("invalid bridge name"), "{err}");
    let err = t.fw.remove_network("a-very-long-bridge-name").unwrap_err();
    assert!(err.to_string().contains("invalid bridge name"), "{err}");
    let mixed = port(Some("127.0.0.1"), 18084, Protocol::Tcp, "10.200.12.2", 80);
    let mixed = PortRule {
        container_ip: "fd00::2".parse().unwrap(),
        ..mixed
    };
    let err = t.fw.publish(&[mixed]).unwrap_err();
    assert!(err.to_string().contains("different families"), "{err}");
    assert!(Firewall::open("kiln;x").is_err());
}

#[test]
fn a_published_port_reaches_a_server_in_a_namespace_from_the_host() {
    let lab = Lab::new();
    let t = Table::new(NftBackend::Auto);
    let c = lab.container(1);
    t.fw.add_network(&network(&lab.bridge, &lab.subnet_base(), false))
        .unwrap();
    let server = c.serve(80);
    let host_port = fw_support::free_port();
    t.fw.publish(&[port(None, host_port, Protocol::Tcp, &c.ip.to_string(), 80)])
        .unwrap();

    // 127.0.0.1 (DNAT in the output hook, masquerade as the gateway).
    let reply = fw_support::ask(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port).unwrap();
    assert_eq!(
        reply,
        format!("peer={}", lab.gateway),
        "127.0.0.1 reaches the container"
    );
    // One of the host's own addresses (the gateway is one).
    let reply = fw_support::ask(IpAddr::V4(lab.gateway), host_port).unwrap();
    assert_eq!(reply, format!("peer={}", lab.gateway));
    assert_eq!(server.served(), 2);

    // Unpublished: nothing answers any more.
    t.fw.unpublish(&[port(None, host_port, Protocol::Tcp, &c.ip.to_string(), 80)])
        .unwrap();
    assert!(fw_support::ask(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port).is_err());
}

#[test]
fn a_port_bound_to_one_address_answers_only_there() {
    let lab = Lab::new();
    let t = Table::new(NftBackend::Auto);
    let c = lab.container(1);
    t.fw.add_network(&network(&lab.bridge, &lab.subnet_base(), false))
        .unwrap();
    let _server = c.serve(80);
    let host_port = fw_support::free_port();
    let p = port(
        Some("127.0.0.1"),
        host_port,
        Protocol::Tcp,
        &c.ip.to_string(),
        80,
    );
    t.fw.publish(&[p]).unwrap();
    assert!(fw_support::ask(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port).is_ok());
    assert!(
        fw_support::ask(IpAddr::V4(lab.gateway), host_port).is_err(),
        "not published on the host's other addresses"
    );
}

#[test]
fn shim_rules_are_added_found_and_removed_by_comment() {
    // The policy is left as found: the rule is added directly (what
    // ensure_forward_shim does once it sees DROP) on a link that does
    // not exist, so it matches nothing.
    let tag = format!("kiln:t{}:", unique_hex());
    let bridge = format!("kbs{}", &unique_hex()[..8]);
    let guard = fw_support::ShimGuard(tag.clone());
    let added = shim::add_rules("iptables", &bridge, &format!("{tag}net1")).unwrap();
    assert!(added, "iptables is installed here");
    // Idempotent: checked with -C first.
    shim::add_rules("iptables", &bridge, &format!("{tag}net1")).unwrap();
    let listing = fw_support::cmd("iptables", &["-S", "FORWARD"]);
    assert_eq!(
        listing.matches(&format!("{tag}net1")).count(),
        2,
        "{listing}"
    );
    assert_eq!(
        forward_shim_comments(&tag).unwrap(),
        vec![format!("{tag}net1")]
    );
    remove_forward_shim(&tag).unwrap();
    assert!(forward_shim_comments(&tag).unwrap().is_empty());
    let listing = fw_support::cmd("iptables", &["-S", "FORWARD"]);
    assert!(!listing.contains(&tag), "{listing}");
    drop(guard);
}

#[test]
fn ensure_forward_shim_follows_the_policy_it_finds() {
    let tag = format!("kiln:t{}:", unique_hex());
    let bridge = format!("kbs{}", &unique_hex()[..8]);
    let _guard = fw_support::ShimGuard(tag.clone());
    kiln_runtime::network::firewall::ensure_forward_shim(&bridge, &format!("{tag}n")).unwrap();
    let drop_somewhere = shim::BACKENDS.iter().any(|p| {
        let not_loaded = shim::legacy_tables_file(p).is_some_and(|f| {
            !std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .any(|t| t == "filter")
        });
        !not_loaded
            && std::process::Command::new(p)
                .args(["-w", "-S", "FORWARD"])
                .output()
                .map(|o| shim::policy_is_drop(&String::from_utf8_lossy(&o.stdout)))
                .unwrap_or(false)
    });
    let found = forward_shim_comments(&tag).unwrap();
    assert_eq!(
        found.is_empty(),
        !drop_somewhere,
        "rules exactly when a policy is DROP: {found:?}"
    );
}
