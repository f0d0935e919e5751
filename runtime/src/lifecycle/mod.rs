//! Container operations that the CLI (and later Compose) call: create (a
//! pure [`plan`] from typed [`CreateOptions`], its network half in
//! [`network`], then the act step), start
//! through a monitor, stop, kill, pause, remove, [`exec`] of an extra process,
//! and finding the truth after a crash ([`reconcile`]).

mod control;
mod create;
mod exec;
pub mod network;
mod options;
pub mod plan;

pub use control::{
    kill, pause, reconcile, remove, remove_stopped, start_detached, stop, unpause, wait_inactive,
    MONITOR_SUBCOMMAND,
};
pub use create::{create, remove_anonymous_volumes};
pub use exec::{exec, exec_process, ExecError, ExecOptions};
pub use options::{
    CreateOptions, ExposedPort, HealthOverrides, LogConfig, Resources, SecurityOptions, StopSignal,
};
pub use plan::{plan, CreatePlan, PlanContext};
