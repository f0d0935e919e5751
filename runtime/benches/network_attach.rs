//! What attaching a network namespace to a bridge network costs with
//! `network::attach` (in-process netlink, one published port as an nft map
//! element, the endpoint record, under the root lock after a sweep),
//! against a reference measured in the same run: the same veth pair,
//! address, routes and hairpin made with the `ip` program (six processes,
//! no port), as scripts and CNI-style tools do. Also detach, with the
//! container's namespace still alive (the host veth deleted synchronously)
//! and just after it was unmounted, and `release_all` (the veth set down
//! and left to the kernel).
//!
//! Run as root: `cargo bench -p kiln-runtime --bench network_attach`
//! (`KILN_BENCH_N` sets the repetitions, 40 by default). Prints medians and
//! ratios; asserts nothing about time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kiln_parser::values::{PortMapping, Protocol};
use kiln_runtime::network::attach::{self, AttachRequest};
use kiln_runtime::network::manage::{self, CreateRequest};
use kiln_runtime::network::names::RootTag;

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("network_attach bench: needs root, skipped");
        return;
    }
    let n: usize = std::env::var("KILN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let scratch = tempfile::Builder::new()
        .prefix("kiln-bench-attach-")
        .tempdir()
        .unwrap();
    let root = scratch.path().join("root");
    let result = std::panic::catch_unwind(|| bench(&root, scratch.path(), n));
    let _ = manage::reset(&root);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn bench(root: &Path, scratch: &Path, n: usize) {
    let request = CreateRequest {
        name: "bench".into(),
        ..CreateRequest::default()
    };
    let network = manage::create(root, &request).unwrap();
    let gateway = network.subnets[0].gateway;
    let len = network.subnets[0]
        .subnet
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let host = base_of(gateway);

    let mut kiln_attach = Vec::new();
    let mut kiln_detach_live = Vec::new();
    let mut kiln_detach_gone = Vec::new();
    let mut kiln_release = Vec::new();
    let mut ip_attach = Vec::new();
    for i in 0..n {
        let ns = Namespace::new(scratch, &format!("k{i}"));
        let request = request_for(i);
        let started = Instant::now();
        let attachment = attach::attach(root, &ns.file, &request).unwrap();
        kiln_attach.push(started.elapsed());
        if i % 3 == 0 {
            let started = Instant::now();
            attach::detach_all(root, &request.container_id).unwrap();
            kiln_detach_live.push(started.elapsed());
            drop(ns);
        } else if i % 3 == 1 {
            let started = Instant::now();
            attach::release_all(root, &request.container_id).unwrap();
            kiln_release.push(started.elapsed());
            drop(ns);
        } else {
            drop(ns);
            let started = Instant::now();
            attach::detach_all(root, &request.container_id).unwrap();
            kiln_detach_gone.push(started.elapsed());
        }
        drop(attachment);

        let ns = Namespace::new(scratch, &format!("r{i}"));
        let veth = format!("{}r{i}", RootTag::of(root).veth_prefix());
        let address = format!("{}.{}/{len}", host, 200 + (i % 50));
        let started = Instant::now();
        ip_attach_veth(
            &ns.path,
            &veth,
            &network.bridge,
            &address,
            &gateway.to_string(),
        );
        ip_attach.push(started.elapsed());
        let _ = Command::new("ip").args(["link", "del", &veth]).status();
    }
    let k = median(&mut kiln_attach);
    let r = median(&mut ip_attach);
    println!("attach, kiln in-process (veth, addresses, routes, 1 port, record): median {:.2} ms (n={n})", ms(k));
    println!(
        "attach, reference: 6 `ip` commands (veth, addresses, routes, no port): median {:.2} ms",
        ms(r)
    );
    println!("ratio reference/kiln: {:.1}x", ms(r) / ms(k));
    let live = median(&mut kiln_detach_live);
    let gone = median(&mut kiln_detach_gone);
    println!(
        "detach, namespace alive (host veth deleted): median {:.2} ms",
        ms(live)
    );
    println!(
        "detach, namespace just unmounted (veth still there): median {:.2} ms",
        ms(gone)
    );
    let release = median(&mut kiln_release);
    println!(
        "release_all, namespace alive (veth set down, left to the kernel): median {:.2} ms",
        ms(release)
    );
    println!(
        "ratio detach/release_all (namespace alive): {:.1}x",
        ms(live) / ms(release)
    );
}

fn request_for(i: usize) -> AttachRequest {
    AttachRequest {
        network: "bench".into(),
        container_id: format!("{i:0>64}"),
        container_name: format!("bench{i}"),
        ports: vec![PortMapping {
            host_ip: None,
            host_ports: None,
            container_port: 80,
            protocol: Protocol::Tcp,
        }],
        interface: "eth0".into(),
        holder_pid: std::process::id(),
        ..AttachRequest::default()
    }
}

/// The first three octets of an IPv4 gateway (`a.b.c`).
fn base_of(gateway: std::net::IpAddr) -> String {
    let text = gateway.to_string();
    text.rsplit_once('.').unwrap().0.to_string()
}

/// The reference: what kiln's attach does to links, with `ip`.
fn ip_attach_veth(ns: &Path, veth: &str, bridge: &str, address: &str, gateway: &str) {
    let netns = format!("--net={}", ns.display());
    let nsf = ns.to_str().unwrap();
    run(
        "ip",
        &[
            "link", "add", veth, "mtu", "1400", "type", "veth", "peer", "name", "eth0", "netns",
            nsf,
        ],
    );
    run("ip", &["link", "set", veth, "master", bridge, "up"]);
    run("bridge", &["link", "set", "dev", veth, "hairpin", "on"]);
    run(
        "nsenter",
        &[&netns, "ip", "addr", "add", address, "dev", "eth0"],
    );
    run("nsenter", &[&netns, "ip", "link", "set", "eth0", "up"]);
    run(
        "nsenter",
        &[&netns, "ip", "route", "add", "default", "via", gateway],
    );
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}");
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A network namespace pinned on a file of the scratch folder; unmounted
/// on drop (with no process in it, the kernel then destroys it).
struct Namespace {
    path: PathBuf,
    file: File,
}

impl Namespace {
    fn new(scratch: &Path, name: &str) -> Namespace {
        let path = scratch.join(format!("{name}.netns"));
        kiln_runtime::netns::ensure(&path).unwrap();
        let file = File::open(&path).unwrap();
        Namespace { path, file }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2 of the bind mount this bench made.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}
