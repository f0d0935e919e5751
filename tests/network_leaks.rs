//! Networking leaves nothing behind (issue 13, "Nothing leaks"), on the real
//! kernel with the real binary: 100 `kiln run --rm --network NET -p …`
//! (fixed and random host ports, TCP and UDP) interleaved with 20
//! `network create`/`rm`; mid-way a foreground `kiln run` (its own monitor)
//! and a detached container's monitor are killed with SIGKILL while attached
//! and publishing. After one networking command (`network ls`, which
//! sweeps), nothing of theirs is left: no host veth of the root, no port
//! element in the root's nft table, no endpoint record (the address leases);
//! their host ports are free again. After `rm -f` of the orphaned
//! containers and `network rm` of every network: no link of the root at
//! all, no bridge and no per-network rule in the table, no `kiln:<tag>`
//! iptables comment on either iptables backend.
//!
//! Kernel state is read with the system's tools (`ip`, `nft`,
//! `iptables-save`), not with kiln's own code; only the names come from
//! `kiln_runtime::network::names`.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use kiln_runtime::network::manage;
use kiln_runtime::network::names::RootTag;
use support::census::{root_with_image, IMAGE};
use support::{kiln, kiln_cmd, ok_as};

const NET: &str = "leaknet";

#[test]
fn runs_network_churn_and_kill_9_leave_nothing() {
    let (_scratch, root) = root_with_image("net-leaks");
    let tag = RootTag::of(&root);
    let _cleanup = Cleanup(root.clone());
    let net_id = ok_as(kiln(&root, &["network", "create", NET]), "network create");
    let net_id = net_id.trim().to_string();
    let bridge = bridge_of(&root, NET);
    assert!(bridge.starts_with(&tag.bridge_prefix()), "{bridge}");

    let mut orphans = Vec::new();
    let mut churned = Vec::new();
    for i in 0..100 {
        run_rm_published(&root, i);
        if i % 5 == 4 {
            let name = format!("churn{i}");
            ok_as(kiln(&root, &["network", "create", &name]), "churn create");
            churned.push(bridge_of(&root, &name));
            ok_as(kiln(&root, &["network", "rm", &name]), "churn rm");
        }
        if i == 49 {
            orphans.push(killed_foreground_run(&root));
            orphans.push(killed_detached_monitor(&root));
        }
    }
    ok_as(kiln(&root, &["network", "ls"]), "network ls (sweeps)");

    // Veth pairs go with their namespaces, torn down by the kernel
    // asynchronously after the container's last process: bounded wait.
    let veths = support::net::links_left_after(&tag.veth_prefix(), Duration::from_secs(10));
    assert!(veths.is_empty(), "host veths left: {veths:?}");
    let table = nft_table(&tag.table());
    for map in ["pub4", "pub4_ip", "pub6", "pub6_ip"] {
        let block = map_block(&table, map);
        assert!(!block.contains("elements"), "port elements left:\n{block}");
    }
    assert_eq!(churned.len(), 20);
    // Positive control of the patterns below: NET's bridge is named so.
    let net_named =
        table.contains(&format!("\"{bridge}\"")) && table.contains(&format!("_{bridge}_"));
    assert!(net_named, "NET's bridge {bridge} not found in:\n{table}");
    for gone in &churned {
        // Bridge names are reused by later networks: only NET's may be left.
        if *gone != bridge {
            let named = [
                format!("\"{gone}\""),
                format!("_{gone}_"),
                format!(" {gone} "),
            ];
            let left = named.iter().any(|n| table.contains(n.as_str()));
            assert!(!left, "rules of {gone} left:\n{table}");
            let links = links_with_prefix(gone);
            assert!(!links.contains(gone), "bridge {gone} left");
        }
    }
    let records = endpoint_records(&root);
    assert!(records.is_empty(), "endpoint records left: {records:?}");
    for (_, port) in &orphans {
        assert!(
            port_free(*port),
            "port {port} of a killed holder is still bound"
        );
    }

    for (id, _) in &orphans {
        ok_as(
            kiln(&root, &["rm", "-f", id]),
            "rm -f of an orphaned container",
        );
    }
    ok_as(kiln(&root, &["network", "rm", NET]), "network rm");
    ok_as(kiln(&root, &["network", "ls"]), "network ls");
    // The default `bridge` network (made by the first `run`, as Docker's
    // daemon makes docker0) stays until the root is reset.
    let default = bridge_of(&root, "bridge");
    let _ = support::net::links_left_after(&tag.veth_prefix(), Duration::from_secs(10));
    let links: Vec<String> = [tag.veth_prefix(), tag.bridge_prefix()]
        .iter()
        .flat_map(|p| links_with_prefix(p))
        .filter(|l| *l != default)
        .collect();
    assert!(links.is_empty(), "links left after network rm: {links:?}");
    let table = nft_table(&tag.table());
    assert!(!table.contains(&bridge), "rules of {bridge} left:\n{table}");
    let comments = iptables_comments(&tag.comment(&net_id));
    assert!(
        comments.is_empty(),
        "iptables shim rules left: {comments:?}"
    );

    // Resetting the root's networking takes the default bridge too.
    manage::reset(&root).expect("reset the root's networking");
    let links: Vec<String> = [tag.veth_prefix(), tag.bridge_prefix()]
        .iter()
        .flat_map(|p| links_with_prefix(p))
        .collect();
    assert!(links.is_empty(), "links left after reset: {links:?}");
    assert_eq!(nft_table(&tag.table()), "", "table left after reset");
    let comments = iptables_comments(&tag.comment_prefix());
    assert!(comments.is_empty(), "shim rules left: {comments:?}");
}

/// The text of `map NAME { … }` in an `nft list table` listing.
fn map_block<'a>(table: &'a str, name: &str) -> &'a str {
    let start = table
        .find(&format!("map {name} {{"))
        .unwrap_or_else(|| panic!("no map {name} in:\n{table}"));
    let rest = &table[start..];
    &rest[..rest.find("\n\t}").unwrap_or(rest.len())]
}

/// One `run --rm` publishing a port: a fixed free one on even runs (TCP),
/// a random one on odd runs (UDP).
fn run_rm_published(root: &Path, i: usize) {
    let spec = match i % 2 {
        0 => format!("{}:80", free_port()),
        _ => "80/udp".to_string(),
    };
    let out = kiln(
        root,
        &["run", "--rm", "--network", NET, "-p", &spec, IMAGE, "true"],
    );
    ok_as(out, &format!("run --rm -p {spec} #{i}"));
}

/// A foreground `kiln run` publishing a port, SIGKILLed once its endpoint
/// is recorded: returns the container's ID and the host port.
fn killed_foreground_run(root: &Path) -> (String, u16) {
    let port = free_port();
    let spec = format!("{port}:80");
    let args = ["run", "--network", NET, "-p", &spec, IMAGE, "sleep", "600"];
    let mut child = kiln_cmd(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Running means attached (the monitor attaches between create and
    // start); the test never binds the port itself while kiln may.
    wait_until("the foreground run's endpoint", || {
        !endpoint_records(root).is_empty() && !running_ids(root).is_empty()
    });
    let id = running_ids(root).pop().expect("a running container");
    sigkill(child.id() as i32);
    child.wait().unwrap();
    (id, port)
}

/// `run -d` publishing a port, then SIGKILL of its monitor.
fn killed_detached_monitor(root: &Path) -> (String, u16) {
    let port = free_port();
    let spec = format!("{port}:80/udp");
    let out = kiln(
        root,
        &[
            "run",
            "-d",
            "--network",
            NET,
            "-p",
            &spec,
            IMAGE,
            "sleep",
            "600",
        ],
    );
    let id = ok_as(out, "run -d").trim().to_string();
    let monitor = monitor_pid(root, &id);
    assert!(!port_free_udp(port), "the monitor holds the published port");
    sigkill(monitor);
    wait_until("the monitor's end", || port_free_udp(port));
    (id, port)
}

/// A port that is free on the host now (TCP and UDP, IPv4).
fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        if port_free(port) {
            return port;
        }
    }
}

/// Whether both TCP and UDP `0.0.0.0:port` can be bound.
fn port_free(port: u16) -> bool {
    let address = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    TcpListener::bind(address).is_ok() && port_free_udp(port)
}

fn port_free_udp(port: u16) -> bool {
    UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)).is_ok()
}

/// The `bridge` of network `name`'s record.
fn bridge_of(root: &Path, name: &str) -> String {
    for path in records(&root.join("networks")) {
        let record = json(&path);
        if record["name"] == name {
            return record["bridge"].as_str().unwrap().to_string();
        }
    }
    panic!("no record of network {name}");
}

/// `<root>/networks/<id>/endpoints/*.json`.
fn endpoint_records(root: &Path) -> Vec<PathBuf> {
    let networks = root.join("networks");
    let dirs = std::fs::read_dir(&networks).into_iter().flatten().flatten();
    dirs.map(|e| e.path().join("endpoints"))
        .flat_map(|dir| records(&dir))
        .collect()
}

fn records(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// IDs of the containers whose state says running.
fn running_ids(root: &Path) -> Vec<String> {
    let dirs = std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten();
    dirs.filter(|e| {
        let state = std::fs::read_to_string(e.path().join("state.json")).unwrap_or_default();
        state.contains("\"running\"")
    })
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .collect()
}

fn monitor_pid(root: &Path, id: &str) -> i32 {
    let state = json(&root.join("containers").join(id).join("state.json"));
    state["MonitorPid"].as_i64().expect("MonitorPid") as i32
}

fn sigkill(pid: i32) {
    assert!(pid > 0);
    // SAFETY: kill(2) of a process this test started (directly or via kiln).
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Host links whose name starts with `prefix` (`ip -o link`).
fn links_with_prefix(prefix: &str) -> Vec<String> {
    let out = tool("ip", &["-o", "link", "show"]);
    out.lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// `nft list table inet TABLE` (empty when the table does not exist).
fn nft_table(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rules of either iptables backend whose comment starts with `prefix`.
fn iptables_comments(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for save in ["iptables-save", "iptables-legacy-save"] {
        let out = Command::new(save).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let text = text.unwrap_or_default();
        found.extend(
            text.lines()
                .filter(|l| l.contains(prefix))
                .map(|l| format!("{save}: {l}")),
        );
    }
    found
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whatever the outcome: the containers and networks removed, then this
/// root's links and table (only this root's, by their tagged names), so a
/// failed run leaves nothing on the host either.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let root = &self.0;
        let ids = kiln(root, &["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = kiln(root, &["rm", "-f", id]);
        }
        let _ = kiln(root, &["network", "prune", "-f"]);
        let _ = kiln(root, &["network", "rm", NET]);
        let _ = manage::reset(root);
        let tag = RootTag::of(root);
        for prefix in [tag.veth_prefix(), tag.bridge_prefix()] {
            for link in links_with_prefix(&prefix) {
                let _ = Command::new("ip").args(["link", "del", &link]).status();
            }
        }
        let table = tag.table();
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &table])
            .stderr(Stdio::null())
            .status();
    }
}
