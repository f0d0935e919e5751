//! Container operations that the CLI (and later Compose) call: create, start
//! through a monitor, stop, kill, pause, remove, [`exec`] of an extra process,
//! and finding the truth after a crash ([`reconcile`]).

mod control;
mod create;
mod exec;

pub use control::{
    kill, parse_signal, pause, reconcile, remove, remove_stopped, start_detached, start_error,
    stop, unpause, wait_inactive, MONITOR_SUBCOMMAND,
};
pub use create::{create, remove_anonymous_volumes, CreateOptions, HealthOverrides};
pub use exec::{exec, exec_process, ExecError, ExecOptions};
