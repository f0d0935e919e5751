//! The per-container monitor: the one process that owns a container while it
//! lives, like conmon or a containerd shim.
//!
//! A monitor runs either as its own process (`kiln run -d`, `kiln start`: kiln
//! re-executes itself as `kiln container-monitor ID`, in a new session, and the
//! CLI may exit) or inside the CLI process for a foreground `kiln run`. Either
//! way it is single-threaded (libcontainer requires it) and:
//!
//! 1. enters a private mount namespace and mounts the container's root
//!    filesystem there — so the mount vanishes with the monitor and the
//!    container, whatever kills them;
//! 2. makes itself a child subreaper, so the container's init is re-parented to
//!    it and it alone reaps the exit status;
//! 3. starts the container through the low-level runtime, with pipes (or a
//!    pseudo-terminal) for its output, and writes every line to the JSON log
//!    ([`logs`]), and — in the foreground — to the terminal;
//! 4. records state changes (running, exit code and time) in the store;
//! 5. runs the healthcheck on its schedule ([`health`]); on bridge networks
//!    it attaches the container before its first start, serves its DNS from
//!    the same poll loop, and detaches at its end ([`network`]);
//! 6. when the process exits, cleans up the runtime's state and cgroup and
//!    applies the restart policy (Docker's back-off: 100 ms doubling to 1 min,
//!    reset after 10 s of running); with `--rm`, removes the container.
//!
//! Its own footprint stays small: it allocates little and does no work
//! between events (it sleeps in `poll`).

mod health;
pub mod logs;
mod network;
mod session;
mod sys;

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;

use crate::container::ContainerStore;
use crate::error::Result;

pub use logs::{read_log, LogEntry, LogWriter, Stream};
pub use sys::{copy_window_size, reap_any};

/// How the monitor's container is connected to the caller.
pub enum Mode {
    /// A detached monitor: nobody is attached. `ready` (if any) receives one
    /// line once the first start has succeeded (`ok`) or failed
    /// (`err CODE MESSAGE`), then is closed.
    Detached {
        /// Readiness pipe to the CLI that started the monitor.
        ready: Option<File>,
    },
    /// A foreground run: output goes to the caller's stdout/stderr as well as
    /// the log; with `stdin`, the caller's standard input is the container's
    /// (`-i`); signals the caller receives are passed on (Docker's sig-proxy).
    Foreground {
        /// The caller's standard input, for `-i`.
        stdin: Option<OwnedFd>,
    },
}

/// The log file of container `id` in its directory.
pub fn log_path(store: &ContainerStore, id: &str) -> std::path::PathBuf {
    store.dir(id).join(format!("{id}-json.log"))
}

/// Runs the monitor of container `id` of the kiln root `root` until the
/// container has exited for good (restart policy done); returns its last exit
/// code. Errors before the first start are returned (and, when detached,
/// written to the readiness pipe as `err CODE MESSAGE`, which
/// [`crate::lifecycle::start_detached`] reads back).
pub fn run(root: &Path, id: &str, mode: Mode) -> Result<i32> {
    let (mut ready, stdin, foreground) = match mode {
        Mode::Detached { ready } => (ready, None, false),
        Mode::Foreground { stdin } => (None, stdin, true),
    };
    let result = session::Session::open(root, id, foreground, stdin)
        .and_then(|mut session| session.run(&mut ready));
    if let (Err(error), Some(mut pipe)) = (&result, ready.take()) {
        let _ = writeln!(pipe, "err {} {error}", error.exit_code());
    }
    result
}
