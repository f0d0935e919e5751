//! Unit tests of the pure address management.

use super::*;

fn p(text: &str) -> Prefix {
    Prefix::parse(text, "--subnet").unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn parse_accepts_cidrs_and_names_the_flag_on_errors() {
    assert_eq!(p("10.1.0.0/16").address, ip("10.1.0.0"));
    assert_eq!(p("10.1.0.0/16").len, 16);
    assert_eq!(p("fd00:1::/64").to_string(), "fd00:1::/64");
    assert_eq!(p("0.0.0.0/0").len, 0);
    assert_eq!(p("10.0.0.7/32").len, 32);
    for bad in [
        "10.1.0.0",
        "10.1.0.0/33",
        "fd00::/129",
        "x/8",
        "10.1.0.0/x",
        "10.1.0.1/16",
    ] {
        let err = Prefix::parse(bad, "--subnet").unwrap_err();
        assert!(err.to_string().starts_with("invalid --subnet"), "{err}");
        assert!(err.to_string().contains(bad), "{err}");
    }
    let err = Prefix::parse("10.1.2.3/16", "--ip-range").unwrap_err();
    assert!(
        err.to_string().contains("did you mean 10.1.0.0/16"),
        "{err}"
    );
}

#[test]
fn contains_and_overlaps_respect_families_and_lengths() {
    let net = p("10.1.0.0/16");
    assert!(net.contains(ip("10.1.255.255")));
    assert!(!net.contains(ip("10.2.0.0")));
    assert!(!net.contains(ip("::ffff:10.1.0.1")));
    assert!(net.overlaps(&p("10.1.2.0/24")));
    assert!(p("10.1.2.0/24").overlaps(&net));
    assert!(net.overlaps(&p("10.0.0.0/8")));
    assert!(!net.overlaps(&p("10.2.0.0/16")));
    assert!(!net.overlaps(&p("::/0")));
    assert!(p("0.0.0.0/0").overlaps(&net));
    assert!(p("fd00::/8").overlaps(&p("fd12:3456::/64")));
    assert!(!p("fd00::/64").overlaps(&p("fd00:0:0:1::/64")));
    assert_eq!(Prefix::new(ip("10.1.2.3"), 16), net);
}

#[test]
fn the_default_pools_are_dockers() {
    let pools = default_ipv4_pools();
    assert_eq!(pools.len(), 31);
    assert_eq!(pools[0].to_string(), "172.17.0.0/16");
    assert_eq!(pools[14].to_string(), "172.31.0.0/16");
    assert_eq!(pools[15].to_string(), "192.168.0.0/20");
    assert_eq!(pools[16].to_string(), "192.168.16.0/20");
    assert_eq!(pools[30].to_string(), "192.168.240.0/20");
}

#[test]
fn a_free_pool_skips_routed_and_taken_prefixes() {
    assert_eq!(free_ipv4_subnet(&[]).unwrap().to_string(), "172.17.0.0/16");
    // docker0 and a /24 inside 172.18 (as on this host: 172.29.0.0/24).
    let taken = [p("172.17.0.0/16"), p("172.18.5.0/24")];
    assert_eq!(
        free_ipv4_subnet(&taken).unwrap().to_string(),
        "172.19.0.0/16"
    );
    // A default route does not count as a taken prefix for the caller, but
    // a covering prefix does: 172.16.0.0/12 covers every 172 pool.
    let taken = [p("172.16.0.0/12"), p("192.168.0.0/20")];
    assert_eq!(
        free_ipv4_subnet(&taken).unwrap().to_string(),
        "192.168.16.0/20"
    );
    let all = [p("172.16.0.0/12"), p("192.168.0.0/16")];
    assert_eq!(free_ipv4_subnet(&all), None);
}

#[test]
fn ipv6_pools_are_ula_64s_of_one_deterministic_48() {
    let pool = ipv6_pool();
    assert_eq!(pool.len, 48);
    assert!(p("fd00::/8").contains(pool.address));
    assert_eq!(ipv6_pool(), pool);
    let first = free_ipv6_subnet(&[]).unwrap();
    assert_eq!(first.len, 64);
    assert_eq!(first.address, pool.address);
    let second = free_ipv6_subnet(&[first]).unwrap();
    assert!(pool.contains(second.address));
    assert_ne!(first, second);
    assert!(!first.overlaps(&second));
    assert_eq!(free_ipv6_subnet(&[pool]), None);
}

#[test]
fn gateway_is_the_first_host_address() {
    assert_eq!(default_gateway(&p("172.18.0.0/16")), ip("172.18.0.1"));
    assert_eq!(default_gateway(&p("10.0.0.0/31")), ip("10.0.0.0"));
    assert_eq!(default_gateway(&p("10.0.0.9/32")), ip("10.0.0.9"));
    assert_eq!(default_gateway(&p("fd00:1::/64")), ip("fd00:1::1"));
    assert_eq!(default_gateway(&p("fd00:1::5/128")), ip("fd00:1::5"));
}

#[test]
fn containers_get_the_lowest_free_address() {
    let net = p("10.200.1.0/24");
    let gw = ip("10.200.1.1");
    assert_eq!(lowest_free(&net, None, gw, &[]), Some(ip("10.200.1.2")));
    let used = [ip("10.200.1.2"), ip("10.200.1.4"), ip("10.9.9.9")];
    assert_eq!(lowest_free(&net, None, gw, &used), Some(ip("10.200.1.3")));
    // A released address is reused first.
    let used = [ip("10.200.1.3"), ip("10.200.1.4")];
    assert_eq!(lowest_free(&net, None, gw, &used), Some(ip("10.200.1.2")));
    // A gateway elsewhere than .1 leaves .1 free.
    assert_eq!(
        lowest_free(&net, None, ip("10.200.1.254"), &[]),
        Some(ip("10.200.1.1"))
    );
}

#[test]
fn network_and_broadcast_are_never_given_and_a_full_subnet_has_none() {
    let net = p("10.200.2.0/30");
    let gw = default_gateway(&net);
    assert_eq!(lowest_free(&net, None, gw, &[]), Some(ip("10.200.2.2")));
    assert_eq!(lowest_free(&net, None, gw, &[ip("10.200.2.2")]), None);
}

#[test]
fn slash_31_and_32_edge_cases() {
    let net = p("10.200.3.0/31");
    let gw = default_gateway(&net);
    assert_eq!(lowest_free(&net, None, gw, &[]), Some(ip("10.200.3.1")));
    assert_eq!(lowest_free(&net, None, gw, &[ip("10.200.3.1")]), None);
    let single = p("10.200.3.7/32");
    assert_eq!(
        lowest_free(&single, None, default_gateway(&single), &[]),
        None
    );
    let v6 = p("fd00:9::/127");
    assert_eq!(lowest_free(&v6, None, default_gateway(&v6), &[]), None);
    let v6 = p("fd00:9::/126");
    assert_eq!(
        lowest_free(&v6, None, default_gateway(&v6), &[]),
        Some(ip("fd00:9::2"))
    );
    assert_eq!(
        lowest_free(&v6, None, default_gateway(&v6), &[ip("fd00:9::2")]),
        Some(ip("fd00:9::3"))
    );
}

#[test]
fn ip_range_bounds_dynamic_addresses() {
    let net = p("10.200.4.0/24");
    let gw = default_gateway(&net);
    let range = p("10.200.4.128/25");
    assert_eq!(
        lowest_free(&net, Some(&range), gw, &[]),
        Some(ip("10.200.4.128"))
    );
    let range = p("10.200.4.252/30");
    let used = [ip("10.200.4.252"), ip("10.200.4.253"), ip("10.200.4.254")];
    // .255 is the broadcast address: the range is full.
    assert_eq!(lowest_free(&net, Some(&range), gw, &used), None);
    let outside = p("10.9.0.0/24");
    assert_eq!(lowest_free(&net, Some(&outside), gw, &[]), None);
}

#[test]
fn large_ipv6_subnets_are_cheap() {
    let net = p("fd00:7::/64");
    let gw = default_gateway(&net);
    let base = u128::from("fd00:7::".parse::<Ipv6Addr>().unwrap());
    let used: Vec<IpAddr> = (2..1000u128)
        .map(|n| IpAddr::V6(Ipv6Addr::from(base + n)))
        .collect();
    assert_eq!(lowest_free(&net, None, gw, &used), Some(ip("fd00:7::3e8")));
}

#[test]
fn static_addresses_are_checked() {
    let net = p("10.200.5.0/24");
    let gw = default_gateway(&net);
    check_static(&net, gw, ip("10.200.5.9"), &[], "n").unwrap();
    let err = check_static(&net, gw, ip("10.200.6.9"), &[], "n").unwrap_err();
    assert!(
        err.to_string().starts_with("invalid --ip \"10.200.6.9\""),
        "{err}"
    );
    assert!(check_static(&net, gw, ip("10.200.5.255"), &[], "n").is_err());
    assert!(check_static(&net, gw, ip("10.200.5.0"), &[], "n").is_err());
    let err = check_static(&net, gw, ip("10.200.5.9"), &[ip("10.200.5.9")], "n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Address already in use: 10.200.5.9 on network n"
    );
    assert!(matches!(
        check_static(&net, gw, gw, &[], "n"),
        Err(NetworkError::AddressInUse { .. })
    ));
}
