//! Unit tests of the pure half of `network create`.

use super::*;

fn record(name: &str, bridge: &str, subnet: &str) -> NetworkRecord {
    let prefix = Prefix::parse(subnet, "--subnet").unwrap();
    NetworkRecord {
        subnets: vec![Subnet {
            subnet: subnet.into(),
            gateway: ipam::default_gateway(&prefix),
            ip_range: None,
        }],
        bridge: bridge.into(),
        driver: "bridge".into(),
        ..plain_record(name, "bridge", &ctx(&[], &[], &TAG.with(|t| t.clone())))
    }
}

thread_local! {
    static TAG: RootTag = RootTag::of(std::path::Path::new("/plan/test/root"));
}

fn ctx<'a>(
    existing: &'a [NetworkRecord],
    routed: &'a [Prefix],
    tag: &'a RootTag,
) -> PlanContext<'a> {
    PlanContext {
        existing,
        routed,
        tag,
        default_mtu: 1400,
        id: "0".repeat(64),
        created: "2026-12-07T22:00:00Z".into(),
    }
}

fn request(name: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        ..CreateRequest::default()
    }
}

fn subnet(cidr: &str, gateway: Option<&str>, range: Option<&str>) -> SubnetRequest {
    SubnetRequest {
        subnet: cidr.into(),
        gateway: gateway.map(|g| g.parse().unwrap()),
        ip_range: range.map(str::to_string),
    }
}

fn p(text: &str) -> Prefix {
    Prefix::parse(text, "--subnet").unwrap()
}

#[test]
fn names_follow_dockers_pattern() {
    for good in ["a", "net1", "my_net.v2-x", "9"] {
        assert!(valid_name(good), "{good}");
    }
    for bad in ["", "-a", "_a", ".a", "a b", "a/b", "é"] {
        assert!(!valid_name(bad), "{bad}");
    }
    let tag = TAG.with(|t| t.clone());
    let err = plan_network(&request("-x"), &ctx(&[], &[], &tag)).unwrap_err();
    assert!(matches!(err, NetworkError::InvalidName(_)));
    assert!(err.to_string().contains("\"-x\""), "{err}");
}

#[test]
fn a_plain_create_takes_the_first_free_pool_skipping_routes() {
    let tag = TAG.with(|t| t.clone());
    let existing = [record("other", &tag.bridge_name(1), "172.18.0.0/16")];
    let routed = [p("172.17.0.0/16"), p("172.19.3.0/24")];
    let net = plan_network(&request("web"), &ctx(&existing, &routed, &tag)).unwrap();
    assert_eq!(net.subnets.len(), 1);
    assert_eq!(net.subnets[0].subnet, "172.20.0.0/16");
    assert_eq!(net.subnets[0].gateway.to_string(), "172.20.0.1");
    assert_eq!(net.driver, "bridge");
    assert_eq!(net.bridge, tag.bridge_name(2));
    assert!(net.dns);
    assert_eq!(net.mtu, 1400);
    assert!(!net.ipv6);
}

#[test]
fn taken_and_predefined_names_are_refused() {
    let tag = TAG.with(|t| t.clone());
    let existing = [record("web", &tag.bridge_name(1), "10.200.0.0/24")];
    for name in ["web", "bridge", "host", "none"] {
        let err = plan_network(&request(name), &ctx(&existing, &[], &tag)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("network with name {name} already exists")
        );
    }
}

#[test]
fn drivers_host_and_null_are_refused_and_unknown_ones_not_found() {
    let tag = TAG.with(|t| t.clone());
    let mut req = request("n");
    for (driver, message) in [
        ("host", "only one instance of \"host\" network is allowed"),
        ("null", "only one instance of \"null\" network is allowed"),
        ("none", "plugin \"none\" not found"),
        ("overlay", "plugin \"overlay\" not found"),
    ] {
        req.driver = driver.into();
        let err = plan_network(&req, &ctx(&[], &[], &tag)).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    req.driver = "bridge".into();
    assert!(plan_network(&req, &ctx(&[], &[], &tag)).is_ok());
}

#[test]
fn user_subnets_gateways_and_ranges_are_kept_and_checked() {
    let tag = TAG.with(|t| t.clone());
    let mut req = request("n");
    req.subnets = vec![subnet(
        "10.200.8.0/24",
        Some("10.200.8.254"),
        Some("10.200.8.128/25"),
    )];
    let net = plan_network(&req, &ctx(&[], &[], &tag)).unwrap();
    assert_eq!(net.subnets[0].subnet, "10.200.8.0/24");
    assert_eq!(net.subnets[0].gateway.to_string(), "10.200.8.254");
    assert_eq!(net.subnets[0].ip_range.as_deref(), Some("10.200.8.128/25"));

    req.subnets = vec![subnet("10.200.8.0/24", Some("10.200.9.1"), None)];
    let err = plan_network(&req, &ctx(&[], &[], &tag)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid --gateway \"10.200.9.1\""),
        "{err}"
    );
    req.subnets = vec![subnet("10.200.8.0/24", None, Some("10.200.0.0/16"))];
    let err = plan_network(&req, &ctx(&[], &[], &tag)).unwrap_err();
    assert!(err.to_string().starts_with("invalid --ip-range"), "{err}");
    req.subnets = vec![subnet("10.200.8.1/24", None, None)];
    let err = plan_network(&req, &ctx(&[], &[], &tag)).unwrap_err();
    assert!(err.to_string().starts_with("invalid --subnet"), "{err}");
}

#[test]
fn overlapping_subnets_are_refused_with_dockers_words() {
    let tag = TAG.with(|t| t.clone());
    let existing = [record("a", &tag.bridge_name(1), "10.200.16.0/20")];
    let mut req = request("b");
    req.subnets = vec![subnet("10.200.17.0/24", None, None)];
    let err = plan_network(&req, &ctx(&existing, &[], &tag)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Pool overlaps with other one on this address space"
    );
    assert!(matches!(err, NetworkError::PoolOverlap { network, .. } if network == "a"));
    req.subnets = vec![
        subnet("10.201.0.0/24", None, None),
        subnet("10.201.0.0/16", None, None),
    ];
    assert!(matches!(
        plan_network(&req, &ctx(&existing, &[], &tag)),
        Err(NetworkError::PoolOverlap { .. })
    ));
    // A user subnet may overlap a host route (Docker checks only its pools).
    req.subnets = vec![subnet("10.202.0.0/24", None, None)];
    assert!(plan_network(&req, &ctx(&existing, &[p("10.202.0.0/16")], &tag)).is_ok());
}

#[test]
fn ipv6_networks_get_a_ula_64_beside_their_ipv4_subnet() {
    let tag = TAG.with(|t| t.clone());
    let mut req = request("six");
    req.ipv6 = true;
    req.subnets = vec![subnet("10.200.32.0/24", None, None)];
    let net = plan_network(&req, &ctx(&[], &[], &tag)).unwrap();
    assert!(net.ipv6);
    assert_eq!(net.subnets.len(), 2);
    assert_eq!(
        net.subnets[1].subnet,
        ipam::free_ipv6_subnet(&[]).unwrap().to_string()
    );
    // An IPv6 --subnet alone: IPv4 from the pools, IPv6 on.
    req.ipv6 = false;
    req.subnets = vec![subnet("fd00:200::/64", None, None)];
    let net = plan_network(&req, &ctx(&[], &[], &tag)).unwrap();
    assert!(net.ipv6);
    assert_eq!(net.subnets[0].subnet, "172.17.0.0/16");
    assert_eq!(net.subnets[1].gateway.to_string(), "fd00:200::1");
}

#[test]
fn options_set_the_mtu_and_the_bridge_name() {
    let tag = TAG.with(|t| t.clone());
    let mut req = request("n");
    req.options.insert(OPT_MTU.into(), "9000".into());
    req.options
        .insert(OPT_BRIDGE_NAME.into(), "br-custom".into());
    let net = plan_network(&req, &ctx(&[], &[], &tag)).unwrap();
    assert_eq!(net.mtu, 9000);
    assert_eq!(net.bridge, "br-custom");
    assert_eq!(net.options.get(OPT_BRIDGE_NAME).unwrap(), "br-custom");
    let existing = [record("x", "br-custom", "10.200.40.0/24")];
    let err = plan_network(&req, &ctx(&existing, &[], &tag)).unwrap_err();
    assert!(
        err.to_string().contains("another network uses this bridge"),
        "{err}"
    );
    for (key, value) in [
        (OPT_MTU, "big"),
        (OPT_MTU, "10"),
        (OPT_BRIDGE_NAME, "much-too-long-name"),
    ] {
        let mut req = request("n");
        req.options.insert(key.into(), value.into());
        let err = plan_network(&req, &ctx(&[], &[], &tag)).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("invalid -o {key}")),
            "{err}"
        );
    }
}

#[test]
fn pools_exhausted_is_dockers_error() {
    let tag = TAG.with(|t| t.clone());
    let routed = [p("172.16.0.0/12"), p("192.168.0.0/16")];
    let err = plan_network(&request("n"), &ctx(&[], &routed, &tag)).unwrap_err();
    assert!(matches!(err, NetworkError::NoFreeSubnet));
}

#[test]
fn the_default_bridge_is_kb_tag_0_without_dns() {
    let tag = TAG.with(|t| t.clone());
    let routed = [p("172.17.0.0/16")];
    let net = plan_default_bridge(&ctx(&[], &routed, &tag)).unwrap();
    assert_eq!(net.name, "bridge");
    assert_eq!(net.bridge, tag.bridge_name(0));
    assert!(!net.dns);
    assert_eq!(net.subnets[0].subnet, "172.18.0.0/16");
    assert_eq!(net.options.get(OPT_BRIDGE_NAME), Some(&tag.bridge_name(0)));
    assert_eq!(net.options.get(OPT_MTU).map(String::as_str), Some("1400"));
    let host = plan_plain("host", "host", &ctx(&[], &[], &tag));
    assert_eq!((host.driver.as_str(), host.bridge.as_str()), ("host", ""));
    assert!(host.subnets.is_empty());
}

#[test]
fn routes_become_prefixes_without_default_routes() {
    let routes = [
        ("0.0.0.0".parse().unwrap(), 0),
        ("172.17.0.0".parse().unwrap(), 16),
        ("192.0.2.7".parse().unwrap(), 24),
    ];
    assert_eq!(routed(&routes), vec![p("172.17.0.0/16"), p("192.0.2.0/24")]);
}
