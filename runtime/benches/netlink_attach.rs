//! Cost of attaching a container's network with kiln's netlink layer,
//! against the same work done with `ip` commands (the reference, measured
//! in the same run): a veth pair into a fresh namespace, hairpin, `lo` and
//! the peer up, IPv4+IPv6 addresses (no DAD), default routes.
//!
//! Run as root: `cargo bench -p kiln-runtime --bench netlink_attach`
//! (RUNS=200 by default). Prints medians (ms) of: attach (kiln), the
//! synchronous delete of the host end (kiln; the kernel's RCU wait makes
//! it slow, which is why kiln lets the veth go with the namespace instead),
//! closing the namespace, attach with `ip`, a thread entering the namespace
//! (part of every attach: the scheduler's share); and the ratio ip/kiln
//! of attach (target: kiln attach ~1-2 ms, notes/networking.md).

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

use kiln_runtime::network::netlink::{self, BridgeSpec, VethSpec};

fn new_netns() -> File {
    std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends right after.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
        File::open("/proc/thread-self/ns/net").expect("open own netns")
    })
    .join()
    .expect("netns thread")
}

fn median(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), samples[0])
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn run(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect(args[0]);
    assert!(status.success(), "{args:?} failed");
}

/// The reference: the same attachment with three `ip` processes (the
/// namespace half batched in one `ip -batch` under nsenter).
fn attach_with_ip(host: &str, bridge: &str, ns: &File, third: u8) {
    let path = format!("/proc/{}/fd/{}", std::process::id(), ns.as_raw_fd());
    run(&[
        "ip",
        "link",
        "add",
        host,
        "mtu",
        "1400",
        "master",
        bridge,
        "up",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "mtu",
        "1400",
        "address",
        "02:42:0a:c8:00:02",
        "netns",
        &path,
    ]);
    run(&[
        "ip",
        "link",
        "set",
        host,
        "type",
        "bridge_slave",
        "hairpin",
        "on",
    ]);
    let batch = format!(
        "link set lo up\nlink set eth0 up\naddr add 10.200.{third}.2/24 dev eth0\n\
         addr add fd00:200:{third}::2/64 dev eth0 nodad\n\
         route add default via 10.200.{third}.1 dev eth0\n\
         route add default via fd00:200:{third}::1 dev eth0\n"
    );
    let mut child = Command::new("nsenter")
        .arg(format!("--net={path}"))
        .args(["ip", "-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("nsenter");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), batch.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// Deletes the bench's links even if it panics half-way.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = netlink::delete_link(name);
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let tag = std::process::id() % 0xffff;
    let third = 250u8;
    let bridge = format!("ktb{tag:04x}");
    let host = format!("ktb{tag:04x}v");
    let _cleanup = Cleanup(vec![host.clone(), bridge.clone()]);
    netlink::ensure_bridge(&BridgeSpec {
        name: bridge.clone(),
        mtu: 1400,
        addresses: vec![(IpAddr::V4(Ipv4Addr::new(10, 200, third, 1)), 24)],
    })
    .expect("bridge");
    let (mut attach, mut delete, mut close, mut with_ip) = (vec![], vec![], vec![], vec![]);
    let mut enter = vec![];
    for i in 0..runs {
        let ns = new_netns();
        let spec = VethSpec {
            host_name: host.clone(),
            bridge: bridge.clone(),
            netns: &ns,
            interface: "eth0".into(),
            mtu: 1400,
            mac: [0x02, 0x42, 10, 200, third, 2],
            addresses: vec![
                (IpAddr::V4(Ipv4Addr::new(10, 200, third, 2)), 24),
                (
                    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x200, third.into(), 0, 0, 0, 0, 2)),
                    64,
                ),
            ],
            gateway4: Some(Ipv4Addr::new(10, 200, third, 1)),
            gateway6: Some(Ipv6Addr::new(0xfd00, 0x200, third.into(), 0, 0, 0, 0, 1)),
        };
        let start = Instant::now();
        netlink::in_namespace(&ns, || ()).expect("enter");
        enter.push(ms(start));
        let start = Instant::now();
        netlink::attach_veth(&spec).expect("attach");
        attach.push(ms(start));
        if i % 2 == 0 {
            let start = Instant::now();
            netlink::delete_link(&host).expect("delete");
            delete.push(ms(start));
            drop(ns);
        } else {
            let start = Instant::now();
            drop(ns);
            close.push(ms(start));
            // The kernel frees the host end asynchronously; wait for it
            // (untimed) before the next round reuses its name.
            while netlink::link_state(&host).expect("state").is_some() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let ns = new_netns();
        let start = Instant::now();
        attach_with_ip(&host, &bridge, &ns, third);
        with_ip.push(ms(start));
        netlink::delete_link(&host).expect("delete");
    }
    let report = |name: &str, samples: &mut Vec<f64>| {
        let (median, p90, min) = median(samples);
        println!(
            "{name:<44} n={:<4} median={median:.3}ms p90={p90:.3}ms min={min:.3}ms",
            samples.len()
        );
        median
    };
    let kiln = report("attach_veth (kiln, in-process netlink)", &mut attach);
    report("  of which: a thread entering the namespace", &mut enter);
    report("delete_link of the host end (synchronous)", &mut delete);
    report("close the namespace (veth freed async)", &mut close);
    let ip = report("same attach with ip (3 processes)", &mut with_ip);
    println!(
        "ratio ip/kiln attach: {:.1}x; kiln attach {} the ~1-2 ms target",
        ip / kiln,
        if kiln <= 2.0 { "meets" } else { "misses" }
    );
}
