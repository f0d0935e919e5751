//! `network::attach` on the real kernel: network namespaces made by the
//! test (as `kiln_runtime::netns` makes a container's), networks made with
//! `manage::create` (IPAM picks free subnets, so parallel tests never
//! collide), traffic only between those namespaces and the host's loopback.
//! Every kernel object is named from the test's own root; a guard removes
//! them whatever the outcome.

mod net_common;

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use kiln_parser::values::{PortMapping, PortRange, Protocol};
use kiln_runtime::network::attach::{self, AttachRequest};
use kiln_runtime::network::firewall::{Firewall, PortRule};
use kiln_runtime::network::manage::{self, CreateRequest};
use kiln_runtime::network::names::RootTag;
use kiln_runtime::network::record::NetworkStore;
use kiln_runtime::network::{netlink, NetworkError};
use net_common::{in_netns, ns_exec, serve_once, TestRoot};

fn request(network: &str, container: &str) -> AttachRequest {
    AttachRequest {
        network: network.into(),
        container_id: format!("{container:0<64}"),
        container_name: container.into(),
        interface: "eth0".into(),
        holder_pid: std::process::id(),
        ..AttachRequest::default()
    }
}

fn publish(host_port: Option<u16>, container_port: u16) -> PortMapping {
    PortMapping {
        host_ip: None,
        host_ports: host_port.map(|p| PortRange { start: p, end: p }),
        container_port,
        protocol: Protocol::Tcp,
    }
}

fn ipv4(attachment: &attach::Attachment) -> IpAddr {
    attachment.endpoint.ipv4.expect("an IPv4 address").0
}

/// Connects from inside `netns` to `address` and returns what the server
/// wrote.
fn fetch_from(netns: &std::path::Path, address: SocketAddr) -> std::io::Result<String> {
    in_netns(netns, move || fetch(address))
}

fn fetch(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn two_namespaces_on_a_network_reach_each_other_and_detach_leaves_nothing() {
    let mut t = TestRoot::new("attach-two");
    let network = t.network("two");
    let (a_ns, a_file) = t.netns("a");
    let (b_ns, b_file) = t.netns("b");
    let a = attach::attach(&t.root, &a_file, &request("two", "aaaa")).unwrap();
    let b = attach::attach(&t.root, &b_file, &request("two", "bbbb")).unwrap();
    let gateway = network.subnets[0].gateway;
    let (a_ip, b_ip) = (ipv4(&a), ipv4(&b));
    assert_eq!(bits(a_ip), bits(gateway) + 1, "lowest free address first");
    assert_eq!(bits(b_ip), bits(gateway) + 2);
    assert_eq!(a.endpoint.mac, mac_of(a_ip));

    let len = a.endpoint.ipv4.unwrap().1;
    let inside = ns_exec(&a_ns, &["ip", "-br", "addr", "show", "eth0"]);
    assert!(inside.contains(&format!("{a_ip}/{len}")), "{inside}");
    let link = ns_exec(&a_ns, &["ip", "-br", "link", "show", "eth0"]);
    assert!(link.contains(&a.endpoint.mac), "{link}");
    let routes = ns_exec(&a_ns, &["ip", "route", "show", "default"]);
    assert!(routes.contains(&format!("via {gateway}")), "{routes}");

    let server = serve_once(&a_ns, 80);
    let seen = fetch_from(&b_ns, SocketAddr::new(a_ip, 80)).unwrap();
    assert_eq!(
        seen,
        b_ip.to_string(),
        "b reaches a directly, its address kept"
    );
    server.join().unwrap();

    let veths = RootTag::of(&t.root).veth_prefix();
    assert_eq!(netlink::links_with_prefix(&veths).unwrap().len(), 2);
    attach::detach(&t.root, &network.id, &a.endpoint.container_id).unwrap();
    attach::detach_all(&t.root, &b.endpoint.container_id).unwrap();
    attach::detach(&t.root, &network.id, &b.endpoint.container_id).unwrap();
    assert_eq!(
        netlink::links_with_prefix(&veths).unwrap(),
        Vec::<String>::new()
    );
    let store = NetworkStore::open(&t.root).unwrap();
    assert!(store.endpoints(&network.id).unwrap().is_empty());
}

#[test]
fn a_published_port_answers_on_loopback_and_a_taken_port_is_refused() {
    let mut t = TestRoot::new("attach-publish");
    let network = t.network("pub");
    let (a_ns, a_file) = t.netns("a");
    let (_, b_file) = t.netns("b");
    // A port below the kernel's ephemeral range, so no outgoing connection
    // on the host takes it between the detach and the last attach below.
    let port = net_common::fixed_port();
    let mut web = request("pub", "web");
    web.ports = vec![publish(Some(port), 80)];
    let a = attach::attach(&t.root, &a_file, &web).unwrap();
    assert_eq!(a.endpoint.ports[0].host_port, port);
    assert!(!a.port_sockets.is_empty(), "the host port is held");

    let server = serve_once(&a_ns, 80);
    let seen = fetch(SocketAddr::new([127, 0, 0, 1].into(), port)).unwrap();
    assert_eq!(
        seen,
        network.subnets[0].gateway.to_string(),
        "host traffic is masqueraded"
    );
    server.join().unwrap();

    let table = Firewall::open(&RootTag::of(&t.root).table()).unwrap();
    let published = table.state().unwrap().ports;
    assert!(published
        .iter()
        .any(|p| p.host_port == port && p.container_ip == ipv4(&a)));

    let mut other = request("pub", "other");
    other.ports = vec![publish(Some(port), 8080)];
    let err = attach::attach(&t.root, &b_file, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("driver failed programming external connectivity on endpoint other: Bind for 0.0.0.0:{port} failed: port is already allocated")
    );
    let store = NetworkStore::open(&t.root).unwrap();
    assert_eq!(
        store.endpoints(&network.id).unwrap().len(),
        1,
        "no record of the refused one"
    );

    attach::detach(&t.root, &network.id, &a.endpoint.container_id).unwrap();
    assert!(
        table.state().unwrap().ports.is_empty(),
        "detach unpublishes"
    );
    drop(a);
    // Retried: a process another test forks at this moment holds a copy
    // of the socket until it execs.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let b = loop {
        match attach::attach(&t.root, &b_file, &other) {
            Err(NetworkError::PortAllocated { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            attached => break attached.unwrap(),
        }
    };
    assert_eq!(
        b.endpoint.ports[0].host_port, port,
        "the port is free again"
    );
    attach::detach_all(&t.root, &b.endpoint.container_id).unwrap();
}

#[test]
fn static_addresses_are_checked_and_a_second_endpoint_is_refused() {
    let mut t = TestRoot::new("attach-static");
    let network = t.network("fixed");
    let (_, a_file) = t.netns("a");
    let (_, b_file) = t.netns("b");
    let wanted = nth_address(network.subnets[0].gateway, 9);
    let mut a_req = request("fixed", "aaaa");
    a_req.ipv4 = Some(wanted);
    let a = attach::attach(&t.root, &a_file, &a_req).unwrap();
    assert_eq!(ipv4(&a), IpAddr::V4(wanted));

    let err = attach::attach(&t.root, &a_file, &a_req).unwrap_err();
    assert_eq!(
        err.to_string(),
        "endpoint with name aaaa already exists in network fixed"
    );

    let mut b_req = request("fixed", "bbbb");
    b_req.ipv4 = Some(wanted);
    let err = attach::attach(&t.root, &b_file, &b_req).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Address already in use: {wanted} on network fixed")
    );
    b_req.ipv4 = Some([192, 0, 2, 200].into());
    let err = attach::attach(&t.root, &b_file, &b_req).unwrap_err();
    assert!(
        matches!(err, NetworkError::InvalidOption { flag: "--ip", .. }),
        "{err}"
    );

    let err = attach::attach(&t.root, &b_file, &request("nosuch", "bbbb")).unwrap_err();
    assert_eq!(err.to_string(), "network nosuch not found");
    attach::detach_all(&t.root, &a.endpoint.container_id).unwrap();
}

#[test]
fn connect_adds_the_next_interface_without_a_second_default_route() {
    let mut t = TestRoot::new("attach-connect");
    let front = t.network("front");
    let back = t.network("back");
    let (ns, file) = t.netns("a");
    let first = attach::attach(&t.root, &file, &request("front", "aaaa")).unwrap();
    assert_eq!(first.endpoint.interface, "eth0");

    // A process living in the namespace, as a running container's init.
    let holder = net_common::KillOnDrop(
        std::process::Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["sleep", "60"])
            .spawn()
            .unwrap(),
    );
    net_common::wait_in_netns(holder.0.id(), &ns);
    let mut second = request("back", "aaaa");
    second.interface = String::new();
    let connected = attach::connect(&t.root, holder.0.id(), &second).unwrap();
    assert_eq!(connected.endpoint.interface, "eth1");
    let addr = ns_exec(&ns, &["ip", "-br", "addr", "show", "eth1"]);
    assert!(addr.contains(&ipv4(&connected).to_string()), "{addr}");
    let routes = ns_exec(&ns, &["ip", "route", "show", "default"]);
    assert_eq!(routes.lines().count(), 1, "{routes}");
    assert!(
        routes.contains(&format!("via {}", front.subnets[0].gateway)),
        "{routes}"
    );

    let err = attach::disconnect(&t.root, "back", "nobody", "nobody").unwrap_err();
    assert_eq!(
        err.to_string(),
        "container nobody is not connected to network back"
    );
    let id = &first.endpoint.container_id;
    attach::disconnect(&t.root, "back", id, "aaaa").unwrap();
    let gone = ns_exec(&ns, &["ip", "-br", "link"]);
    assert!(
        !gone.contains("eth1"),
        "disconnect deletes the veth pair: {gone}"
    );
    let store = NetworkStore::open(&t.root).unwrap();
    assert!(store.endpoints(&back.id).unwrap().is_empty());
    attach::detach_all(&t.root, id).unwrap();
}

#[test]
fn a_failed_veth_undoes_the_record_and_the_ports() {
    let mut t = TestRoot::new("attach-undo");
    let network = t.network("broken");
    let (ns, file) = t.netns("a");
    // The namespace already has an `eth0`: the veth pair cannot be made.
    ns_exec(&ns, &["ip", "link", "add", "eth0", "type", "bridge"]);
    let mut req = request("broken", "aaaa");
    req.ports = vec![publish(None, 80)];
    let err = attach::attach(&t.root, &file, &req).unwrap_err();
    assert!(matches!(err, NetworkError::Netlink(_)), "{err}");
    let store = NetworkStore::open(&t.root).unwrap();
    assert!(store.endpoints(&network.id).unwrap().is_empty());
    let veths = RootTag::of(&t.root).veth_prefix();
    assert!(netlink::links_with_prefix(&veths).unwrap().is_empty());
    let table = Firewall::open(&RootTag::of(&t.root).table()).unwrap();
    assert!(table.state().unwrap().ports.is_empty());
}

#[test]
fn a_stale_port_element_is_refused_and_the_veth_undone() {
    let mut t = TestRoot::new("attach-stale");
    let network = t.network("stale");
    let (ns, file) = t.netns("a");
    let (_, other_file) = t.netns("b");
    let other = attach::attach(&t.root, &other_file, &request("stale", "bbbb")).unwrap();
    let any = SocketAddr::new([0, 0, 0, 0].into(), 0);
    let port = kiln_runtime::network::ports::bind(any, Protocol::Tcp)
        .unwrap()
        .1;
    // An element no socket holds, to a live endpoint (so no sweep removes
    // it): what only a bug or a hand-made rule could leave.
    let table = Firewall::open(&RootTag::of(&t.root).table()).unwrap();
    let stale = PortRule {
        host_ip: None,
        host_port: port,
        protocol: Protocol::Tcp,
        container_ip: ipv4(&other),
        container_port: 80,
    };
    table.publish(&[stale]).unwrap();
    let mut req = request("stale", "aaaa");
    req.ports = vec![publish(Some(port), 80)];
    let err = attach::attach(&t.root, &file, &req).unwrap_err();
    assert!(matches!(err, NetworkError::Firewall(_)), "{err}");
    let store = NetworkStore::open(&t.root).unwrap();
    let left = store.endpoints(&network.id).unwrap();
    assert_eq!(
        left,
        vec![other.endpoint.clone()],
        "only the other endpoint"
    );
    let veths = RootTag::of(&t.root).veth_prefix();
    let links = netlink::links_with_prefix(&veths).unwrap();
    assert_eq!(links, vec![other.endpoint.host_veth.clone()]);
    let inside = ns_exec(&ns, &["ip", "-br", "link"]);
    assert!(!inside.contains("eth0"), "{inside}");
    assert_eq!(
        table.state().unwrap().ports,
        vec![stale],
        "only the stale one"
    );
    attach::detach_all(&t.root, &other.endpoint.container_id).unwrap();
}

#[test]
fn a_missing_bridge_is_remade_before_attaching() {
    let mut t = TestRoot::new("attach-remake");
    let network = t.network("rebooted");
    let (_, file) = t.netns("a");
    netlink::delete_link(&network.bridge).unwrap();
    let a = attach::attach(&t.root, &file, &request("rebooted", "aaaa")).unwrap();
    let bridges = netlink::links_with_prefix(&network.bridge).unwrap();
    assert_eq!(bridges, vec![network.bridge.clone()]);
    attach::detach_all(&t.root, &a.endpoint.container_id).unwrap();
}

#[test]
fn predefined_and_internal_networks_follow_docker() {
    let mut t = TestRoot::new("attach-predefined");
    manage::ensure_predefined(&t.root).unwrap();
    let (ns, file) = t.netns("a");
    for name in ["host", "none"] {
        let err = attach::attach(&t.root, &file, &request(name, "aaaa")).unwrap_err();
        assert!(
            matches!(
                err,
                NetworkError::InvalidOption {
                    flag: "--network",
                    ..
                }
            ),
            "{err}"
        );
    }
    let mut fixed = request("bridge", "aaaa");
    fixed.ipv4 = Some([10, 200, 0, 9].into());
    let err = attach::attach(&t.root, &file, &fixed).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("user specified IP address is supported on user defined networks only"),
        "{err}"
    );
    let on_bridge = attach::attach(&t.root, &file, &request("bridge", "aaaa")).unwrap();
    attach::detach_all(&t.root, &on_bridge.endpoint.container_id).unwrap();

    let internal = manage::create(
        &t.root,
        &CreateRequest {
            name: "inside".into(),
            internal: true,
            ..CreateRequest::default()
        },
    )
    .unwrap();
    let mut req = request("inside", "bbbb");
    req.ports = vec![publish(None, 80)];
    let b = attach::attach(&t.root, &file, &req).unwrap();
    assert!(b.endpoint.ports.is_empty(), "no ports on internal networks");
    assert!(b.port_sockets.is_empty());
    let routes = ns_exec(&ns, &["ip", "route", "show", "default"]);
    assert!(routes.trim().is_empty(), "no default route: {routes}");
    attach::detach(&t.root, &internal.id, &b.endpoint.container_id).unwrap();
}

fn bits(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4),
        IpAddr::V6(_) => panic!("IPv4 expected"),
    }
}

fn nth_address(gateway: IpAddr, n: u32) -> std::net::Ipv4Addr {
    (bits(gateway) + n).into()
}

fn mac_of(ip: IpAddr) -> String {
    let b = bits(ip).to_be_bytes();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

#[test]
fn ipv6_networks_give_both_families_and_publish_both() {
    let mut t = TestRoot::new("attach-ipv6");
    let request6 = CreateRequest {
        name: "six".into(),
        ipv6: true,
        ..CreateRequest::default()
    };
    let network = manage::create(&t.root, &request6).unwrap();
    let (ns, file) = t.netns("a");
    let mut req = request("six", "aaaa");
    req.ports = vec![publish(None, 80)];
    let a = attach::attach(&t.root, &file, &req).unwrap();
    let (v6, len) = a.endpoint.ipv6.expect("an IPv6 address");
    let addr = ns_exec(&ns, &["ip", "-br", "-6", "addr", "show", "eth0"]);
    assert!(addr.contains(&format!("{v6}/{len}")), "{addr}");
    let routes = ns_exec(&ns, &["ip", "-6", "route", "show", "default"]);
    let gateway6 = network
        .subnets
        .iter()
        .find(|s| s.gateway.is_ipv6())
        .unwrap()
        .gateway;
    assert!(routes.contains(&format!("via {gateway6}")), "{routes}");
    let table = Firewall::open(&RootTag::of(&t.root).table()).unwrap();
    let mut targets: Vec<IpAddr> = table
        .state()
        .unwrap()
        .ports
        .iter()
        .map(|p| p.container_ip)
        .collect();
    targets.sort();
    assert_eq!(targets, vec![ipv4(&a), v6], "0.0.0.0 to IPv4, [::] to IPv6");
    attach::detach_all(&t.root, &a.endpoint.container_id).unwrap();
    assert!(table.state().unwrap().ports.is_empty());
}

#[test]
fn a_published_udp_port_answers_on_loopback() {
    let mut t = TestRoot::new("attach-udp");
    t.network("udp");
    let (ns, file) = t.netns("a");
    let mut req = request("udp", "aaaa");
    req.ports = vec![PortMapping {
        protocol: Protocol::Udp,
        ..publish(None, 5353)
    }];
    let a = attach::attach(&t.root, &file, &req).unwrap();
    let port = a.endpoint.ports[0].host_port;
    let server = net_common::echo_udp_once(&ns, 5353);
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut reply = [0u8; 64];
    // UDP may be dropped while the path warms up: a few tries, bounded.
    let got = (0..5).find_map(|_| {
        client.send_to(b"ping", ("127.0.0.1", port)).unwrap();
        client.recv(&mut reply).ok()
    });
    let n = got.expect("an answer through the published UDP port");
    assert_eq!(&reply[..n], b"ping");
    server.join().unwrap();
    attach::detach_all(&t.root, &a.endpoint.container_id).unwrap();
}

#[test]
fn release_sets_the_veth_down_and_leaves_it_to_the_namespace() {
    let mut t = TestRoot::new("attach-release");
    let network = t.network("rel");
    let (a_ns, a_file) = t.netns("a");
    let (b_ns, b_file) = t.netns("b");
    let mut web = request("rel", "aaaa");
    web.ports = vec![publish(None, 80)];
    let a = attach::attach(&t.root, &a_file, &web).unwrap();
    let b = attach::attach(&t.root, &b_file, &request("rel", "bbbb")).unwrap();
    let a_ip = ipv4(&a);

    attach::release_all(&t.root, &a.endpoint.container_id).unwrap();
    let store = NetworkStore::open(&t.root).unwrap();
    assert_eq!(
        store.endpoints(&network.id).unwrap(),
        vec![b.endpoint.clone()]
    );
    let table = Firewall::open(&RootTag::of(&t.root).table()).unwrap();
    assert!(table.state().unwrap().ports.is_empty(), "ports unpublished");
    let state = netlink::link_state(&a.endpoint.host_veth).unwrap();
    assert!(
        state.as_ref().is_some_and(|s| !s.up),
        "left, down: {state:?}"
    );

    // The released address goes to a new container at once and works,
    // while the old pair still exists.
    let (c_ns, c_file) = t.netns("c");
    let c = attach::attach(&t.root, &c_file, &request("rel", "cccc")).unwrap();
    assert_eq!(ipv4(&c), a_ip, "lowest free address again");
    let server = serve_once(&c_ns, 80);
    let seen = fetch_from(&b_ns, SocketAddr::new(a_ip, 80)).unwrap();
    assert_eq!(seen, ipv4(&b).to_string());
    server.join().unwrap();

    // The namespace goes: the kernel removes the pair.
    drop(a_file);
    net_common::unmount(&a_ns);
    net_common::wait_until("the kernel removes the old pair", || {
        netlink::link_state(&a.endpoint.host_veth)
            .unwrap()
            .is_none()
    });
    attach::detach_all(&t.root, &b.endpoint.container_id).unwrap();
    attach::detach_all(&t.root, &c.endpoint.container_id).unwrap();
}
