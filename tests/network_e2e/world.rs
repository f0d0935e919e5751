//! A test's kiln root for the network suites: the busybox image imported
//! (the container tests' [`Root`]), the networks it made (removed at the
//! end), busybox httpd containers that also report the client address they
//! saw (a CGI printing `REMOTE_ADDR`), and the checks that nothing of the
//! root is left in the kernel once its networks are gone.

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kiln_runtime::network::manage;
use kiln_runtime::network::names::RootTag;

use crate::fixture::{parts, Root, IMG};
use crate::support::net::{forward_rules_with, links_left_after, links_with_prefix};

/// Starts busybox httpd on port 80 serving `/index.html` = `hello from
/// $WHO` and `/cgi-bin/peer` = `peer=<client address>`.
pub const HTTPD: &str = "mkdir -p /www/cgi-bin \
    && echo \"hello from $WHO\" > /www/index.html \
    && echo '#!/bin/sh' > /www/cgi-bin/peer \
    && echo 'echo Content-Type: text/plain' >> /www/cgi-bin/peer \
    && echo 'echo' >> /www/cgi-bin/peer \
    && echo 'echo peer=$REMOTE_ADDR' >> /www/cgi-bin/peer \
    && chmod +x /www/cgi-bin/peer \
    && exec httpd -f -p 80 -h /www";

/// `text` with IPv4-mapped IPv6 addresses (`[::ffff:10.0.0.2]`, as busybox
/// httpd, listening on `[::]`, reports IPv4 clients) written as IPv4.
pub fn unmapped(text: String) -> String {
    text.replace("[::ffff:", "").replace(']', "")
}

/// One test's root and the networks it created.
pub struct World {
    /// The root (removes its containers when dropped).
    pub r: Root,
    /// The root's kernel-object tag.
    pub tag: RootTag,
    networks: RefCell<Vec<String>>,
}

impl World {
    /// A fresh root named after the test.
    pub fn new(name: &str) -> World {
        let r = Root::new(&format!("net-{name}"));
        std::fs::create_dir_all(&r.root).unwrap();
        let tag = RootTag::of(&r.root);
        World {
            r,
            tag,
            networks: RefCell::new(Vec::new()),
        }
    }

    /// Runs kiln; must succeed; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.r.ok(args)
    }

    /// Runs kiln.
    pub fn run(&self, args: &[&str]) -> Output {
        self.r.run(args)
    }

    /// `network create ARGS… NAME`, removed by [`World::finish`].
    pub fn network(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["network", "create"];
        all.extend_from_slice(args);
        all.push(name);
        let id = self.ok(&all).trim().to_string();
        assert!(!id.is_empty(), "network create printed nothing");
        self.networks.borrow_mut().push(name.to_string());
        id
    }

    /// `network rm NAME` of a network made by [`World::network`] (must work).
    pub fn rm_network(&self, name: &str) {
        self.ok(&["network", "rm", name]);
        self.networks.borrow_mut().retain(|n| n != name);
    }

    /// `run -d ARGS… IMG sh -c SCRIPT`: the container's ID.
    pub fn detach_sh(&self, args: &[&str], script: &str) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([IMG, "sh", "-c", script]);
        self.r.detach(&all)
    }

    /// A detached httpd container ([`HTTPD`]) named `name`, waited for
    /// until it listens.
    pub fn httpd(&self, name: &str, args: &[&str]) -> String {
        let who = format!("WHO={name}");
        let mut all = vec!["--name", name, "-e", &who];
        all.extend_from_slice(args);
        let id = self.detach_sh(&all, HTTPD);
        self.wait_listening(name, "-ltn", 80);
        id
    }

    /// A detached `sleep` container named `name`.
    pub fn sleeper(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["--name", name];
        all.extend_from_slice(args);
        self.detach_sh(&all, "exec sleep 600")
    }

    /// `exec CONTAINER sh -c SCRIPT`: stdout, stderr, exit code.
    pub fn exec_sh(&self, container: &str, script: &str) -> (String, String, Option<i32>) {
        parts(&self.run(&["exec", container, "sh", "-c", script]))
    }

    /// Polls `netstat FLAGS` in the container until `:port` listens (20 s).
    pub fn wait_listening(&self, container: &str, flags: &str, port: u16) {
        let end = Instant::now() + Duration::from_secs(20);
        let needle = format!(":{port} ");
        loop {
            let (out, err, _) = self.exec_sh(container, &format!("netstat {flags}"));
            if out.contains(&needle) {
                return;
            }
            assert!(
                Instant::now() < end,
                "{container} never listened on {port}: {out}{err}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The container's IPv4 address on `network`, from `inspect` (Docker's
    /// `NetworkSettings.Networks.<name>.IPAddress`).
    pub fn ip_of(&self, container: &str, network: &str) -> Ipv4Addr {
        let c = self.r.inspect_json(container);
        let ip = &c["NetworkSettings"]["Networks"][network]["IPAddress"];
        ip.as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{container} has no address on {network}: {c}"))
    }

    /// The container's process ID (`State.Pid`).
    pub fn pid_of(&self, container: &str) -> u32 {
        let c = self.r.inspect_json(container);
        c["State"]["Pid"]
            .as_u64()
            .filter(|p| *p > 0)
            .unwrap_or_else(|| {
                panic!("{container} has no Pid: {}", c["State"]);
            }) as u32
    }

    /// `network inspect NAME` as JSON (the one object).
    pub fn network_json(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["network", "inspect", name]);
        let all: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("network inspect printed bad JSON ({e}): {text}"));
        all[0].clone()
    }

    /// The first IPAM subnet and gateway of a network.
    pub fn subnet_gateway(&self, name: &str) -> (String, Ipv4Addr) {
        let n = self.network_json(name);
        let config = &n["IPAM"]["Config"][0];
        let subnet = config["Subnet"].as_str().expect("Subnet").to_string();
        let gateway = config["Gateway"]
            .as_str()
            .expect("Gateway")
            .parse()
            .unwrap();
        (subnet, gateway)
    }

    /// Removes every container, then the networks this test made (each must
    /// go), then asserts the root left no host veth and no bridge but the
    /// default `bridge` network's (which stays, as Docker's docker0 does);
    /// then resets the root's networking (the library's `manage::reset`,
    /// which takes the default bridge too) and asserts no link, nft table
    /// or iptables shim rule of the root is left.
    pub fn finish(self) {
        self.remove_containers();
        for name in self.networks.borrow_mut().drain(..) {
            self.ok(&["network", "rm", &name]);
        }
        let veths = links_left_after(&self.tag.veth_prefix(), Duration::from_secs(10));
        assert!(veths.is_empty(), "host veths left: {veths:?}");
        let default = self.default_bridge_link();
        let bridges: Vec<String> = links_with_prefix(&self.tag.bridge_prefix())
            .into_iter()
            .filter(|b| Some(b) != default.as_ref())
            .collect();
        assert!(bridges.is_empty(), "bridges left: {bridges:?}");
        manage::reset(&self.r.root).expect("reset the root's networking");
        let links = [self.tag.bridge_prefix(), self.tag.veth_prefix()]
            .iter()
            .flat_map(|p| links_with_prefix(p))
            .collect::<Vec<_>>();
        assert!(links.is_empty(), "links left: {links:?}");
        let rules = forward_rules_with(&format!("kiln:{}:", self.tag.as_str()));
        assert!(rules.is_empty(), "iptables rules left: {rules:?}");
        let table = Command::new("nft")
            .args(["list", "table", "inet", &self.tag.table()])
            .output()
            .unwrap();
        assert!(!table.status.success(), "nft table left");
    }

    /// The link of the default `bridge` network, from its record.
    fn default_bridge_link(&self) -> Option<String> {
        let dir = self.r.root.join("networks");
        std::fs::read_dir(dir).ok()?.find_map(|e| {
            let path = e.ok()?.path();
            let record: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            (record["name"] == "bridge").then(|| record["bridge"].as_str().map(str::to_string))?
        })
    }

    fn remove_containers(&self) {
        let out = self.run(&["ps", "-a", "-q", "--no-trunc"]);
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.remove_containers();
        for name in self.networks.borrow_mut().drain(..) {
            let _ = self.run(&["network", "rm", &name]);
        }
        let _ = manage::reset(&self.r.root);
    }
}
