//! End-to-end: bridge networks, container DNS and published ports (issue
//! 13), driven through the `kiln` binary exactly as a Docker user would, on
//! the real kernel. An "other host" is a network namespace on a veth that
//! each test makes and removes; all traffic stays on this machine. Each test
//! has its own `--root` (so its own kernel-object tag), lets IPAM choose its
//! subnets, picks free host ports, removes its networks at the end and
//! checks that the root left no link or iptables rule behind.

mod support;

#[allow(dead_code)] // the container tests' fixture; only part of it is used here
#[path = "cli_containers/fixture.rs"]
mod fixture;

#[path = "network_e2e/world.rs"]
mod world;

#[path = "network_e2e/user_networks.rs"]
mod user_networks;

#[path = "network_e2e/default_bridge.rs"]
mod default_bridge;

#[path = "network_e2e/ports.rs"]
mod ports;

#[path = "network_e2e/etc_files.rs"]
mod etc_files;

#[path = "network_e2e/isolation.rs"]
mod isolation;
