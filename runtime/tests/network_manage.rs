//! Real-kernel tests of the network verbs (run as root): `create`, `remove`,
//! `prune`, the predefined networks, `sweep` after a holder died, and
//! `reset`. Every test has its own kiln root, hence its own tag: its links
//! are `kb<tag>…`/`kv<tag>…` and its nft table `inet kiln_<tag>`; subnets
//! come from IPAM (serialised across roots) or from 10.200.24x.0/24; a guard
//! resets the root when the test ends, even when it fails.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_parser::values::Protocol;
use kiln_runtime::container::process;
use kiln_runtime::network::firewall::{self, Firewall, NetworkRules, PortRule};
use kiln_runtime::network::manage::{self, CreateRequest, SubnetRequest};
use kiln_runtime::network::names::RootTag;
use kiln_runtime::network::netlink::{self, BridgeSpec};
use kiln_runtime::network::record::{EndpointRecord, NetworkStore, PublishedPort};
use kiln_runtime::network::sweep;
use kiln_runtime::network::NetworkError;

/// A kiln root whose networking state is reset on drop.
struct Root {
    dir: tempfile::TempDir,
    tag: RootTag,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let tag = RootTag::of(dir.path());
        Root { dir, tag }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn store(&self) -> NetworkStore {
        NetworkStore::open(self.path()).unwrap()
    }

    /// The root's tagged links now.
    fn links(&self) -> Vec<String> {
        let mut links = netlink::links_with_prefix("k").unwrap();
        links.retain(|l| self.tag.owns_link(l));
        links.sort();
        links
    }

    /// Whether nft has the root's table.
    fn has_table(&self) -> bool {
        let out = Command::new("nft")
            .args(["list", "tables"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("inet {}", self.tag.table()))
    }

    /// The bridges with rules in the root's table.
    fn rule_bridges(&self) -> Vec<String> {
        Firewall::open(&self.tag.table())
            .unwrap()
            .state()
            .unwrap()
            .bridges
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = manage::reset(self.dir.path());
    }
}

fn request(name: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        ..CreateRequest::default()
    }
}

fn link_exists(name: &str) -> bool {
    PathBuf::from("/sys/class/net").join(name).exists()
}

/// A (pid, start time) of a process that has exited.
fn dead_holder() -> (u32, u64) {
    let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = child.id();
    let start = process::start_time(pid).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    (pid, start)
}

/// This test process as a live holder.
fn live_holder() -> (u32, u64) {
    let pid = std::process::id();
    (pid, process::start_time(pid).unwrap())
}

fn endpoint(
    root: &Root,
    network_id: &str,
    name: &str,
    ip: &str,
    holder: (u32, u64),
) -> EndpointRecord {
    let container_id = format!("{name}{}", "0".repeat(64 - name.len()));
    EndpointRecord {
        network_id: network_id.into(),
        container_id: container_id.clone(),
        container_name: name.into(),
        endpoint_id: container_id.clone(),
        interface: "eth0".into(),
        host_veth: root
            .tag
            .host_veth_name(&format!("{:x}", name.len() * 4096 + 0xabc)),
        mac: "02:42:0a:c8:00:02".into(),
        ipv4: Some((ip.parse().unwrap(), 24)),
        ipv6: None,
        aliases: vec![],
        ports: vec![],
        dns_servers: vec![],
        holder_pid: holder.0,
        holder_start: holder.1,
    }
}

#[test]
fn create_makes_bridge_rules_and_record_and_remove_undoes_them() {
    let root = Root::new();
    let mut req = request("front");
    req.subnets = vec![SubnetRequest {
        subnet: "10.200.240.0/24".into(),
        gateway: None,
        ip_range: None,
    }];
    req.labels = BTreeMap::from([("tier".to_string(), "web".to_string())]);
    let network = manage::create(root.path(), &req).unwrap();
    assert_eq!(network.bridge, root.tag.bridge_name(1));
    assert_eq!(network.subnets[0].gateway.to_string(), "10.200.240.1");
    assert!(link_exists(&network.bridge));
    let addresses = netlink::addresses(&network.bridge).unwrap();
    assert!(
        addresses.contains(&("10.200.240.1".parse().unwrap(), 24)),
        "{addresses:?}"
    );
    assert!(root.rule_bridges().contains(&network.bridge));
    assert_eq!(root.store().find("front").unwrap(), network);
    assert_eq!(
        manage::inspect(root.path(), &network.id[..10])
            .unwrap()
            .network,
        network
    );

    let removed = manage::remove(root.path(), "front").unwrap();
    assert_eq!(removed.id, network.id);
    assert!(!link_exists(&network.bridge));
    assert!(!root.rule_bridges().contains(&network.bridge));
    assert!(matches!(
        root.store().find("front"),
        Err(NetworkError::NotFound(_))
    ));
    let err = manage::remove(root.path(), "front").unwrap_err();
    assert_eq!(err.to_string(), "network front not found");
}

#[test]
fn subnets_chosen_by_ipam_skip_routes_and_other_networks() {
    let root = Root::new();
    let a = manage::create(root.path(), &request("a")).unwrap();
    let b = manage::create(root.path(), &request("b")).unwrap();
    let prefix = |n: &kiln_runtime::network::record::NetworkRecord| {
        kiln_runtime::network::ipam::Prefix::parse(&n.subnets[0].subnet, "--subnet").unwrap()
    };
    assert!(!prefix(&a).overlaps(&prefix(&b)));
    // Neither overlaps a prefix the host routed through another link.
    for route in netlink::main_routes().unwrap() {
        if route.is_default() {
            continue;
        }
        let routed = kiln_runtime::network::ipam::Prefix::new(route.destination, route.prefix);
        for n in [&a, &b] {
            if prefix(n).overlaps(&routed) {
                assert!(
                    netlink::addresses(&n.bridge)
                        .unwrap()
                        .iter()
                        .any(|(ip, _)| routed.contains(*ip)),
                    "{} overlaps {routed:?}, routed elsewhere",
                    n.subnets[0].subnet
                );
            }
        }
    }
    assert_eq!(root.links(), vec![a.bridge.clone(), b.bridge.clone()]);
}

#[test]
fn predefined_networks_exist_once_and_cannot_be_removed() {
    let root = Root::new();
    let bridge = manage::ensure_predefined(root.path()).unwrap();
    assert_eq!(manage::ensure_predefined(root.path()).unwrap(), bridge);
    assert_eq!(bridge.bridge, root.tag.bridge_name(0));
    assert!(!bridge.dns);
    assert!(link_exists(&bridge.bridge));
    let names: Vec<String> = manage::list(root.path())
        .unwrap()
        .into_iter()
        .map(|v| format!("{} {}", v.network.name, v.network.driver))
        .collect();
    assert_eq!(names, ["bridge bridge", "host host", "none null"]);
    for name in ["bridge", "host", "none"] {
        let err = manage::remove(root.path(), name).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{name} is a pre-defined network and cannot be removed")
        );
        let err = manage::create(root.path(), &request(name)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("network with name {name} already exists")
        );
    }
    // A missing bridge (after a reboot) is made again.
    netlink::delete_link(&bridge.bridge).unwrap();
    manage::ensure_predefined(root.path()).unwrap();
    assert!(link_exists(&bridge.bridge));
    assert_eq!(
        manage::prune(root.path(), &|_| false).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn bad_creates_are_refused_and_leave_nothing() {
    let root = Root::new();
    let mut req = request("one");
    req.subnets = vec![SubnetRequest {
        subnet: "10.200.241.0/24".into(),
        gateway: None,
        ip_range: None,
    }];
    manage::create(root.path(), &req).unwrap();
    let links = root.links();
    let refused = [
        (request("one"), "network with name one already exists"),
        (
            CreateRequest {
                subnets: vec![SubnetRequest {
                    subnet: "10.200.241.128/25".into(),
                    ..SubnetRequest::default()
                }],
                ..request("two")
            },
            "Pool overlaps with other one on this address space",
        ),
        (
            CreateRequest {
                driver: "host".into(),
                ..request("two")
            },
            "only one instance of \"host\" network is allowed",
        ),
        (
            CreateRequest {
                options: BTreeMap::from([(
                    "com.docker.network.bridge.name".to_string(),
                    "lo".to_string(),
                )]),
                ..request("two")
            },
            "invalid -o com.docker.network.bridge.name \"lo\": a network interface of this name exists already",
        ),
        (request("bad name"), "invalid network name \"bad name\""),
    ];
    for (req, message) in refused {
        let err = manage::create(root.path(), &req).unwrap_err();
        assert!(err.to_string().starts_with(message), "{err}");
    }
    assert!(link_exists("lo"));
    assert_eq!(root.links(), links);
    let names: Vec<String> = root
        .store()
        .networks()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["one"]);
}

#[test]
fn a_network_in_use_is_refused_until_its_holder_is_gone() {
    let root = Root::new();
    let network = manage::create(root.path(), &request("busy")).unwrap();
    let gw: IpAddr = network.subnets[0].gateway;
    let ip = match gw {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + 1).into()),
        IpAddr::V6(_) => unreachable!(),
    };
    let store = root.store();
    store
        .put_endpoint(&endpoint(
            &root,
            &network.id,
            "web",
            &ip.to_string(),
            live_holder(),
        ))
        .unwrap();
    let err = manage::remove(root.path(), "busy").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "error while removing network: network busy id {} has active endpoints",
            network.id
        )
    );
    assert!(manage::prune(root.path(), &|_| false).unwrap().is_empty());
    assert_eq!(
        manage::inspect(root.path(), "busy")
            .unwrap()
            .endpoints
            .len(),
        1
    );

    // The same endpoint held by a process that has exited is swept.
    let dead = endpoint(&root, &network.id, "web", &ip.to_string(), dead_holder());
    store.put_endpoint(&dead).unwrap();
    assert!(manage::inspect(root.path(), "busy")
        .unwrap()
        .endpoints
        .is_empty());
    manage::remove(root.path(), "busy").unwrap();
    // Only the default `bridge` (made by `inspect`) is left.
    assert_eq!(root.links(), [root.tag.bridge_name(0)]);
}

#[test]
fn sweep_removes_a_dead_endpoints_ports_veth_and_record() {
    let root = Root::new();
    let network = manage::create(root.path(), &request("swept")).unwrap();
    let mut dead = endpoint(&root, &network.id, "gone", "0.0.0.0", dead_holder());
    let ip = match network.subnets[0].gateway {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + 1).into()),
        IpAddr::V6(_) => unreachable!(),
    };
    dead.ipv4 = Some((ip, 24));
    dead.ports = vec![PublishedPort {
        host_ip: None,
        host_port: 40000 + (std::process::id() % 20000) as u16,
        container_port: 80,
        protocol: Protocol::Tcp,
    }];
    // As attach does: the record first, then the link and the port element.
    root.store().put_endpoint(&dead).unwrap();
    let out = Command::new("ip")
        .args(["link", "add", &dead.host_veth, "type", "bridge"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let firewall = Firewall::open(&root.tag.table()).unwrap();
    firewall.publish(&sweep::port_rules(&dead)).unwrap();
    assert_eq!(firewall.state().unwrap().ports.len(), 1);

    let report = sweep::sweep(root.path()).unwrap();
    assert_eq!(report.endpoints, ["swept/gone"]);
    assert!(!link_exists(&dead.host_veth));
    assert!(firewall.state().unwrap().ports.is_empty());
    assert!(root.store().endpoints(&network.id).unwrap().is_empty());
    // The freed port can be published again (no stale element).
    firewall.publish(&sweep::port_rules(&dead)).unwrap();
    firewall.unpublish(&sweep::port_rules(&dead)).unwrap();
    // Nothing stale: the next sweep finds nothing.
    assert!(sweep::sweep(root.path()).unwrap().is_empty());
}

#[test]
fn sweep_removes_links_rules_and_shim_rules_no_record_names() {
    let root = Root::new();
    manage::create(root.path(), &request("a")).unwrap();
    // Objects of this root that no record names, as if records were lost.
    let stray = root.tag.bridge_name(77);
    netlink::ensure_bridge(&BridgeSpec {
        name: stray.clone(),
        mtu: 1500,
        addresses: vec![],
    })
    .unwrap();
    Firewall::open(&root.tag.table())
        .unwrap()
        .add_network(&NetworkRules {
            bridge: stray.clone(),
            subnets: vec![("10.200.242.0".parse().unwrap(), 24)],
            internal: false,
        })
        .unwrap();
    let comment = root.tag.comment(&"d".repeat(64));
    assert!(firewall::shim::add_rules("iptables", &stray, &comment).unwrap());
    // `create` left the sweep marked clean: the next sweep is cheap and
    // sees nothing. A holder's death makes the next one complete.
    assert!(sweep::sweep(root.path()).unwrap().is_empty());
    let network = root.store().find("a").unwrap();
    let dead = endpoint(&root, &network.id, "gone", "10.200.243.6", dead_holder());
    root.store().put_endpoint(&dead).unwrap();
    let report = sweep::sweep(root.path()).unwrap();
    assert_eq!(report.endpoints, ["a/gone"]);
    assert_eq!(report.links, [stray.as_str()]);
    assert_eq!(report.rules, [stray.as_str()]);
    assert_eq!(report.shim_rules, [comment.as_str()]);
    assert!(!link_exists(&stray));
    assert!(!root.rule_bridges().contains(&stray));
    assert!(firewall::forward_shim_comments(&root.tag.comment_prefix())
        .unwrap()
        .is_empty());
    assert_eq!(root.links().len(), 1);
    // Nothing stale and nothing changed: the next sweep finds nothing
    // (and asks nothing of the kernel). A holder's death makes the next
    // one complete again, links included.
    assert!(sweep::sweep(root.path()).unwrap().is_empty());
    netlink::ensure_bridge(&BridgeSpec {
        name: stray.clone(),
        mtu: 1500,
        addresses: vec![],
    })
    .unwrap();
    let dead = endpoint(&root, &network.id, "gone", "10.200.243.7", dead_holder());
    root.store().put_endpoint(&dead).unwrap();
    let report = sweep::sweep(root.path()).unwrap();
    assert_eq!(report.endpoints, ["a/gone"]);
    assert_eq!(report.links, [stray.as_str()]);
    assert!(!link_exists(&stray));
}

#[test]
fn prune_removes_unused_user_networks_that_are_not_kept() {
    let root = Root::new();
    manage::ensure_predefined(root.path()).unwrap();
    let unused = manage::create(root.path(), &request("unused")).unwrap();
    let used = manage::create(root.path(), &request("used")).unwrap();
    let kept = manage::create(
        root.path(),
        &CreateRequest {
            labels: BTreeMap::from([("keep".to_string(), "1".to_string())]),
            ..request("kept")
        },
    )
    .unwrap();
    let ip = match used.subnets[0].gateway {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + 1).into()),
        IpAddr::V6(_) => unreachable!(),
    };
    root.store()
        .put_endpoint(&endpoint(
            &root,
            &used.id,
            "app",
            &ip.to_string(),
            live_holder(),
        ))
        .unwrap();
    let removed = manage::prune(root.path(), &|n| n.labels.contains_key("keep")).unwrap();
    assert_eq!(removed, ["unused"]);
    assert!(!link_exists(&unused.bridge));
    assert!(link_exists(&used.bridge) && link_exists(&kept.bridge));
    let names: Vec<String> = root
        .store()
        .networks()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["bridge", "host", "kept", "none", "used"]);
}

#[test]
fn reset_removes_everything_and_is_free_on_a_fresh_root() {
    let fresh = Root::new();
    manage::reset(fresh.path()).unwrap();
    assert!(!fresh.path().join("networks").exists());

    let root = Root::new();
    manage::ensure_predefined(root.path()).unwrap();
    let network = manage::create(root.path(), &request("x")).unwrap();
    let comment = root.tag.comment(&network.id);
    assert!(firewall::shim::add_rules("iptables", &network.bridge, &comment).unwrap());
    assert_eq!(root.links().len(), 2);
    assert!(root.has_table());
    manage::reset(root.path()).unwrap();
    assert!(root.links().is_empty());
    assert!(!root.has_table());
    assert!(firewall::forward_shim_comments(&root.tag.comment_prefix())
        .unwrap()
        .is_empty());
    assert!(root.store().networks().unwrap().is_empty());
    // Reset twice is fine.
    manage::reset(root.path()).unwrap();
}

#[test]
fn user_named_bridges_are_made_recorded_and_removed() {
    let root = Root::new();
    let name = format!("kt{}", &root.tag.as_str()[..6]);
    let network = manage::create(
        root.path(),
        &CreateRequest {
            options: BTreeMap::from([
                ("com.docker.network.bridge.name".to_string(), name.clone()),
                (
                    "com.docker.network.driver.mtu".to_string(),
                    "1280".to_string(),
                ),
            ]),
            ..request("named")
        },
    )
    .unwrap();
    assert_eq!(network.bridge, name);
    assert_eq!(network.mtu, 1280);
    assert!(link_exists(&name));
    let mtu = std::fs::read_to_string(format!("/sys/class/net/{name}/mtu")).unwrap();
    assert_eq!(mtu.trim(), "1280");
    manage::remove(root.path(), "named").unwrap();
    assert!(!link_exists(&name));
}

#[test]
fn a_root_port_rule_for_the_dead_is_not_left_for_the_living() {
    // The map design: a stale element would make re-publishing fail loudly.
    let root = Root::new();
    let network = manage::create(root.path(), &request("p")).unwrap();
    let ip = match network.subnets[0].gateway {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + 1).into()),
        IpAddr::V6(_) => unreachable!(),
    };
    let rule = PortRule {
        host_ip: None,
        host_port: 40000 + (std::process::id() % 20000) as u16 + 1,
        protocol: Protocol::Udp,
        container_ip: ip,
        container_port: 53,
    };
    let firewall = Firewall::open(&root.tag.table()).unwrap();
    firewall.publish(&[rule]).unwrap();
    assert!(firewall.publish(&[rule]).is_err());
    // No endpoint owns it and a holder died elsewhere: the full sweep drops it.
    let dead = endpoint(&root, &network.id, "other", "10.200.243.9", dead_holder());
    root.store().put_endpoint(&dead).unwrap();
    let report = sweep::sweep(root.path()).unwrap();
    assert_eq!(report.ports, 1);
    firewall.publish(&[rule]).unwrap();
    firewall.unpublish(&[rule]).unwrap();
}

#[test]
fn roots_creating_networks_at_once_get_different_subnets() {
    let roots: Vec<Root> = (0..3).map(|_| Root::new()).collect();
    let subnets: Vec<kiln_runtime::network::ipam::Prefix> = std::thread::scope(|s| {
        let handles: Vec<_> = roots
            .iter()
            .map(|r| s.spawn(move || manage::create(r.path(), &request("par")).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let network = h.join().unwrap();
                kiln_runtime::network::ipam::Prefix::parse(&network.subnets[0].subnet, "--subnet")
                    .unwrap()
            })
            .collect()
    });
    for (i, a) in subnets.iter().enumerate() {
        for b in &subnets[i + 1..] {
            assert!(!a.overlaps(b), "{a} and {b} overlap");
        }
    }
}

#[test]
fn a_complete_sweep_remakes_a_missing_bridge_and_its_rules() {
    let root = Root::new();
    let network = manage::create(root.path(), &request("lost")).unwrap();
    sweep::sweep(root.path()).unwrap();
    // As after a reboot: the bridge and the table's rules are gone.
    netlink::delete_link(&network.bridge).unwrap();
    Firewall::open(&root.tag.table())
        .unwrap()
        .remove_network(&network.bridge)
        .unwrap();
    // A holder's death makes the next sweep complete (as a new boot does).
    let dead = endpoint(&root, &network.id, "gone", "10.200.244.9", dead_holder());
    root.store().put_endpoint(&dead).unwrap();
    let report = sweep::sweep(root.path()).unwrap();
    assert_eq!(report.remade, ["lost"]);
    assert!(link_exists(&network.bridge));
    assert!(root.rule_bridges().contains(&network.bridge));
    assert!(sweep::sweep(root.path()).unwrap().is_empty());
    // Rules lost while the bridge stayed (a crash inside `create`).
    Firewall::open(&root.tag.table())
        .unwrap()
        .remove_network(&network.bridge)
        .unwrap();
    let dead = endpoint(&root, &network.id, "gone2", "10.200.244.10", dead_holder());
    root.store().put_endpoint(&dead).unwrap();
    assert_eq!(sweep::sweep(root.path()).unwrap().remade, ["lost"]);
    assert!(root.rule_bridges().contains(&network.bridge));
}
