//! The embedded runtime: youki's `libcontainer`, in process.
//!
//! # Threads
//!
//! libcontainer 0.7 is **not thread-safe**: it `chdir()`s the whole process while
//! creating a container and clones the container's processes from the calling
//! thread. Call [`Embedded`] only from a single-threaded process (kiln's
//! per-container monitor, the single-threaded CLI, a test binary running one
//! test), never from a thread pool.
//!
//! # Layout and stdio
//!
//! The container's state lives in `STATE_DIR/<id>` (libcontainer's root path is
//! the state directory). Stdio descriptors are always given explicitly: without
//! them libcontainer makes the container's stdio `/dev/null`, opened read-only.
//! For a terminal, the three are `/dev/null` (read-write) and libcontainer
//! replaces them with the pty slave. Systemd cgroup management is off: the spec's
//! `linux.cgroupsPath` (always set by kiln, e.g. `/kiln/<id>`) is used as is.
//!
//! # Seccomp
//!
//! With a cache directory ([`Embedded::with_seccomp_cache`], which
//! [`super::for_root`] gives every container of a kiln root), the profile is
//! compiled once and its program installed by kiln's executor; without one,
//! libcontainer compiles it at every start. See [`super::embedded_seccomp`].

use std::fs::{File, OpenOptions};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;

use super::embedded_seccomp;
use super::executor::KilnExecutor;
use super::{ExecRequest, OciRuntime, Result, RunRequest, RuntimeError, Stdio};

/// The in-process runtime (`kiln`). See the module docs: single-threaded callers
/// only.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// Where compiled seccomp programs are kept; `None`: libcontainer
    /// compiles the profile at every start.
    seccomp_cache: Option<PathBuf>,
}

impl Embedded {
    /// The embedded runtime. Creating it does nothing; each call loads the
    /// container's state from its state directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The embedded runtime with a seccomp program cache in `dir`: each
    /// profile is compiled once and its program installed by kiln's executor
    /// (see [`super::embedded_seccomp`]).
    pub fn with_seccomp_cache(dir: PathBuf) -> Self {
        Self {
            seccomp_cache: Some(dir),
        }
    }

    fn failed(operation: &'static str, id: &str, err: &dyn std::error::Error) -> RuntimeError {
        RuntimeError::Failed {
            runtime: "kiln".into(),
            operation,
            id: id.to_owned(),
            message: error_chain(err),
        }
    }

    /// The container's state, `None` if libcontainer has none for it.
    fn load(operation: &'static str, id: &str, state_dir: &Path) -> Result<Option<Container>> {
        let dir = state_dir.join(id);
        if !dir.join("state.json").exists() {
            return Ok(None);
        }
        let mut container = Container::load(dir).map_err(|e| Self::failed(operation, id, &e))?;
        // A dead init makes the loaded state "stopped" rather than an error.
        let _ = container.refresh_status();
        Ok(Some(container))
    }

    fn start(
        &self,
        id: &str,
        request_bundle: &Path,
        state_dir: &Path,
        stdio: Stdio,
    ) -> Result<u32> {
        let late = match &self.seccomp_cache {
            Some(cache) => embedded_seccomp::prepare(cache, id, request_bundle, state_dir)?,
            None => None,
        };
        let (bundle, seccomp) = match late {
            Some((bundle, late)) => (Some(bundle), Some(late)),
            None => (None, None),
        };
        let builder = base_builder(id, state_dir, KilnExecutor { seccomp })?;
        let builder = with_stdio(builder, stdio)?;
        let built = builder
            .as_init(bundle.as_deref().unwrap_or(request_bundle))
            .with_systemd(false)
            .with_detach(true)
            .build();
        if let Some(bundle) = &bundle {
            let _ = std::fs::remove_dir_all(bundle);
        }
        let mut container = built
            .map_err(|e| with_rootfs_context(Self::failed("create", id, &e), request_bundle))?;
        if bundle.is_some() {
            // `exec` reads the recorded bundle's spec again: it must be the
            // real one, whose seccomp profile libcontainer applies to every
            // process exec'd into the container, as before.
            container.state.bundle = std::fs::canonicalize(request_bundle)
                .unwrap_or_else(|_| request_bundle.to_path_buf());
            container
                .save()
                .map_err(|e| Self::failed("create", id, &e))?;
        }
        container
            .start()
            .map_err(|e| Self::failed("start", id, &e))?;
        let pid = container.pid().ok_or_else(|| RuntimeError::Failed {
            runtime: "kiln".into(),
            operation: "start",
            id: id.to_owned(),
            message: "container state has no pid".into(),
        })?;
        Ok(pid.as_raw() as u32)
    }
}

impl OciRuntime for Embedded {
    fn name(&self) -> &str {
        "kiln"
    }

    fn run(&self, request: RunRequest<'_>) -> Result<u32> {
        let RunRequest {
            id,
            bundle,
            state_dir,
            stdio,
        } = request;
        let started = self.start(id, bundle, state_dir, stdio);
        if started.is_err() {
            // Leave nothing behind: the half-made container and its state.
            if let Ok(Some(mut container)) = Self::load("delete", id, state_dir) {
                let _ = container.delete(true);
            }
            let _ = std::fs::remove_dir_all(state_dir.join(id));
        }
        started
    }

    fn exec(&self, request: ExecRequest<'_>) -> Result<u32> {
        let ExecRequest {
            id,
            state_dir,
            process,
            stdio,
        } = request;
        let process_file = scratch_path(state_dir, "json");
        let json = serde_json::to_vec(process).map_err(|err| RuntimeError::Failed {
            runtime: "kiln".into(),
            operation: "exec",
            id: id.to_owned(),
            message: err.to_string(),
        })?;
        std::fs::write(&process_file, json).map_err(|source| RuntimeError::Io {
            context: format!("write {}", process_file.display()),
            source,
        })?;
        let result = base_builder(id, state_dir, KilnExecutor::default())
            .and_then(|b| with_stdio(b, stdio))
            .and_then(|b| {
                b.as_tenant()
                    .with_process(Some(&process_file))
                    .with_detach(true)
                    .build()
                    .map_err(|e| Self::failed("exec", id, &e))
            });
        let _ = std::fs::remove_file(&process_file);
        Ok(result?.as_raw() as u32)
    }

    fn kill(&self, id: &str, state_dir: &Path, signal: i32, all: bool) -> Result<()> {
        let Some(mut container) = Self::load("kill", id, state_dir)? else {
            return Ok(());
        };
        if container.status() == ContainerStatus::Stopped {
            return Ok(());
        }
        let signal = Signal::try_from(signal).map_err(|e| Self::failed("kill", id, &e))?;
        container
            .kill(signal, all)
            .map_err(|e| Self::failed("kill", id, &e))
    }

    fn pause(&self, id: &str, state_dir: &Path) -> Result<()> {
        let mut container =
            Self::load("pause", id, state_dir)?.ok_or_else(|| unknown("pause", id))?;
        container.pause().map_err(|e| Self::failed("pause", id, &e))
    }

    fn resume(&self, id: &str, state_dir: &Path) -> Result<()> {
        let mut container =
            Self::load("resume", id, state_dir)?.ok_or_else(|| unknown("resume", id))?;
        container
            .resume()
            .map_err(|e| Self::failed("resume", id, &e))
    }

    fn delete(&self, id: &str, state_dir: &Path, force: bool) -> Result<()> {
        if let Some(mut container) = Self::load("delete", id, state_dir)? {
            container
                .delete(force)
                .map_err(|e| Self::failed("delete", id, &e))?;
        }
        match std::fs::remove_dir_all(state_dir.join(id)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(RuntimeError::Io {
                context: format!("remove {}", state_dir.join(id).display()),
                source: err,
            }),
            _ => Ok(()),
        }
    }
}

/// A builder for container `id` whose state lives under `state_dir`.
fn base_builder(id: &str, state_dir: &Path, executor: KilnExecutor) -> Result<ContainerBuilder> {
    ContainerBuilder::new(id.to_owned(), SyscallType::default())
        .with_executor(executor)
        .with_root_path(state_dir)
        .map_err(|e| Embedded::failed("create", id, &e))
}

/// Gives the builder explicit stdio: the request's fds, or `/dev/null` plus the
/// console socket for a terminal.
fn with_stdio(builder: ContainerBuilder, stdio: Stdio) -> Result<ContainerBuilder> {
    Ok(match stdio {
        Stdio::Fds {
            stdin,
            stdout,
            stderr,
        } => builder
            .with_stdin(stdin)
            .with_stdout(stdout)
            .with_stderr(stderr),
        Stdio::Terminal { console_socket } => builder
            .with_stdin(dev_null()?)
            .with_stdout(dev_null()?)
            .with_stderr(dev_null()?)
            .with_console_socket(Some(console_socket)),
    })
}

fn dev_null() -> Result<OwnedFd> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map(|f: File| f.into())
        .map_err(|source| RuntimeError::Io {
            context: "open /dev/null".into(),
            source,
        })
}

fn unknown(operation: &'static str, id: &str) -> RuntimeError {
    RuntimeError::Failed {
        runtime: "kiln".into(),
        operation,
        id: id.to_owned(),
        message: "container does not exist".into(),
    }
}

/// Adds what is wrong (see [`super::diagnose`]) to libcontainer's bare
/// "failed to prepare rootfs".
fn with_rootfs_context(err: RuntimeError, bundle: &Path) -> RuntimeError {
    match err {
        RuntimeError::Failed {
            runtime,
            operation,
            id,
            message,
        } if message.ends_with("failed to prepare rootfs") => RuntimeError::Failed {
            runtime,
            operation,
            id,
            message: format!("{message}: {}", super::diagnose::rootfs_failure(bundle)),
        },
        other => other,
    }
}

/// The error and its sources, joined with `: ` (libcontainer's errors are
/// layered; the innermost one says what actually failed).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = inner.source();
    }
    message
}

/// A per-call file in the state directory (`.kiln-exec-<nanos>.<ext>`).
fn scratch_path(state_dir: &Path, ext: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    state_dir.join(format!(".kiln-exec-{nanos}.{ext}"))
}
