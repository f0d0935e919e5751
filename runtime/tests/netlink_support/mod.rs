//! Helpers of the netlink tests: unique link names, a guard deleting them,
//! namespaces held by open files, free subnets, `ip route` for comparison,
//! and the FORWARD accept rules a Docker daemon's DROP policy would need.
#![allow(dead_code)]

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;

use kiln_runtime::network::netlink::{delete_link, routed_prefixes};

/// `kt<6 random hex>`: the prefix of one test's links.
pub struct Names(String);

impl Names {
    /// A fresh random prefix.
    pub fn new() -> Names {
        let mut bytes = [0u8; 3];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .expect("read /dev/urandom");
        Names(format!(
            "kt{:02x}{:02x}{:02x}",
            bytes[0], bytes[1], bytes[2]
        ))
    }

    /// The prefix.
    pub fn prefix(&self) -> String {
        self.0.clone()
    }

    /// The test's link number `n`.
    pub fn link(&self, n: u32) -> String {
        format!("{}{n}", self.0)
    }
}

/// Deletes the links it tracks when dropped (test passed or not).
#[derive(Default)]
pub struct Links(Vec<String>);

impl Links {
    /// Tracks `name` and returns it.
    pub fn track(&mut self, name: String) -> String {
        self.0.push(name.clone());
        name
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for name in self.0.iter().rev() {
            if let Err(error) = delete_link(name) {
                eprintln!("cleanup: {error}");
            }
        }
    }
}

/// A new network namespace with `lo` up, held only by the returned nsfs
/// file: it goes away when the file is closed (nothing mounted).
pub fn new_netns() -> File {
    std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends right after.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
        File::open("/proc/thread-self/ns/net").expect("open own netns")
    })
    .join()
    .expect("netns thread")
}

/// A random `10.200.<n>.0/24` the host does not route now.
pub fn free_subnet() -> u8 {
    let routed = routed_prefixes().expect("routes");
    for _ in 0..1000 {
        let mut byte = [0u8; 1];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut byte))
            .unwrap();
        let third = byte[0];
        let taken = routed.iter().any(|(ip, _)| match ip {
            IpAddr::V4(v4) => v4.octets()[..3] == [10, 200, third],
            IpAddr::V6(_) => false,
        });
        if !taken {
            return third;
        }
    }
    panic!("no free subnet in 10.200.0.0/16");
}

/// The non-default destinations of the main table, as `ip -j route` says.
pub fn ip_route_prefixes() -> Vec<(IpAddr, u8)> {
    let mut prefixes = Vec::new();
    for family in ["-4", "-6"] {
        let output = Command::new("ip")
            .args(["-j", family, "route", "show", "table", "main"])
            .output()
            .expect("run ip route");
        let routes: serde_json::Value = serde_json::from_slice(&output.stdout).expect("ip -j");
        for route in routes.as_array().expect("an array") {
            let dst = route["dst"].as_str().expect("dst");
            if dst == "default" {
                continue;
            }
            let (ip, prefix) = dst.split_once('/').unwrap_or((dst, ""));
            let ip: IpAddr = ip.parse().expect("an address");
            let full = if ip.is_ipv4() { 32 } else { 128 };
            prefixes.push((ip, prefix.parse().unwrap_or(full)));
        }
    }
    prefixes
}

/// When a Docker daemon set the iptables `FORWARD` policy to DROP (it does,
/// and `br_netfilter` then drops even traffic inside one bridge), the two
/// tagged accept rules kiln's firewall adds for its bridges; removed on drop.
pub struct ForwardAccept(Vec<(&'static str, Vec<String>)>);

impl ForwardAccept {
    /// Adds the rules for `bridge` in each iptables whose policy is DROP.
    pub fn for_bridge(bridge: &str, tag: &str) -> ForwardAccept {
        let mut added = Vec::new();
        for tool in ["iptables", "iptables-legacy"] {
            let Ok(out) = Command::new(tool).args(["-S", "FORWARD"]).output() else {
                continue;
            };
            if !String::from_utf8_lossy(&out.stdout).contains("-P FORWARD DROP") {
                continue;
            }
            for direction in ["-i", "-o"] {
                let rule: Vec<String> = [
                    direction,
                    bridge,
                    "-m",
                    "comment",
                    "--comment",
                    tag,
                    "-j",
                    "ACCEPT",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                let status = Command::new(tool)
                    .arg("-I")
                    .arg("FORWARD")
                    .args(&rule)
                    .status();
                if status.is_ok_and(|s| s.success()) {
                    added.push((tool, rule));
                }
            }
        }
        ForwardAccept(added)
    }
}

impl Drop for ForwardAccept {
    fn drop(&mut self) {
        for (tool, rule) in &self.0 {
            let _ = Command::new(tool)
                .arg("-D")
                .arg("FORWARD")
                .args(rule)
                .status();
        }
    }
}
