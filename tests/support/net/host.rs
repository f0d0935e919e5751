//! The host side of the network tests: free ports, this host's address,
//! the links and iptables rules a kiln root leaves, the guard that sets
//! iptables' `FORWARD` policy to DROP as a Docker daemon does, and a
//! service the host binds to 127.0.0.1 only.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::must;

/// A port free for both TCP and UDP on every address right now (the
/// kernel's choice; tests never hard-code host ports, so parallel tests
/// and other work on the machine do not collide).
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
}

/// This host's own IPv4 address: the first one on the interface of the
/// default route (eth0 here), from `ip -j`.
pub fn host_ipv4() -> Ipv4Addr {
    let routes: serde_json::Value =
        serde_json::from_str(&must("ip", &["-j", "-4", "route", "show", "default"])).unwrap();
    let dev = routes[0]["dev"]
        .as_str()
        .expect("a default route")
        .to_string();
    let addrs: serde_json::Value =
        serde_json::from_str(&must("ip", &["-j", "-4", "addr", "show", "dev", &dev])).unwrap();
    let local = addrs[0]["addr_info"][0]["local"]
        .as_str()
        .unwrap_or_else(|| panic!("no IPv4 address on {dev}: {addrs}"));
    local.parse().unwrap()
}

/// Names of the links whose name starts with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    let links: serde_json::Value = serde_json::from_str(&must("ip", &["-j", "link"])).unwrap();
    links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// The links whose name starts with `prefix` once they are gone, or those
/// still there after `limit`: a container's veth pair goes with its network
/// namespace, which the kernel tears down asynchronously (tens of ms) after
/// the container's last process exits.
pub fn links_left_after(prefix: &str, limit: Duration) -> Vec<String> {
    let end = std::time::Instant::now() + limit;
    loop {
        let links = links_with_prefix(prefix);
        if links.is_empty() || std::time::Instant::now() >= end {
            return links;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The iptables tools present: `iptables` (nf_tables backend) and
/// `iptables-legacy` when installed.
pub fn iptables_tools() -> Vec<&'static str> {
    ["iptables", "iptables-legacy"]
        .into_iter()
        .filter(|tool| {
            Command::new(tool)
                .args(["-w", "-S", "FORWARD"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
        .collect()
}

/// The `FORWARD` rules of every iptables backend whose text contains
/// `needle` (e.g. a root's `kiln:<tag>` comment).
pub fn forward_rules_with(needle: &str) -> Vec<String> {
    iptables_tools()
        .into_iter()
        .flat_map(|tool| {
            must(tool, &["-w", "-S", "FORWARD"])
                .lines()
                .filter(|l| l.contains(needle))
                .map(|l| format!("{tool}: {l}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Sets the iptables `FORWARD` policy to DROP in every backend present, as
/// a Docker daemon does, and puts each old policy back on drop.
pub struct ForwardDrop {
    restore: Vec<(&'static str, String)>,
}

impl ForwardDrop {
    /// Sets DROP, remembering the policies it replaces.
    pub fn set() -> ForwardDrop {
        let mut guard = ForwardDrop {
            restore: Vec::new(),
        };
        for tool in iptables_tools() {
            let rules = must(tool, &["-w", "-S", "FORWARD"]);
            let old = rules
                .lines()
                .find_map(|l| l.strip_prefix("-P FORWARD "))
                .unwrap_or("ACCEPT")
                .trim()
                .to_string();
            guard.restore.push((tool, old));
            must(tool, &["-w", "-P", "FORWARD", "DROP"]);
        }
        assert!(!guard.restore.is_empty(), "no iptables tool found");
        guard
    }

    /// The backends it changed.
    pub fn tools(&self) -> Vec<&'static str> {
        self.restore.iter().map(|(t, _)| *t).collect()
    }
}

impl Drop for ForwardDrop {
    fn drop(&mut self) {
        for (tool, old) in &self.restore {
            let _ = Command::new(tool)
                .args(["-w", "-P", "FORWARD", old])
                .status();
        }
    }
}

/// A service of the host's own, bound to one address (`127.0.0.1` for a
/// loopback-only one): answers `host-service` to every connection until
/// dropped.
pub struct HostService {
    /// Its port.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostService {
    /// Binds `ip:0` and serves on a thread.
    pub fn start(ip: &str) -> HostService {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.write_all(b"host-service\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        HostService {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HostService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
