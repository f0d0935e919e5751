//! `kiln-runtime`: containers.
//!
//! - [`spec`]: the OCI runtime-spec `config.json` from an image config plus run
//!   options, with Docker's isolation defaults.
//! - [`oci`]: the low-level runtimes behind one trait (embedded libcontainer;
//!   crun/runc binaries); [`cgroups`]: hybrid/v1/v2 detection, stats, cleanup.
//! - [`container`]: the container store (record + lifecycle state);
//!   [`lifecycle`]: create (a pure plan from typed options, then the act
//!   step)/start/stop/kill/pause/remove/reconcile;
//!   [`monitor`]: the per-container monitor process (stdio, JSON logs, exit
//!   code, restart policy, healthcheck); [`rootfs`]: the writable snapshot
//!   mounted in a private mount namespace; [`volumes`]: named volumes;
//!   [`oneshot`]: one process over a given root filesystem (a build's RUN);
//!   [`init_layer`]: Docker's init-layer guarantee (`/dev`, `/proc`, `/etc/hosts`…
//!   are real inside the root filesystem before any runtime sees it).
//!
//! - [`error`]: the one error type of the public API ([`Error`]), with
//!   Docker's exit code of each failure ([`Error::exit_code`]).
//!
//! Run options are typed: values come parsed by `kiln_parser::values`
//! (mounts, network attachment, signals, restart policy, sizes…), which the
//! CLI and the Compose loader share.
//!
//! Networking: `none` and `host` (bridge networks come later; the network
//! namespace is part of the spec so they fit in).
//! Depends on `kiln-image`, `kiln-snapshotter` and `kiln-parser` (for the
//! typed option values).

pub mod cgroups;
pub mod container;
pub mod error;
pub mod init_binary;
pub mod init_layer;
pub mod lifecycle;
pub mod monitor;
pub mod netns;
pub mod oci;
pub mod oneshot;
pub mod rootfs;
pub mod spec;
pub mod volumes;

pub use error::{Error, Result};
