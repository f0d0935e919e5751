//! `kiln-runtime`: containers.
//!
//! - [`spec`]: the OCI runtime-spec `config.json` from an image config plus run
//!   options, with Docker's isolation defaults.
//! - [`oci`]: the low-level runtimes behind one trait (embedded libcontainer;
//!   crun/runc binaries), and the embedded runtime's seccomp programs compiled
//!   once per profile and cached under `<root>/seccomp/`
//!   ([`oci::seccomp_bpf`]); [`cgroups`]: hybrid/v1/v2 detection, stats, cleanup.
//! - [`container`]: the container store (record + lifecycle state);
//!   [`lifecycle`]: create (a pure plan from typed options, then the act
//!   step; its network decisions in [`lifecycle::network`])/start/stop/kill/
//!   pause/remove/reconcile;
//!   [`monitor`]: the per-container monitor process (stdio, JSON logs, exit
//!   code, restart policy, healthcheck, and a bridge network's attachment,
//!   `/etc` files and embedded DNS between create and start);
//!   [`netns`]: the container's network namespace made by kiln (or joined,
//!   for `container:X`); [`rootfs`]: the writable snapshot
//!   mounted in a private mount namespace (per thread for library callers
//!   that create containers from several threads); [`volumes`]: named volumes;
//!   [`oneshot`]: one process over a given root filesystem (a build's RUN);
//!   [`init_layer`]: Docker's init-layer guarantee (`/dev`, `/proc`, `/etc/hosts`…
//!   are real inside the root filesystem before any runtime sees it).
//! - [`volume_use`]: volumes against the containers using them (`volume ls`
//!   filters, `rm`, `prune`).
//! - [`log_query`]: `docker logs` (time range, tail, follow).
//! - [`top`]: `docker top` (the host's `ps`, rows of the container's cgroup).
//! - [`terminal`]: the caller's terminal (raw mode, width) and the relay to a
//!   container's pty.
//! - [`copy`]: `docker cp` between a container (running or stopped) and the
//!   host, resolved inside the container's root.
//!
//! - [`error`]: the one error type of the public API ([`Error`]), with
//!   Docker's exit code of each failure ([`Error::exit_code`]).
//!
//! Run options are typed: values come parsed by `kiln_parser::values`
//! (mounts, network attachment, signals, restart policy, sizes…), which the
//! CLI and the Compose loader share.
//!
//! Networking: `none`, `host`, `container:NAME` and bridge networks as
//! Docker's ([`network`]: records, IPAM, bridges and veths over netlink, one
//! nftables table per root, published ports, the embedded DNS, the sweep).
//! Depends on `kiln-image`, `kiln-snapshotter` and `kiln-parser` (for the
//! typed option values).

pub mod cgroups;
pub mod container;
pub mod copy;
pub mod error;
pub mod init_binary;
pub mod init_layer;
pub mod lifecycle;
pub mod log_query;
pub mod monitor;
pub mod netns;
pub mod network;
pub mod oci;
pub mod oneshot;
pub mod rootfs;
pub mod spec;
pub mod terminal;
pub mod top;
pub mod volume_use;
pub mod volumes;

pub use error::{Error, Result};
