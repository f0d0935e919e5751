//! Golden texts of every ruleset kiln runs (each was also run by the real
//! kernel tests in `runtime/tests/network_firewall.rs`).

use super::*;
use kiln_parser::values::Protocol;

const T: &str = "kiln_abc123";

fn net(internal: bool) -> NetworkRules {
    NetworkRules {
        bridge: "kbabc1231".into(),
        subnets: vec![
            ("10.200.3.7".parse().unwrap(), 24),
            ("fd00:1::5".parse().unwrap(), 64),
        ],
        internal,
    }
}

fn port(host_ip: Option<&str>, proto: Protocol, ip: &str) -> PortRule {
    PortRule {
        host_ip: host_ip.map(|s| s.parse().unwrap()),
        host_port: 8080,
        protocol: proto,
        container_ip: ip.parse().unwrap(),
        container_port: 80,
    }
}

#[test]
fn open_declares_the_table_and_rewrites_the_base_chains() {
    let expected = r#"add table inet kiln_abc123
add set inet kiln_abc123 bridges { type ifname; }
add map inet kiln_abc123 pub4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet kiln_abc123 pub4_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet kiln_abc123 pub6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
add map inet kiln_abc123 pub6_ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
add map inet kiln_abc123 fwd_to { type ifname : verdict; }
add map inet kiln_abc123 fwd_from { type ifname : verdict; }
add map inet kiln_abc123 post4 { type ipv4_addr : verdict; flags interval; }
add map inet kiln_abc123 post6 { type ipv6_addr : verdict; flags interval; }
add set inet kiln_abc123 layout_1 { type ifname; }
add chain inet kiln_abc123 guard { type filter hook prerouting priority raw; policy accept; }
flush chain inet kiln_abc123 guard
add chain inet kiln_abc123 prerouting { type nat hook prerouting priority dstnat; policy accept; }
flush chain inet kiln_abc123 prerouting
add chain inet kiln_abc123 output { type nat hook output priority -100; policy accept; }
flush chain inet kiln_abc123 output
add chain inet kiln_abc123 postrouting { type nat hook postrouting priority srcnat; policy accept; }
flush chain inet kiln_abc123 postrouting
add chain inet kiln_abc123 forward { type filter hook forward priority filter; policy accept; }
flush chain inet kiln_abc123 forward
add rule inet kiln_abc123 guard iifname != "lo" ip daddr 127.0.0.0/8 drop
add rule inet kiln_abc123 prerouting ip daddr 127.0.0.0/8 return
add rule inet kiln_abc123 prerouting fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip
add rule inet kiln_abc123 prerouting fib daddr type local dnat ip to meta l4proto . th dport map @pub4
add rule inet kiln_abc123 prerouting fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip
add rule inet kiln_abc123 prerouting fib daddr type local dnat ip6 to meta l4proto . th dport map @pub6
add rule inet kiln_abc123 output ip6 daddr ::1 return
add rule inet kiln_abc123 output fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip
add rule inet kiln_abc123 output fib daddr type local dnat ip to meta l4proto . th dport map @pub4
add rule inet kiln_abc123 output fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip
add rule inet kiln_abc123 output fib daddr type local dnat ip6 to meta l4proto . th dport map @pub6
add rule inet kiln_abc123 postrouting oifname @bridges fib saddr type local masquerade
add rule inet kiln_abc123 postrouting ip saddr vmap @post4
add rule inet kiln_abc123 postrouting ip6 saddr vmap @post6
add rule inet kiln_abc123 forward ct state established,related accept
add rule inet kiln_abc123 forward oifname vmap @fwd_to
add rule inet kiln_abc123 forward iifname vmap @fwd_from
"#;
    assert_eq!(open(T), expected);
}

#[test]
fn a_network_gets_isolation_hairpin_and_outbound_nat() {
    let expected = r#"add chain inet kiln_abc123 n_kbabc1231_to
flush chain inet kiln_abc123 n_kbabc1231_to
add chain inet kiln_abc123 n_kbabc1231_from
flush chain inet kiln_abc123 n_kbabc1231_from
add chain inet kiln_abc123 n_kbabc1231_post
flush chain inet kiln_abc123 n_kbabc1231_post
add rule inet kiln_abc123 n_kbabc1231_to iifname "kbabc1231" accept
add rule inet kiln_abc123 n_kbabc1231_to ct status dnat accept
add rule inet kiln_abc123 n_kbabc1231_to drop
add rule inet kiln_abc123 n_kbabc1231_from accept
add rule inet kiln_abc123 n_kbabc1231_post oifname "kbabc1231" ct status dnat masquerade
add rule inet kiln_abc123 n_kbabc1231_post oifname != "kbabc1231" masquerade
add element inet kiln_abc123 bridges { "kbabc1231" }
add element inet kiln_abc123 fwd_to { "kbabc1231" : jump n_kbabc1231_to }
add element inet kiln_abc123 fwd_from { "kbabc1231" : jump n_kbabc1231_from }
add element inet kiln_abc123 post4 { 10.200.3.0/24 : jump n_kbabc1231_post }
add element inet kiln_abc123 post6 { fd00:1::/64 : jump n_kbabc1231_post }
"#;
    assert_eq!(add_network(T, &net(false)), expected);
}

#[test]
fn an_internal_network_gets_no_way_out_and_no_published_ports() {
    let expected = r#"add chain inet kiln_abc123 n_kbabc1231_to
flush chain inet kiln_abc123 n_kbabc1231_to
add chain inet kiln_abc123 n_kbabc1231_from
flush chain inet kiln_abc123 n_kbabc1231_from
add chain inet kiln_abc123 n_kbabc1231_post
flush chain inet kiln_abc123 n_kbabc1231_post
add rule inet kiln_abc123 n_kbabc1231_to iifname "kbabc1231" accept
add rule inet kiln_abc123 n_kbabc1231_to drop
add rule inet kiln_abc123 n_kbabc1231_from drop
add rule inet kiln_abc123 n_kbabc1231_post oifname "kbabc1231" ct status dnat masquerade
add element inet kiln_abc123 bridges { "kbabc1231" }
add element inet kiln_abc123 fwd_to { "kbabc1231" : jump n_kbabc1231_to }
add element inet kiln_abc123 fwd_from { "kbabc1231" : jump n_kbabc1231_from }
add element inet kiln_abc123 post4 { 10.200.3.0/24 : jump n_kbabc1231_post }
add element inet kiln_abc123 post6 { fd00:1::/64 : jump n_kbabc1231_post }
"#;
    assert_eq!(add_network(T, &net(true)), expected);
}

#[test]
fn removing_deletes_elements_before_chains_and_only_what_is_there() {
    let found = NetworkObjects {
        in_bridges: true,
        in_fwd_to: true,
        in_fwd_from: false,
        post: vec![("post4".into(), "10.200.3.0/24".into())],
        chains: vec!["n_kb1_to".into(), "n_kb1_post".into()],
    };
    let expected = r#"delete element inet kiln_abc123 bridges { "kb1" }
delete element inet kiln_abc123 fwd_to { "kb1" }
delete element inet kiln_abc123 post4 { 10.200.3.0/24 }
delete chain inet kiln_abc123 n_kb1_to
delete chain inet kiln_abc123 n_kb1_post
"#;
    assert_eq!(remove_network(T, "kb1", &found), expected);
    assert_eq!(remove_network(T, "kb1", &NetworkObjects::default()), "");
}

#[test]
fn ports_go_to_the_map_of_their_families() {
    let all = port(None, Protocol::Tcp, "10.200.3.2");
    let one = port(Some("127.0.0.1"), Protocol::Udp, "10.200.3.2");
    let six = port(None, Protocol::Sctp, "fd00:1::2");
    let six_one = port(Some("::1"), Protocol::Tcp, "fd00:1::2");
    let mixed = port(Some("127.0.0.1"), Protocol::Tcp, "fd00:1::2");
    let maps: Vec<_> = [all, one, six, six_one, mixed]
        .iter()
        .map(port_map)
        .collect();
    let expected = [
        Some("pub4"),
        Some("pub4_ip"),
        Some("pub6"),
        Some("pub6_ip"),
        None,
    ];
    assert_eq!(maps, expected);
    let expected = r#"create element inet kiln_abc123 pub4 { tcp . 8080 : 10.200.3.2 . 80 }
create element inet kiln_abc123 pub4_ip { 127.0.0.1 . udp . 8080 : 10.200.3.2 . 80 }
create element inet kiln_abc123 pub6 { sctp . 8080 : fd00:1::2 . 80 }
create element inet kiln_abc123 pub6_ip { ::1 . tcp . 8080 : fd00:1::2 . 80 }
"#;
    assert_eq!(publish(T, &[all, one, six, six_one]), expected);
    let expected = r#"delete element inet kiln_abc123 pub4 { tcp . 8080 }
delete element inet kiln_abc123 pub4_ip { 127.0.0.1 . udp . 8080 }
"#;
    assert_eq!(unpublish(T, &[all, one]), expected);
}

#[test]
fn listing_and_deleting_the_table() {
    assert_eq!(list(T), "list table inet kiln_abc123\n");
    assert_eq!(probe(T), "list set inet kiln_abc123 layout_1\n");
    let ports = [
        port(None, Protocol::Tcp, "10.200.3.2"),
        port(Some("::1"), Protocol::Tcp, "fd00:1::2"),
        port(None, Protocol::Udp, "10.200.3.3"),
    ];
    assert_eq!(
        list_port_maps(T, &ports),
        "list map inet kiln_abc123 pub4\nlist map inet kiln_abc123 pub6_ip\n"
    );
    assert_eq!(delete_table(T), "delete table inet kiln_abc123\n");
    assert_eq!(
        network_chains("kb1"),
        ["n_kb1_to", "n_kb1_from", "n_kb1_post"]
    );
}

#[test]
fn subnets_lose_their_host_bits() {
    let cases = [
        ("10.200.3.7", 24, "10.200.3.0/24"),
        ("10.200.3.7", 32, "10.200.3.7/32"),
        ("10.200.3.7", 0, "0.0.0.0/0"),
        ("172.18.5.9", 16, "172.18.0.0/16"),
        ("fd00:1::5", 64, "fd00:1::/64"),
        ("fd00:1::5", 128, "fd00:1::5/128"),
    ];
    for (addr, len, text) in cases {
        assert_eq!(subnet_text(addr.parse().unwrap(), len), text);
    }
}
