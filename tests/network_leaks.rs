//! End-to-end: kiln's networking leaks nothing (issue 13, item 7). 100
//! `run --rm --network NET -p 80` and 20 network create/rm, then `kill -9` of
//! a container's monitor (and of its container) and of a foreground `kiln
//! run` while its container runs; one kiln command sweeps what the dead
//! monitor left; once the containers and the network are removed, the root
//! has no link, nft element or bridge rule, iptables rule or address lease
//! (endpoint record) left.

mod support;

#[allow(dead_code)] // the container tests' fixture; only part of it is used here
#[path = "cli_containers/fixture.rs"]
mod fixture;

#[allow(dead_code)] // the network suites' fixture; only part of it is used here
#[path = "network_e2e/world.rs"]
mod world;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fixture::IMG;
use support::net::{kill9, links_with_prefix, nft_leftovers};
use world::World;

/// The endpoint records (address leases) of network `id`.
fn leases(w: &World, id: &str) -> Vec<String> {
    let dir = w.r.root.join("networks").join(id).join("endpoints");
    match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The container's `MonitorPid` from its state file.
fn monitor_pid(w: &World, id: &str) -> u32 {
    let path = w.r.root.join("containers").join(id).join("state.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["MonitorPid"]
        .as_u64()
        .filter(|p| *p > 0)
        .expect("MonitorPid") as u32
}

#[test]
fn runs_network_churn_and_kill_9_leave_nothing_behind() {
    let w = World::new("leaks");
    let net = w.network("leaky", &[]);
    for i in 0..100 {
        let out = w.run(&["run", "--rm", "--network", "leaky", "-p", "80", IMG, "true"]);
        assert!(out.status.success(), "run {i}: {:?}", out);
    }
    assert_eq!(leases(&w, &net), Vec::<String>::new());
    for i in 0..20 {
        let name = format!("churn{i}");
        w.network(&name, &[]);
        w.rm_network(&name);
    }

    // kill -9 of a monitor, then of its container: nobody cleaned up.
    let victim = w.sleeper("victim", &["--network", "leaky", "-p", "80"]);
    let (monitor, init) = (monitor_pid(&w, &victim), w.pid_of("victim"));
    kill9(monitor);
    kill9(init);
    // kill -9 of a foreground `kiln run` while its container runs.
    let mut fg = w.r.cmd();
    fg.args([
        "run",
        "--rm",
        "--name",
        "fg",
        "--network",
        "leaky",
        "-p",
        "80",
        IMG,
        "sleep",
        "600",
    ]);
    let mut fg = fg
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while w.r.inspect("{{.State.Status}}", "fg") != "running" {
        assert!(Instant::now() < end, "fg never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    kill9(fg.id());
    let _ = fg.wait();

    // One networking command sweeps the dead monitor's endpoint; fg's
    // container still runs under its own monitor and keeps its endpoint.
    w.ok(&["network", "ls"]);
    let left = leases(&w, &net);
    assert!(
        !left.iter().any(|l| l.starts_with(&victim)),
        "victim's lease: {left:?}"
    );

    w.ok(&["rm", "-f", "victim", "fg"]);
    w.rm_network("leaky");
    w.ok(&["network", "ls"]);
    assert_eq!(leases(&w, &net), Vec::<String>::new());
    let nft = nft_leftovers(&w.tag.table(), &w.tag.bridge_prefix());
    assert!(nft.is_empty(), "nft left: {nft:?}");
    let veths = links_with_prefix(&w.tag.veth_prefix());
    assert!(veths.is_empty(), "{veths:?}");
    w.finish();
}
