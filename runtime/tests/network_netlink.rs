//! The netlink layer of bridge networks on the real kernel (run as root):
//! bridges made, reused and deleted; link listing by prefix; veth pairs
//! attached into namespaces the tests make; what the namespaces then hold;
//! TCP between two namespaces over a bridge; the host's routes; sysctls.
//!
//! Every link is named `kt<6 random hex><n>` and deleted by a guard even
//! when a test fails; namespaces are held by open nsfs files only (nothing
//! mounted on the host), so they and their veth ends vanish with the test.
//! Subnets are random /24s in 10.200.0.0/16 that the host does not route.

mod netlink_support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use kiln_runtime::network::netlink::{
    self, addresses, attach_veth, delete_link, ensure_bridge, in_namespace, link_state,
    links_with_prefix, main_routes, BridgeSpec, NetlinkError, VethSpec,
};
use netlink_support::{free_subnet, ip_route_prefixes, new_netns, Links, Names};

/// A bridge spec on a free subnet: gateway .1/24 and fd<..>::1/64.
fn bridge_spec(name: &str, third: u8) -> BridgeSpec {
    BridgeSpec {
        name: name.to_string(),
        mtu: 1400,
        addresses: vec![
            (IpAddr::V4(Ipv4Addr::new(10, 200, third, 1)), 24),
            (IpAddr::V6(v6(third, 1)), 64),
        ],
    }
}

/// `fd00:200:<third>::<host>`.
fn v6(third: u8, host: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x200, u16::from(third), 0, 0, 0, 0, host)
}

/// A veth spec for host `n` of the bridge's subnet.
fn veth_spec<'a>(
    host: &str,
    bridge: &str,
    ns: &'a std::fs::File,
    third: u8,
    n: u8,
) -> VethSpec<'a> {
    VethSpec {
        host_name: host.to_string(),
        bridge: bridge.to_string(),
        netns: ns,
        interface: "eth0".to_string(),
        mtu: 1400,
        mac: [0x02, 0x42, 10, 200, third, n],
        addresses: vec![
            (IpAddr::V4(Ipv4Addr::new(10, 200, third, n)), 24),
            (IpAddr::V6(v6(third, u16::from(n))), 64),
        ],
        gateway4: Some(Ipv4Addr::new(10, 200, third, 1)),
        gateway6: Some(v6(third, 1)),
    }
}

fn read_sys(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn bridge_is_made_reused_and_deleted() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let name = links.track(names.link(1));
    let spec = bridge_spec(&name, third);

    ensure_bridge(&spec).unwrap();
    let made = link_state(&name).unwrap().expect("bridge exists");
    assert_eq!(made.kind.as_deref(), Some("bridge"));
    assert!(made.up);
    assert_eq!(made.mtu, Some(1400));
    let addrs = addresses(&name).unwrap();
    for wanted in &spec.addresses {
        assert!(addrs.contains(wanted), "{wanted:?} missing from {addrs:?}");
    }
    assert_eq!(
        read_sys(&format!("/proc/sys/net/ipv4/conf/{name}/route_localnet")),
        "1"
    );
    assert_eq!(
        read_sys(&format!("/sys/class/net/{name}/bridge/stp_state")),
        "0"
    );
    assert_eq!(
        read_sys(&format!("/sys/class/net/{name}/bridge/forward_delay")),
        "0"
    );
    // IPv6 without DAD: usable at once, never "tentative".
    let ip6 = std::process::Command::new("ip")
        .args(["-6", "addr", "show", "dev", &name])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&ip6.stdout).contains("tentative"));

    // Reused: same link, same MAC, new MTU applied, addresses kept and a
    // new one added; a bridge found down is brought up.
    let status = std::process::Command::new("ip")
        .args(["link", "set", &name, "down"])
        .status()
        .unwrap();
    assert!(status.success());
    let mut again = spec.clone();
    again.mtu = 1380;
    let extra = (IpAddr::V4(Ipv4Addr::new(10, 200, third, 254)), 24);
    again.addresses.push(extra);
    ensure_bridge(&again).unwrap();
    let reused = link_state(&name).unwrap().unwrap();
    assert_eq!((reused.index, &reused.mac), (made.index, &made.mac));
    assert_eq!(reused.mtu, Some(1380));
    assert!(reused.up);
    let now = addresses(&name).unwrap();
    assert!(now.contains(&extra), "{now:?}");
    assert!(addrs.iter().all(|a| now.contains(a)), "{now:?}");

    assert_eq!(
        links_with_prefix(&names.prefix()).unwrap(),
        vec![name.clone()]
    );
    delete_link(&name).unwrap();
    assert_eq!(link_state(&name).unwrap(), None);
    delete_link(&name).expect("deleting a missing link is not an error");
    assert!(links_with_prefix(&names.prefix()).unwrap().is_empty());
}

#[test]
fn links_are_listed_by_prefix() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let mut made = Vec::new();
    for n in 1..=3 {
        let name = links.track(names.link(n));
        let mut spec = bridge_spec(&name, third);
        spec.addresses.clear();
        ensure_bridge(&spec).unwrap();
        made.push(name);
    }
    let mut listed = links_with_prefix(&names.prefix()).unwrap();
    listed.sort();
    assert_eq!(listed, made);
    assert_eq!(
        links_with_prefix(&names.link(2)).unwrap(),
        vec![made[1].clone()]
    );
    let all = links_with_prefix("").unwrap();
    assert!(all.contains(&"lo".to_string()) && all.len() >= 4, "{all:?}");
}

#[test]
fn a_link_of_another_kind_is_not_taken_for_a_bridge() {
    let names = Names::new();
    let mut links = Links::default();
    let name = links.track(names.link(1));
    let peer = links.track(names.link(2));
    // (This kernel has no dummy devices: a veth pair is the other kind.)
    let status = std::process::Command::new("ip")
        .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
        .status()
        .unwrap();
    assert!(status.success());
    let error = ensure_bridge(&bridge_spec(&name, free_subnet())).unwrap_err();
    assert!(
        matches!(error, NetlinkError::NotABridge { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("netlink: link {name} exists and is not a bridge (kind veth)")
    );
}

#[test]
fn bad_names_and_keys_are_refused_before_the_kernel_sees_them() {
    for bad in [
        "",
        "a/b",
        "x..y",
        "toolongname12345",
        "has space",
        "..",
        "a:b",
    ] {
        let error = ensure_bridge(&bridge_spec(bad, 1)).unwrap_err();
        assert!(
            matches!(error, NetlinkError::InvalidName { .. }),
            "{bad:?}: {error:?}"
        );
        assert!(error.to_string().starts_with("netlink: invalid link name"));
        assert!(delete_link(bad).is_err());
    }
    let error = netlink::set_sysctl("net/../../../tmp/x", "1").unwrap_err();
    assert!(
        error.to_string().starts_with("sysctl net/../../../tmp/x: "),
        "{error}"
    );
}

#[test]
fn veth_is_attached_into_a_namespace() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let bridge = links.track(names.link(1));
    let host = links.track(names.link(2));
    ensure_bridge(&bridge_spec(&bridge, third)).unwrap();
    let ns = new_netns();
    let spec = veth_spec(&host, &bridge, &ns, third, 2);
    attach_veth(&spec).unwrap();

    let bridge_index = link_state(&bridge).unwrap().unwrap().index;
    let host_side = link_state(&host).unwrap().expect("host side exists");
    assert_eq!(host_side.kind.as_deref(), Some("veth"));
    assert_eq!(host_side.controller, Some(bridge_index));
    assert_eq!(host_side.hairpin, Some(true));
    assert!(host_side.up);
    assert_eq!(host_side.mtu, Some(1400));
    assert_eq!(
        read_sys(&format!("/sys/class/net/{host}/brport/hairpin_mode")),
        "1"
    );

    let (lo, eth0, addrs, routes) = in_namespace(&ns, || {
        (
            link_state("lo").unwrap().unwrap(),
            link_state("eth0").unwrap().expect("eth0 inside"),
            addresses("eth0").unwrap(),
            main_routes().unwrap(),
        )
    })
    .unwrap();
    assert!(lo.up);
    assert!(eth0.up);
    assert_eq!(eth0.mac.as_deref(), Some(&spec.mac[..]));
    assert_eq!(eth0.mtu, Some(1400));
    for wanted in &spec.addresses {
        assert!(addrs.contains(wanted), "{wanted:?} missing from {addrs:?}");
    }
    let defaults: Vec<_> = routes.iter().filter(|r| r.is_default()).collect();
    let gateways: Vec<_> = defaults.iter().map(|r| r.gateway).collect();
    assert!(
        gateways.contains(&Some(IpAddr::V4(spec.gateway4.unwrap()))),
        "{routes:?}"
    );
    assert!(
        gateways.contains(&Some(IpAddr::V6(spec.gateway6.unwrap()))),
        "{routes:?}"
    );
    assert!(defaults.iter().all(|r| r.interface == Some(eth0.index)));

    delete_link(&host).unwrap();
    let gone = in_namespace(&ns, || link_state("eth0").unwrap()).unwrap();
    assert_eq!(gone, None, "deleting the host side removes the peer");
}

#[test]
fn a_taken_interface_name_fails_clearly_and_leaves_nothing() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let bridge = links.track(names.link(1));
    let first = links.track(names.link(2));
    let second = links.track(names.link(3));
    ensure_bridge(&bridge_spec(&bridge, third)).unwrap();
    let ns = new_netns();
    attach_veth(&veth_spec(&first, &bridge, &ns, third, 2)).unwrap();
    let error = attach_veth(&veth_spec(&second, &bridge, &ns, third, 3)).unwrap_err();
    assert!(
        matches!(error, NetlinkError::InterfaceTaken { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "netlink: interface eth0 already exists in the container's network namespace"
    );
    assert_eq!(link_state(&second).unwrap(), None);
    let mut listed = links_with_prefix(&names.prefix()).unwrap();
    listed.sort();
    assert_eq!(listed, vec![bridge, first]);
}

#[test]
fn a_failed_attach_deletes_its_host_side() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let bridge = links.track(names.link(1));
    let host = links.track(names.link(2));
    ensure_bridge(&bridge_spec(&bridge, third)).unwrap();
    let ns = new_netns();
    let mut spec = veth_spec(&host, &bridge, &ns, third, 2);
    // A gateway off the interface's subnet cannot be routed to.
    spec.gateway4 = Some(Ipv4Addr::new(10, 201, third, 1));
    let error = attach_veth(&spec).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "netlink: add default route via 10.201.{third}.1 dev eth0: "
        )),
        "{error}"
    );
    assert_eq!(link_state(&host).unwrap(), None);
    let inside = in_namespace(&ns, || link_state("eth0").unwrap()).unwrap();
    assert_eq!(inside, None);

    spec.bridge = names.link(9);
    let error = attach_veth(&spec).unwrap_err();
    assert!(error
        .to_string()
        .starts_with(&format!("netlink: look up {}: ", spec.bridge)));
}

/// Serves one connection in `server_ns` on `address` and connects to it
/// from `client_ns`; returns what each side read.
fn tcp_exchange(
    server_ns: &std::fs::File,
    client_ns: &std::fs::File,
    address: SocketAddr,
) -> (String, String) {
    let listener = in_namespace(server_ns, || TcpListener::bind(address))
        .unwrap()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).unwrap();
        stream
            .write_all(format!("{}|{}", String::from_utf8_lossy(&buf), peer.ip()).as_bytes())
            .unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    let client = in_namespace(client_ns, || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"hello")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    })
    .unwrap()
    .unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    (server.join().unwrap(), client)
}

#[test]
fn tcp_connects_between_two_namespaces_over_the_bridge() {
    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let bridge = links.track(names.link(1));
    ensure_bridge(&bridge_spec(&bridge, third)).unwrap();
    let _shim = netlink_support::ForwardAccept::for_bridge(&bridge, &names.prefix());
    let (a, b) = (new_netns(), new_netns());
    let (host_a, host_b) = (links.track(names.link(2)), links.track(names.link(3)));
    attach_veth(&veth_spec(&host_a, &bridge, &a, third, 2)).unwrap();
    attach_veth(&veth_spec(&host_b, &bridge, &b, third, 3)).unwrap();

    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 200, third, 2)), 18080);
    let (heard, answer) = tcp_exchange(&a, &b, v4);
    assert_eq!(heard, "hello");
    assert_eq!(answer, format!("hello|10.200.{third}.3"));

    let six = SocketAddr::new(IpAddr::V6(v6(third, 3)), 18081);
    let (_, answer) = tcp_exchange(&b, &a, six);
    assert_eq!(answer, format!("hello|{}", v6(third, 2)));
}

#[test]
fn routed_prefixes_are_the_main_table_without_defaults() {
    let ours = netlink::routed_prefixes().unwrap();
    assert!(ours.iter().all(|&(_, prefix)| prefix > 0), "{ours:?}");
    let before = ip_route_prefixes();
    let ours = netlink::routed_prefixes().unwrap();
    let after = ip_route_prefixes();
    // Other tests add and remove routes meanwhile: compare what was stable.
    for stable in before.iter().filter(|p| after.contains(p)) {
        assert!(ours.contains(stable), "{stable:?} missing from {ours:?}");
    }

    let names = Names::new();
    let mut links = Links::default();
    let third = free_subnet();
    let bridge = links.track(names.link(1));
    ensure_bridge(&bridge_spec(&bridge, third)).unwrap();
    let with_bridge = netlink::routed_prefixes().unwrap();
    assert!(with_bridge.contains(&(IpAddr::V4(Ipv4Addr::new(10, 200, third, 0)), 24)));
    assert!(with_bridge.contains(&(IpAddr::V6(v6(third, 0)), 64)));
    delete_link(&bridge).unwrap();
    let without = netlink::routed_prefixes().unwrap();
    assert!(!without.contains(&(IpAddr::V4(Ipv4Addr::new(10, 200, third, 0)), 24)));
}

#[test]
fn default_route_mtu_is_its_interface_mtu() {
    let output = std::process::Command::new("ip")
        .args(["-j", "-4", "route", "show", "default"])
        .output()
        .unwrap();
    let routes: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = routes
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|r| r["metric"].as_u64().unwrap_or(0))
        .map(|route| {
            let dev = route["dev"].as_str().unwrap();
            read_sys(&format!("/sys/class/net/{dev}/mtu"))
                .parse::<u32>()
                .unwrap()
        });
    assert_eq!(netlink::default_route_mtu().unwrap(), expected);

    // A namespace without a default route has no default-route MTU.
    let ns = new_netns();
    assert_eq!(
        in_namespace(&ns, netlink::default_route_mtu)
            .unwrap()
            .unwrap(),
        None
    );
}

#[test]
fn sysctls_are_written_only_when_different() {
    // In a namespace of the test's own: the host's settings stay untouched.
    let ns = new_netns();
    let key = "net/ipv4/conf/lo/route_localnet";
    let host_value = read_sys(&format!("/proc/sys/{key}"));
    let values = in_namespace(&ns, || {
        let before = read_sys(&format!("/proc/sys/{key}"));
        netlink::set_sysctl(key, "1").unwrap();
        let after = read_sys(&format!("/proc/sys/{key}"));
        netlink::set_sysctl(key, "1").unwrap();
        (before, after)
    })
    .unwrap();
    assert_eq!(values, ("0".to_string(), "1".to_string()));
    assert_eq!(
        read_sys(&format!("/proc/sys/{key}")),
        host_value,
        "host untouched"
    );

    // A read-only key: the same value is no write (so no error); another is.
    let release = read_sys("/proc/sys/kernel/osrelease");
    netlink::set_sysctl("kernel/osrelease", &release).unwrap();
    let error = netlink::set_sysctl("kernel/osrelease", "x").unwrap_err();
    assert!(
        error.to_string().starts_with("sysctl kernel/osrelease: "),
        "{error}"
    );
    let error = netlink::set_sysctl("net/ipv4/no_such_key", "1").unwrap_err();
    assert!(matches!(error, NetlinkError::Sysctl { .. }));
}
