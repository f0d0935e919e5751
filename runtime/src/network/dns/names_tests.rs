use std::collections::BTreeMap;

use super::*;

fn network(id: &str, name: &str, dns: bool) -> NetworkRecord {
    NetworkRecord {
        id: id.into(),
        name: name.into(),
        driver: "bridge".into(),
        created: String::new(),
        bridge: String::new(),
        subnets: Vec::new(),
        internal: false,
        ipv6: false,
        attachable: false,
        dns,
        mtu: 1500,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
    }
}

fn endpoint(net: &str, id: &str, name: &str, ips: &[&str], aliases: &[&str]) -> EndpointRecord {
    let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
    EndpointRecord {
        network_id: net.into(),
        container_id: id.into(),
        container_name: name.into(),
        endpoint_id: String::new(),
        interface: "eth0".into(),
        host_veth: String::new(),
        mac: String::new(),
        ipv4: ips.iter().find(|ip| ip.is_ipv4()).map(|ip| (*ip, 24)),
        ipv6: ips.iter().find(|ip| ip.is_ipv6()).map(|ip| (*ip, 64)),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ports: Vec::new(),
        dns_servers: Vec::new(),
        holder_pid: 1,
        holder_start: 0,
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

/// `me` on `front` (DNS) and `quiet` (no DNS); `back` (DNS) without `me`.
fn table() -> NameTable {
    let networks = [
        network("f", "Front", true),
        network("b", "back", true),
        network("q", "quiet", false),
    ];
    let endpoints = [
        endpoint("f", "me0000000000aaaa", "me", &["10.1.0.2"], &[]),
        endpoint(
            "f",
            "abcdef0123456789",
            "Web",
            &["10.1.0.3", "fd00::3"],
            &["api"],
        ),
        endpoint("f", "9999999999999999", "web-2", &["10.1.0.4"], &["api"]),
        endpoint("b", "me0000000000aaaa", "other-me", &["10.2.0.2"], &[]),
        endpoint("b", "bbbbbbbbbbbbbbbb", "db", &["10.2.0.3"], &[]),
        endpoint("q", "me0000000000aaaa", "me", &["10.3.0.2"], &[]),
        endpoint("q", "cccccccccccccccc", "cache", &["10.3.0.3"], &[]),
    ];
    NameTable::build("me0000000000aaaa", &networks[..1], &endpoints)
}

#[test]
fn names_aliases_short_ids_and_network_suffixes_resolve() {
    let t = table();
    assert_eq!(t.lookup("web").unwrap(), ips(&["10.1.0.3", "fd00::3"]));
    assert_eq!(t.lookup("WEB.").unwrap(), ips(&["10.1.0.3", "fd00::3"]));
    assert_eq!(
        t.lookup("abcdef012345").unwrap(),
        ips(&["10.1.0.3", "fd00::3"])
    );
    assert_eq!(
        t.lookup("web.front").unwrap(),
        ips(&["10.1.0.3", "fd00::3"])
    );
    assert_eq!(
        t.lookup("api.FRONT.").unwrap(),
        ips(&["10.1.0.3", "fd00::3", "10.1.0.4"])
    );
    assert_eq!(t.lookup("me").unwrap(), ips(&["10.1.0.2"]));
    assert_eq!(
        t.lookup("abcdef0123456"),
        None,
        "13 characters are no short ID"
    );
    assert_eq!(t.lookup("web.back"), None);
}

#[test]
fn other_networks_and_networks_without_dns_stay_invisible() {
    let networks = [
        network("f", "front", true),
        network("b", "back", true),
        network("q", "quiet", false),
    ];
    let endpoints = [
        endpoint("f", "me", "me", &["10.1.0.2"], &[]),
        endpoint("b", "db", "db", &["10.2.0.3"], &[]),
        endpoint("q", "me", "me", &["10.3.0.2"], &[]),
        endpoint("q", "cache", "cache", &["10.3.0.3"], &[]),
    ];
    let t = NameTable::build("me", &networks, &endpoints);
    assert_eq!(t.lookup("db"), None, "not on back");
    assert_eq!(t.lookup("cache"), None, "quiet has no DNS");
    assert_eq!(t.lookup("me").unwrap(), ips(&["10.1.0.2"]));
    assert_eq!(t.reverse("10.3.0.3".parse().unwrap()), None);
    let nobody = NameTable::build("stranger", &networks, &endpoints);
    assert!(nobody.is_empty());
}

#[test]
fn an_address_seen_through_two_networks_is_listed_once() {
    let networks = [network("a", "a", true), network("b", "b", true)];
    let endpoints = [
        endpoint("a", "me", "me", &["10.1.0.2"], &[]),
        endpoint("b", "me", "me", &["10.2.0.2"], &[]),
        endpoint("a", "x", "x", &["10.1.0.5"], &["shared"]),
        endpoint("b", "x", "x", &["10.2.0.5"], &["shared"]),
        endpoint("b", "y", "y", &["10.2.0.5"], &["shared"]),
    ];
    let t = NameTable::build("me", &networks, &endpoints);
    assert_eq!(t.lookup("shared").unwrap(), ips(&["10.1.0.5", "10.2.0.5"]));
    assert_eq!(t.lookup("x.b").unwrap(), ips(&["10.2.0.5"]));
}

#[test]
fn addresses_map_back_to_name_dot_network() {
    let t = table();
    assert_eq!(t.reverse("10.1.0.3".parse().unwrap()), Some("Web.Front"));
    assert_eq!(t.reverse("fd00::3".parse().unwrap()), Some("Web.Front"));
    assert_eq!(t.reverse("10.9.9.9".parse().unwrap()), None);
}

#[test]
fn reverse_names_parse_and_partial_ones_do_not() {
    let v4 = parse_reverse("3.0.1.10.in-addr.arpa.").unwrap();
    assert_eq!(v4, "10.1.0.3".parse::<IpAddr>().unwrap());
    let v6 = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.IP6.ARPA";
    assert_eq!(
        parse_reverse(v6).unwrap(),
        "fd00::3".parse::<IpAddr>().unwrap()
    );
    for bad in [
        "0.1.10.in-addr.arpa",
        "256.0.1.10.in-addr.arpa",
        "a.0.1.10.in-addr.arpa",
        "+1.0.1.10.in-addr.arpa",
        ".0.1.10.in-addr.arpa",
        "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        "30.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        "web.example",
        "",
    ] {
        assert_eq!(parse_reverse(bad), None, "{bad}");
    }
}
