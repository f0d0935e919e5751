//! Costs of the firewall operations a container start and removal pay:
//! `open` (a probe when the table exists), publish + unpublish of one port
//! in-process (nfnetlink batch, libnftables listing) against the same
//! through the `nft` program (the reference, what a CLI-driven design
//! pays), measured in the same run, alternating in chunks, since the
//! machine is shared and noisy.
//!
//! Usage (root): `cargo bench -p kiln-runtime --bench firewall [-- ROUNDS]`
//! (default 200; add `--profile dev` to reuse the debug build: the time is
//! spent in the kernel and libnftables, not in kiln's code). Prints medians in ms and the ratios; the target
//! is publishing a port adding under 1 ms to `kiln run`. Uses a table of
//! its own (`kiln_b<pid>`), deleted at the end.

use std::net::IpAddr;
use std::time::Instant;

use kiln_parser::values::Protocol;
use kiln_runtime::network::firewall::{Firewall, NetworkRules, NftBackend, PortRule};

/// Rounds of one kind in a row.
const CHUNK: usize = 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let table = format!("kiln_b{:x}", std::process::id());
    let lib = Firewall::open_using(&table, NftBackend::Library).expect("libnftables");
    let cli = Firewall::open_using(&table, NftBackend::Program).expect("nft");
    lib.add_network(&NetworkRules {
        bridge: "kbbench0".into(),
        subnets: vec![("10.200.250.0".parse().unwrap(), 24)],
        internal: false,
    })
    .unwrap();
    let port = PortRule {
        host_ip: None,
        host_port: 18080,
        protocol: Protocol::Tcp,
        container_ip: "10.200.250.2".parse::<IpAddr>().unwrap(),
        container_port: 80,
    };
    let (mut open, mut pub_lib, mut pub_cli, mut state) = (vec![], vec![], vec![], vec![]);
    // In chunks: an `nft` process that exits right after a transaction
    // holds the nf_tables commit lock while its socket's release waits for
    // an RCU grace period, which would bill the next in-process operation.
    for _ in 0..rounds.div_ceil(CHUNK) {
        for _ in 0..CHUNK {
            open.push(ms(|| drop(Firewall::open(&table).unwrap())));
            pub_lib.push(ms(|| {
                lib.publish(&[port]).unwrap();
                lib.unpublish(&[port]).unwrap();
            }));
            state.push(ms(|| drop(lib.state().unwrap())));
        }
        for _ in 0..CHUNK {
            pub_cli.push(ms(|| {
                cli.publish(&[port]).unwrap();
                cli.unpublish(&[port]).unwrap();
            }));
        }
    }
    lib.delete_table().unwrap();
    let (open, lib_m, cli_m, state) = (
        median(open),
        median(pub_lib),
        median(pub_cli),
        median(state),
    );
    println!("firewall, {rounds} rounds, medians:");
    println!("  open (table present)            {open:8.3} ms");
    println!("  publish+unpublish, in-process   {lib_m:8.3} ms");
    println!("  publish+unpublish, nft program  {cli_m:8.3} ms  (reference)");
    println!("  state()                         {state:8.3} ms");
    println!("  ratio in-process / program      {:8.3}", lib_m / cli_m);
    println!(
        "  open + publish + unpublish (an attach and a detach) {:.3} ms (target: publishing < 1 ms)",
        open + lib_m
    );
}
