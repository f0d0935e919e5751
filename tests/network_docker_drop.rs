//! End-to-end: kiln's networks beside a Docker daemon (issue 13, item 6).
//! Docker sets the iptables `FORWARD` policy to DROP, which with this
//! kernel's built-in bridge netfilter drops even traffic between two
//! containers on one kiln bridge. The one test here sets that policy (in
//! both iptables backends present) with a guard that restores the old one,
//! checks container-to-container, a published port from another host and
//! outbound NAT, then that `network rm` takes kiln's tagged rules away.
//!
//! One test in its own binary: the policy is global to the machine, so it
//! is held for as short a time as possible and by nothing else here.

mod support;

#[allow(dead_code)] // the container tests' fixture; only part of it is used here
#[path = "cli_containers/fixture.rs"]
mod fixture;

#[allow(dead_code)] // the network suites' fixture; only part of it is used here
#[path = "network_e2e/world.rs"]
mod world;

use support::net::{forward_rules_with, free_port, ForwardDrop, OtherHost};
use world::{unmapped, World};

#[test]
fn networks_work_with_dockers_forward_drop_policy_and_leave_no_rules() {
    let mut other = OtherHost::new();
    other.serve_peer(9000);
    let w = World::new("docker-drop");
    let policy = ForwardDrop::set();

    let shop = w.network("shop", &[]);
    let comment = w.tag.comment(&shop);
    let port = free_port();
    let spec = format!("{port}:80");
    let dns = ["--dns", "127.0.0.1"];
    w.httpd("api", &["--network", "shop", "-p", &spec, dns[0], dns[1]]);
    w.sleeper("client", &["--network", "shop", dns[0], dns[1]]);
    let rules = forward_rules_with(&comment);
    assert!(
        !rules.is_empty(),
        "no kiln rules beside DROP in {:?}",
        policy.tools()
    );

    // Container to container on one bridge, by name and by address.
    let api_ip = w.ip_of("api", "shop");
    for target in ["api".to_string(), api_ip.to_string()] {
        let (out, err, code) =
            w.exec_sh("client", &format!("timeout 10 wget -qO- http://{target}/"));
        assert_eq!(
            (code, out.as_str()),
            (Some(0), "hello from api\n"),
            "{target}: {err}"
        );
    }
    // The published port from another host, its address kept.
    let via = other.host_ip.to_string();
    let seen = other.client("http", &via, port, "/cgi-bin/peer");
    assert_eq!(seen.map(unmapped), Ok(format!("peer={}\n", other.ip)));
    // Outbound NAT to the other host.
    let probe = format!("timeout 10 nc -w 3 {} 9000 </dev/null", other.ip);
    let (out, err, code) = w.exec_sh("client", &probe);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, format!("tcp peer={}\n", other.host_ip));

    // Removing the containers and the network takes the network's rules
    // away (the default `bridge` network, made by the first `run` as
    // Docker's daemon makes docker0, keeps its own until `finish` resets the
    // root and checks that no rule of the root is left).
    for name in ["api", "client"] {
        w.ok(&["rm", "-f", name]);
    }
    w.rm_network("shop");
    let left = forward_rules_with(&comment);
    assert!(left.is_empty(), "rules left after network rm: {left:?}");
    w.finish();
    drop(policy);
}
