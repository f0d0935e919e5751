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
use kiln_runtime::network::firewall::{NetworkRules, NftBackend, PortRule};

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
    let (ext, _) = i.other_host();
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
