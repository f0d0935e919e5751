//! Low-level OCI runtimes behind one trait.
//!
//! A low-level runtime takes an OCI bundle (a directory with `config.json` whose
//! `root.path` names the root filesystem) and turns it into a running process:
//! namespaces, cgroups, mounts, capabilities, seccomp. kiln has three behind
//! [`OciRuntime`]:
//!
//! - [`Embedded`] (`kiln`, the default): youki's `libcontainer` crate, in process.
//!   libcontainer is not thread-safe (it `chdir()`s the process and clones from the
//!   calling thread), so it is only ever called from a single-threaded process
//!   (the per-container monitor, or the single-threaded CLI), and always with
//!   explicit stdio descriptors.
//!   With a seccomp cache ([`for_root`]) it installs programs compiled once
//!   per profile ([`seccomp_bpf`]) instead of having libcontainer compile the
//!   profile at every start.
//! - [`Binary`] (`crun`, `runc`, or a path): any runtime speaking the OCI runtime
//!   CLI (`create`, `start`, `exec`, `kill`, `pause`, `resume`, `delete`, each with
//!   `--root STATE_DIR`).
//!
//! # Process model
//!
//! Every call that starts a process ([`OciRuntime::run`], [`OciRuntime::exec`])
//! returns as soon as the process runs the user's program (or has failed to), with
//! its PID in the host's PID namespace. The process is *not* a child of the
//! caller: the caller must have made itself a child subreaper
//! (`prctl(PR_SET_CHILD_SUBREAPER)`) so that the process is re-parented to it and
//! it can `waitpid` for its exit status. [`become_subreaper`] does that.
//!
//! # State
//!
//! Each container has its own runtime state directory (`--root` of runc/crun, the
//! root path of libcontainer), chosen by the caller, so that removing a container
//! is removing its directory.

mod binary;
mod console;
mod diagnose;
mod embedded;
mod embedded_seccomp;
pub mod executor;
pub mod seccomp_bpf;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

pub use binary::Binary;
pub use console::ConsoleSocket;
pub use embedded::Embedded;

/// Everything that can go wrong in a low-level runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime refused or failed an operation; `message` is its own words
    /// (for binaries, the last line of its stderr).
    #[error("{runtime} {operation} {id}: {message}")]
    Failed {
        /// Runtime name.
        runtime: String,
        /// `create`, `start`, `exec`, `kill`, ….
        operation: &'static str,
        /// Container ID.
        id: String,
        /// What went wrong.
        message: String,
    },
    /// The runtime binary could not be found or started.
    #[error("OCI runtime {name:?} not found: {reason}")]
    NotFound {
        /// Name or path asked for.
        name: String,
        /// Why.
        reason: String,
    },
    /// A system call made by kiln itself failed.
    #[error("{context}: {source}")]
    Io {
        /// What kiln was doing.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, RuntimeError>;

/// How the container process's standard streams are connected.
pub enum Stdio {
    /// These descriptors become fds 0, 1 and 2 of the process
    /// (`process.terminal` must be false).
    Fds {
        /// fd 0.
        stdin: OwnedFd,
        /// fd 1.
        stdout: OwnedFd,
        /// fd 2.
        stderr: OwnedFd,
    },
    /// `process.terminal` is true: the runtime makes a pseudo-terminal and sends
    /// its master to this socket (see [`ConsoleSocket`]); the process gets the
    /// slave as its controlling terminal and fds 0-2.
    Terminal {
        /// Path of the listening unix socket.
        console_socket: PathBuf,
    },
}

/// One container to create and start.
pub struct RunRequest<'a> {
    /// Container ID (unique on the host; kiln's 64-hex container ID).
    pub id: &'a str,
    /// The bundle directory (holds `config.json`).
    pub bundle: &'a Path,
    /// The runtime's state directory for this container (created by the caller).
    pub state_dir: &'a Path,
    /// Standard streams.
    pub stdio: Stdio,
}

/// One extra process to start in a running container (`kiln exec`, healthchecks).
pub struct ExecRequest<'a> {
    /// Container ID.
    pub id: &'a str,
    /// The container's runtime state directory.
    pub state_dir: &'a Path,
    /// The process: args, env, cwd, user, terminal, capabilities, …
    /// (runtime-spec `process`, as in `config.json`).
    pub process: &'a oci_spec::runtime::Process,
    /// Standard streams (`Terminal` iff `process.terminal()` is true).
    pub stdio: Stdio,
}

/// A low-level OCI runtime. See the module docs for the process model.
pub trait OciRuntime {
    /// The name shown to users and recorded with the container (`kiln`, `crun`,
    /// `runc`, or the path given).
    fn name(&self) -> &str;

    /// Creates the container described by the bundle and starts its process;
    /// returns the process's host PID once it runs the user's program. A program
    /// that cannot be executed (not found, permission denied) is an error here,
    /// whose message says so in the runtime's words (the CLI maps it to exit codes
    /// 127/126). On error nothing of the container is left in `state_dir`.
    fn run(&self, request: RunRequest<'_>) -> Result<u32>;

    /// Starts an extra process in the running container, joining all of its
    /// namespaces and its cgroup; returns its host PID.
    fn exec(&self, request: ExecRequest<'_>) -> Result<u32>;

    /// Sends `signal` to the container's init (or to every process in it when
    /// `all`). A container that has already stopped is not an error.
    fn kill(&self, id: &str, state_dir: &Path, signal: i32, all: bool) -> Result<()>;

    /// Freezes every process of the container (cgroup freezer).
    fn pause(&self, id: &str, state_dir: &Path) -> Result<()>;

    /// Thaws a paused container.
    fn resume(&self, id: &str, state_dir: &Path) -> Result<()>;

    /// Removes the container's runtime state and its cgroup, killing what still
    /// runs when `force`. A container the runtime does not know is not an error.
    fn delete(&self, id: &str, state_dir: &Path, force: bool) -> Result<()>;
}

/// The runtime for `--runtime NAME`: `kiln` (or empty: the embedded default),
/// `crun`, `runc` (looked up in `PATH`), or a path to an OCI runtime binary.
pub fn by_name(name: &str) -> Result<Box<dyn OciRuntime>> {
    match name {
        "" | "kiln" | "libcontainer" => Ok(Box::new(Embedded::new())),
        other => Ok(Box::new(Binary::find(other)?)),
    }
}

/// Like [`by_name`], for containers of the kiln root `root`: the embedded
/// runtime keeps compiled seccomp programs in `<root>/seccomp/` (see
/// [`seccomp_bpf`]); crun and runc get the spec as it is.
pub fn for_root(root: &Path, name: &str) -> Result<Box<dyn OciRuntime>> {
    with_seccomp_cache(&root.join(SECCOMP_CACHE_DIR), name)
}

/// Like [`by_name`], with the embedded runtime keeping compiled seccomp
/// programs in `cache` (a build's RUN steps name `<root>/seccomp/`, the
/// same cache as containers, through [`crate::oneshot::OneShot`]).
pub fn with_seccomp_cache(cache: &Path, name: &str) -> Result<Box<dyn OciRuntime>> {
    match name {
        "" | "kiln" | "libcontainer" => {
            Ok(Box::new(Embedded::with_seccomp_cache(cache.to_path_buf())))
        }
        other => by_name(other),
    }
}

/// Where [`for_root`] keeps compiled seccomp programs, under the kiln root.
pub const SECCOMP_CACHE_DIR: &str = "seccomp";

/// Makes the calling process a child subreaper, so that container processes
/// started by a runtime are re-parented to it and can be waited for.
pub fn become_subreaper() -> Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(RuntimeError::Io {
            context: "prctl(PR_SET_CHILD_SUBREAPER)".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}
