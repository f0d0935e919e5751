//! The firewall's rules carrying real traffic on the real kernel, between
//! network namespaces the tests make with `ip` (playing containers on
//! kiln bridges and one other host on a veth of its own): same-network
//! traffic passes, other networks and direct routing from outside are cut,
//! outbound NAT works except for internal networks, published ports answer
//! from the other host with its address kept, and hairpin and
//! cross-network access through the host's published ports work.
//!
//! The iptables shim is applied as kiln applies it, so the tests also pass
//! while a Docker daemon holds the `FORWARD` policy at DROP. Everything
//! (table, links, namespaces, shim rules) is removed on drop.

mod fw_support;

use std::net::IpAddr;

use fw_support::{shim_for, Lab, Table};
use kiln_parser::values::Protocol;
use kiln_runtime::network::firewall::{
    ensure_forward_shim, forward_shim_comments, remove_forward_shim, NetworkRules, NftBackend,
    PortRule,
};

fn rules(lab: &Lab, internal: bool) -> NetworkRules {
    NetworkRules {
        bridge: lab.bridge.clone(),
        subnets: vec![(lab.subnet_base().parse().unwrap(), 24)],
        internal,
    }
}

fn tcp(host_port: u16, ip: std::net::Ipv4Addr, port: u16) -> PortRule {
    PortRule {
        host_ip: None,
        host_port,
        protocol: Protocol::Tcp,
        container_ip: IpAddr::V4(ip),
        container_port: port,
    }
}

#[test]
fn networks_are_isolated_and_nat_their_way_out() {
    let (a, b) = (Lab::new(), Lab::new());
    let t = Table::new(NftBackend::Auto);
    t.fw.add_network(&rules(&a, false)).unwrap();
    t.fw.add_network(&rules(&b, false)).unwrap();
    let _shim = shim_for(&[&a.bridge, &b.bridge]);
    let (a1, a2, b1) = (a.container(1), a.container(2), b.container(1));
    let (ext, ext_gw) = a.other_host();
    let (_s1, _s2) = (a1.serve(80), ext.serve(9000));

    let same = a2.ask(IpAddr::V4(a1.ip), 80).unwrap();
    assert_eq!(
        same,
        format!("peer={}", a2.ip),
        "same network, address kept"
    );
    assert!(
        b1.ask(IpAddr::V4(a1.ip), 80).is_err(),
        "another network cannot reach a container"
    );
    let out = a1.ask(IpAddr::V4(ext.ip), 9000).unwrap();
    assert_eq!(out, format!("peer={ext_gw}"), "outbound masquerade");
    assert!(
        ext.ask(IpAddr::V4(a1.ip), 80).is_err(),
        "no direct routing to a container from outside"
    );
}

#[test]
fn an_internal_network_has_no_way_out_but_talks_inside() {
    let i = Lab::new();
    let t = Table::new(NftBackend::Auto);
    t.fw.add_network(&rules(&i, true)).unwrap();
    let _shim = shim_for(&[&i.bridge]);
    let (i1, i2) = (i.container(1), i.container(2));
    let (ext, ext_gw) = i.other_host();
    let (_s1, _s2) = (i1.serve(80), ext.serve(9000));

    assert_eq!(
        i2.ask(IpAddr::V4(i1.ip), 80).unwrap(),
        format!("peer={}", i2.ip)
    );
    assert!(
        i1.ask(IpAddr::V4(ext.ip), 9000).is_err(),
        "no outbound route"
    );
    assert!(ext.ask(IpAddr::V4(i1.ip), 80).is_err());
    // Docker ignores -p on internal networks: even an element that says
    // otherwise does not open a way in from outside.
    let port = fw_support::free_port();
    t.fw.publish(&[tcp(port, i1.ip, 80)]).unwrap();
    assert!(ext.ask(IpAddr::V4(ext_gw), port).is_err(), "no way in");
}

#[test]
fn published_ports_answer_from_another_host_via_hairpin_and_across_networks() {
    let (a, b) = (Lab::new(), Lab::new());
    let t = Table::new(NftBackend::Auto);
    t.fw.add_network(&rules(&a, false)).unwrap();
    t.fw.add_network(&rules(&b, false)).unwrap();
    let _shim = shim_for(&[&a.bridge, &b.bridge]);
    let (a1, a2, b1) = (a.container(1), a.container(2), b.container(1));
    let (ext, ext_gw) = a.other_host();
    let _server = a1.serve(80);
    let port = fw_support::free_port();
    t.fw.publish(&[tcp(port, a1.ip, 80)]).unwrap();

    let reply = ext.ask(IpAddr::V4(ext_gw), port).unwrap();
    assert_eq!(
        reply,
        format!("peer={}", ext.ip),
        "the client's address is kept"
    );
    let reply = a2.ask(IpAddr::V4(a.gateway), port).unwrap();
    assert_eq!(reply, format!("peer={}", a.gateway), "hairpin");
    let reply = a1.ask(IpAddr::V4(a.gateway), port).unwrap();
    assert_eq!(reply, format!("peer={}", a.gateway), "hairpin to itself");
    let reply = b1.ask(IpAddr::V4(b.gateway), port).unwrap();
    assert_eq!(
        reply,
        format!("peer={}", a.gateway),
        "another network reaches it through the host"
    );
    assert!(
        b1.ask(IpAddr::V4(a1.ip), 80).is_err(),
        "but still not directly"
    );
}

#[test]
fn removing_a_network_removes_its_outbound_nat() {
    let a = Lab::new();
    let t = Table::new(NftBackend::Auto);
    t.fw.add_network(&rules(&a, false)).unwrap();
    let _shim = shim_for(&[&a.bridge]);
    let a1 = a.container(1);
    let (ext, ext_gw) = a.other_host();
    let _server = ext.serve(9000);
    assert_eq!(
        a1.ask(IpAddr::V4(ext.ip), 9000).unwrap(),
        format!("peer={ext_gw}")
    );
    t.fw.remove_network(&a.bridge).unwrap();
    // The rules are gone: the other host (which routes back through the
    // host) now sees the container's own address.
    assert_eq!(
        a1.ask(IpAddr::V4(ext.ip), 9000).unwrap(),
        format!("peer={}", a1.ip)
    );
}

#[test]
fn with_a_forward_drop_policy_the_shim_makes_networks_work_again() {
    fw_support::in_private_host(|| {
        let (a, b) = (Lab::new(), Lab::new());
        let t = Table::new(NftBackend::Auto);
        t.fw.add_network(&rules(&a, false)).unwrap();
        t.fw.add_network(&rules(&b, false)).unwrap();
        let (a1, a2, b1) = (a.container(1), a.container(2), b.container(1));
        let (ext, ext_gw) = a.other_host();
        let (_s1, _s2) = (a1.serve(80), ext.serve(9000));
        let port = fw_support::free_port();
        t.fw.publish(&[tcp(port, a1.ip, 80)]).unwrap();
        // What dockerd does, in this private namespace only.
        fw_support::cmd("iptables", &["-P", "FORWARD", "DROP"]);
        assert!(
            a2.ask(IpAddr::V4(a1.ip), 80).is_err(),
            "the policy drops even traffic on one bridge"
        );

        let prefix = format!("kiln:t{}:", &fw_support::unique_hex()[..6]);
        for (i, lab) in [&a, &b].iter().enumerate() {
            ensure_forward_shim(&lab.bridge, &format!("{prefix}{i}")).unwrap();
            ensure_forward_shim(&lab.bridge, &format!("{prefix}{i}")).unwrap();
        }
        let listing = fw_support::cmd("iptables", &["-S", "FORWARD"]);
        assert_eq!(
            listing.matches(&prefix).count(),
            4,
            "two rules a bridge, once: {listing}"
        );
        assert_eq!(
            forward_shim_comments(&prefix).unwrap(),
            [format!("{prefix}0"), format!("{prefix}1")]
        );
        assert_eq!(
            a2.ask(IpAddr::V4(a1.ip), 80).unwrap(),
            format!("peer={}", a2.ip)
        );
        assert_eq!(
            a1.ask(IpAddr::V4(ext.ip), 9000).unwrap(),
            format!("peer={ext_gw}")
        );
        assert_eq!(
            ext.ask(IpAddr::V4(ext_gw), port).unwrap(),
            format!("peer={}", ext.ip)
        );
        assert!(
            b1.ask(IpAddr::V4(a1.ip), 80).is_err(),
            "kiln's isolation still holds: nft drops are final"
        );

        remove_forward_shim(&prefix).unwrap();
        assert!(forward_shim_comments(&prefix).unwrap().is_empty());
        assert!(a2.ask(IpAddr::V4(a1.ip), 80).is_err(), "the shim is gone");
    })
}

/// Makes `ns` send packets for 127.0.0.1 to its gateway, as a hostile
/// container could (policy routing ahead of the local table).
fn route_loopback_via_gateway(ns: &fw_support::Netns, gateway: &str) {
    let n = ns.name.as_str();
    let ip = |args: &[&str]| {
        let mut all = vec!["-n", n];
        all.extend(args);
        fw_support::cmd("ip", &all);
    };
    ip(&["rule", "add", "pref", "200", "lookup", "local"]);
    ip(&["rule", "del", "pref", "0"]);
    ip(&[
        "route",
        "add",
        "127.0.0.1/32",
        "via",
        gateway,
        "dev",
        "eth0",
        "table",
        "100",
    ]);
    ip(&[
        "rule",
        "add",
        "pref",
        "100",
        "to",
        "127.0.0.1/32",
        "lookup",
        "100",
    ]);
    fw_support::cmd(
        "ip",
        &[
            "netns",
            "exec",
            n,
            "sysctl",
            "-qw",
            "net.ipv4.conf.eth0.route_localnet=1",
        ],
    );
}

#[test]
fn the_loopback_guard_keeps_containers_off_the_hosts_loopback_services() {
    fw_support::in_private_host(|| {
        let a = Lab::new();
        let a1 = a.container(1);
        route_loopback_via_gateway(&a1, &a.gateway.to_string());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _server = fw_support::Server::run(listener);
        let loopback = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        // The control: route_localnet=1 on the bridge (which 127.0.0.1
        // publishing needs) and no kiln table: the container gets through.
        assert!(a1.ask(loopback, port).is_ok(), "without the guard it leaks");

        let t = Table::new(NftBackend::Auto);
        t.fw.add_network(&rules(&a, false)).unwrap();
        assert!(
            a1.ask(loopback, port).is_err(),
            "the host's loopback-only service is out of reach"
        );
        assert!(
            fw_support::ask(loopback, port).is_ok(),
            "the host still reaches it"
        );
    })
}

fn udp(host_port: u16, ip: std::net::Ipv4Addr) -> PortRule {
    PortRule {
        protocol: Protocol::Udp,
        ..tcp(host_port, ip, 53)
    }
}

#[test]
fn a_udp_port_moves_to_its_next_owner_even_for_a_client_that_keeps_sending() {
    fw_support::in_private_host(|| {
        let a = Lab::new();
        let t = Table::new(NftBackend::Auto);
        t.fw.add_network(&rules(&a, false)).unwrap();
        let (a1, a2) = (a.container(1), a.container(2));
        let (_s1, _s2) = (a1.serve_udp(53, "a1"), a2.serve_udp(53, "a2"));
        let port = fw_support::free_port();
        let localhost = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let table = t.fw.table().to_string();

        // The control: the element deleted without forgetting the flow
        // (what `nft delete element` alone does): the client's flow keeps
        // its old DNAT and still reaches a1 after the port moved to a2.
        t.fw.publish(&[udp(port, a1.ip)]).unwrap();
        assert_eq!(fw_support::ask_udp(&client, localhost, port).unwrap(), "a1");
        let key = format!("{{ udp . {port} }}");
        fw_support::cmd("nft", &["delete", "element", "inet", &table, "pub4", &key]);
        t.fw.publish(&[udp(port, a2.ip)]).unwrap();
        assert_eq!(fw_support::ask_udp(&client, localhost, port).unwrap(), "a1");

        // unpublish forgets the flows of the element it deletes (a new
        // client: the control's stale flow is left to its timeout).
        t.fw.unpublish(&[udp(port, a2.ip)]).unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        t.fw.publish(&[udp(port, a1.ip)]).unwrap();
        assert_eq!(fw_support::ask_udp(&client, localhost, port).unwrap(), "a1");
        t.fw.unpublish(&[udp(port, a1.ip)]).unwrap();
        t.fw.publish(&[udp(port, a2.ip)]).unwrap();
        assert_eq!(
            fw_support::ask_udp(&client, localhost, port).unwrap(),
            "a2",
            "the same client now reaches the port's new owner"
        );
    })
}

#[test]
fn a_legacy_forward_drop_policy_gets_the_shim_too_and_is_never_loaded_by_it() {
    fw_support::in_private_host(|| {
        let legacy_loaded = || {
            std::fs::read_to_string("/proc/thread-self/net/ip_tables_names")
                .unwrap()
                .lines()
                .any(|t| t == "filter")
        };
        let prefix = format!("kiln:t{}:", &fw_support::unique_hex()[..6]);
        let comment = format!("{prefix}net");
        ensure_forward_shim("kbleg0", &comment).unwrap();
        assert!(
            !legacy_loaded(),
            "looking did not load iptables-legacy's table"
        );
        assert!(forward_shim_comments(&prefix).unwrap().is_empty());

        fw_support::cmd("iptables-legacy", &["-P", "FORWARD", "DROP"]);
        ensure_forward_shim("kbleg0", &comment).unwrap();
        let listing = fw_support::cmd("iptables-legacy", &["-S", "FORWARD"]);
        assert_eq!(listing.matches(&comment).count(), 2, "{listing}");
        let nft_listing = fw_support::cmd("iptables", &["-S", "FORWARD"]);
        assert!(
            !nft_listing.contains(&comment),
            "the nf_tables policy is ACCEPT"
        );
        assert_eq!(forward_shim_comments(&prefix).unwrap(), vec![comment]);
        remove_forward_shim(&prefix).unwrap();
        let listing = fw_support::cmd("iptables-legacy", &["-S", "FORWARD"]);
        assert!(!listing.contains(&prefix), "{listing}");
    })
}
