//! End-to-end: the container commands (`run`, `create`, `start`, `stop`,
//! `restart`, `kill`, `rm`, `ps`, `logs`, `inspect`, `wait`, `pause`,
//! `unpause`, `container prune`) on the real kernel, checked against Docker's
//! documented behaviour. Each test has its own temp `--root` with the busybox
//! test image imported; containers are removed when the test ends.

mod support;

#[path = "cli_containers/fixture.rs"]
mod fixture;

#[path = "cli_containers/run_basics.rs"]
mod run_basics;

#[path = "cli_containers/mounts_network.rs"]
mod mounts_network;

#[path = "cli_containers/detached.rs"]
mod detached;

#[path = "cli_containers/lifecycle.rs"]
mod lifecycle;

#[path = "cli_containers/policies.rs"]
mod policies;

#[path = "cli_containers/crash.rs"]
mod crash;

#[path = "cli_containers/extras.rs"]
mod extras;

#[path = "cli_containers/flag_checks.rs"]
mod flag_checks;

#[path = "cli_containers/host_options.rs"]
mod host_options;
