//! Docker's value syntaxes: the text of a run flag (or of the same field in
//! a Compose file) to a typed value. Pure functions of their input, each
//! returning a [`ValueError`] that names the value.
//!
//! Both the CLI (`kiln run`/`create` flags) and the Compose loader use
//! them: Compose's short `volumes:` form is `-v`'s grammar, its `ports:`
//! short form `-p`'s.
//!
//! - [`go`]: Go's `time.ParseDuration` ([`parse_go_duration`]) and CSV records;
//! - [`size`]: go-units' `RAMInBytes` ([`ram_in_bytes`]) and `FromHumanSize`;
//! - [`signal`]: signal names and numbers ([`parse_signal`]);
//! - [`restart`]: restart policies ([`parse_restart_policy`]);
//! - [`port`]: published ports `[ip:][host[-range]:]container[-range][/proto]`;
//! - [`mount`]: the typed [`MountRequest`] and `--mount`'s CSV form;
//!   [`volume`]: `-v`'s short form; [`tmpfs`]: `--tmpfs` and tmpfs options;
//! - [`network`]: `--network`'s [`NetworkAttachment`];
//! - [`security`], the `--security-opt` values;
//! - [`host`]: `--ulimit`, `--device`, `--sysctl`, `--add-host`.

mod error;
pub mod go;
pub mod host;
pub mod mount;
pub mod network;
pub mod port;
pub mod restart;
pub mod security;
pub mod signal;
pub mod size;
pub mod tmpfs;
pub mod volume;

pub use error::ValueError;
pub use go::parse_go_duration;
pub use host::{
    parse_device, parse_extra_host, parse_sysctl, parse_ulimit, DeviceMapping, HostAddress, Ulimit,
};
pub use mount::{parse_mount, MountKind, MountRequest, Propagation};
pub use network::{parse_network, NetworkAttachment};
pub use port::{parse_port_spec, PortMapping, PortRange, Protocol};
pub use restart::{parse_restart_policy, RestartPolicy};
pub use security::{parse_security_opt, SeccompProfile, SecurityOpt};
pub use signal::{parse_signal, Signal};
pub use size::{from_human_size, ram_in_bytes};
pub use tmpfs::{check_destination, check_tmpfs, parse_tmpfs};
pub use volume::{parse_volume, valid_volume_name};
