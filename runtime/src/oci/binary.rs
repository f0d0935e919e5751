//! An OCI runtime binary (runc, crun, or any path) driven through its CLI.
//!
//! Each operation is one invocation with `--root STATE_DIR` (the container's own
//! state directory) and `--log FILE --log-format=json`: the runtime's stderr may be
//! the container's stderr (runc and crun hand their own stdio to a container
//! without a terminal), so its error messages are read from that JSON log instead
//! (the last `"level":"error"` line), and the file is removed afterwards.
//!
//! `run` is `create --bundle B [--console-socket S] --pid-file F ID` with the
//! [`Stdio`] descriptors as the create process's fds 0-2, then `start ID`; a
//! failure in either deletes what was created. `exec` is `exec --detach --pid-file
//! F [--console-socket S] --process P.json ID`.
//!
//! Hybrid cgroup hosts: crun (Debian's 1.8) refuses a host whose
//! `/sys/fs/cgroup/unified` carries controllers. Every crun invocation on a
//! [`CgroupMode::Hybrid`] host therefore runs in a private mount namespace with that
//! mount detached (see `hybrid.rs`), where the host looks like plain cgroup
//! v1; runc handles hybrid hosts itself (it uses v1) and runs as is.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod hybrid;
mod log;

use super::{ExecRequest, OciRuntime, Result, RunRequest, RuntimeError, Stdio};
use crate::cgroups::{self, CgroupMode};

/// Directories searched after `PATH`: runtimes live in `sbin`, which a non-login
/// root shell's `PATH` sometimes lacks.
const FALLBACK_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// How long `pause` waits for the freezer to settle after the runtime returns.
const PAUSE_PATIENCE: Duration = Duration::from_secs(5);

/// An OCI runtime binary speaking the runc CLI.
#[derive(Debug, Clone)]
pub struct Binary {
    name: String,
    path: PathBuf,
    hide_unified: bool,
}

impl Binary {
    /// Finds the runtime: a name containing `/` is a path to an executable file;
    /// any other name is looked up in `PATH`, then in the usual `sbin`/`bin`
    /// directories. [`RuntimeError::NotFound`] if there is no such executable.
    pub fn find(name: &str) -> Result<Self> {
        let not_found = |reason: String| RuntimeError::NotFound {
            name: name.to_owned(),
            reason,
        };
        let path = if name.contains('/') {
            let path = PathBuf::from(name);
            if !is_executable(&path) {
                return Err(not_found("not an executable file".into()));
            }
            path
        } else if name.is_empty() {
            return Err(not_found("empty name".into()));
        } else {
            let path_var = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path_var)
                .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
                .map(|dir| dir.join(name))
                .find(|p| is_executable(p))
                .ok_or_else(|| not_found("not in PATH".into()))?
        };
        let is_crun = path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("crun"));
        Ok(Self {
            name: name.to_owned(),
            path,
            hide_unified: is_crun && cgroups::detect() == CgroupMode::Hybrid,
        })
    }

    /// The executable that is run.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `<runtime> --root STATE --log L --log-format=json ARGS…` with `stdio`
    /// (or /dev/null) as its fds 0-2; an unsuccessful exit becomes
    /// [`RuntimeError::Failed`] with the runtime's last logged error.
    fn invoke(
        &self,
        operation: &'static str,
        id: &str,
        state_dir: &Path,
        args: &[OsString],
        stdio: Option<Stdio>,
    ) -> Result<()> {
        let log = scratch_path(state_dir, operation, "log");
        let mut command = self.command(state_dir, &log);
        command.args(args);
        if let Some(Stdio::Fds {
            stdin,
            stdout,
            stderr,
        }) = stdio
        {
            command.stdin(stdin).stdout(stdout).stderr(stderr);
        } else {
            command
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        let status = command.status().map_err(|source| RuntimeError::Io {
            context: format!("start {}", self.path.display()),
            source,
        });
        // The descriptors given to the child are closed here (moved into `command`).
        drop(command);
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        let status = status?;
        if status.success() {
            return Ok(());
        }
        let message = log::last_error(&logged).unwrap_or_else(|| format!("exited with {status}"));
        Err(self.failed(operation, id, message))
    }

    /// The base command line, in a mount namespace without the unified cgroup
    /// hierarchy when this is crun on a hybrid host.
    fn command(&self, state_dir: &Path, log: &Path) -> Command {
        let mut command = Command::new(&self.path);
        command
            .arg("--root")
            .arg(state_dir)
            .arg(format!("--log={}", log.display()))
            .arg("--log-format=json");
        if self.hide_unified {
            // SAFETY: the hook only makes raw system calls (async-signal-safe).
            unsafe { command.pre_exec(hybrid::hide_unified_hierarchy) };
        }
        command
    }

    /// `state ID`'s status (`created`, `running`, `paused`, `stopped`), `None` when
    /// the runtime does not know the container.
    fn status(&self, id: &str, state_dir: &Path) -> Option<String> {
        let log = scratch_path(state_dir, "state", "log");
        let output = self
            .command(state_dir, &log)
            .args(["state", id])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        let _ = std::fs::remove_file(&log);
        let output = output.ok().filter(|o| o.status.success())?;
        let state: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        state["status"].as_str().map(str::to_owned)
    }

    /// Undoes a half-done `run`: force-deletes the container, ignoring errors.
    fn clean_up(&self, id: &str, state_dir: &Path) {
        let args = [OsString::from("delete"), "--force".into(), id.into()];
        let _ = self.invoke("delete", id, state_dir, &args, None);
    }

    fn failed(&self, operation: &'static str, id: &str, message: String) -> RuntimeError {
        RuntimeError::Failed {
            runtime: self.name.clone(),
            operation,
            id: id.to_owned(),
            message,
        }
    }

    /// Reads the PID a runtime wrote to `pid_file`, then removes the file.
    fn take_pid(&self, operation: &'static str, id: &str, pid_file: &Path) -> Result<u32> {
        let text = std::fs::read_to_string(pid_file).map_err(|source| RuntimeError::Io {
            context: format!("read pid file {}", pid_file.display()),
            source,
        });
        let _ = std::fs::remove_file(pid_file);
        let text = text?;
        text.trim()
            .parse()
            .map_err(|_| self.failed(operation, id, format!("bad pid file content {text:?}")))
    }
}

impl OciRuntime for Binary {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, request: RunRequest<'_>) -> Result<u32> {
        let RunRequest {
            id,
            bundle,
            state_dir,
            stdio,
        } = request;
        let pid_file = scratch_path(state_dir, "init", "pid");
        let mut args: Vec<OsString> = vec!["create".into(), "--bundle".into(), bundle.into()];
        if let Stdio::Terminal { console_socket } = &stdio {
            args.extend(["--console-socket".into(), console_socket.into()]);
        }
        args.extend(["--pid-file".into(), pid_file.clone().into(), id.into()]);
        let started = self
            .invoke("create", id, state_dir, &args, Some(stdio))
            .and_then(|()| self.take_pid("create", id, &pid_file))
            .and_then(|pid| {
                self.invoke("start", id, state_dir, &["start".into(), id.into()], None)?;
                Ok(pid)
            });
        if started.is_err() {
            let _ = std::fs::remove_file(&pid_file);
            self.clean_up(id, state_dir);
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
        let pid_file = scratch_path(state_dir, "exec", "pid");
        let process_file = scratch_path(state_dir, "exec", "json");
        let json =
            serde_json::to_vec(process).map_err(|err| self.failed("exec", id, err.to_string()))?;
        std::fs::write(&process_file, json).map_err(|source| RuntimeError::Io {
            context: format!("write {}", process_file.display()),
            source,
        })?;
        let mut args: Vec<OsString> = vec![
            "exec".into(),
            "--detach".into(),
            "--pid-file".into(),
            pid_file.clone().into(),
        ];
        if let Stdio::Terminal { console_socket } = &stdio {
            args.extend(["--console-socket".into(), console_socket.into()]);
        }
        args.extend(["--process".into(), process_file.clone().into(), id.into()]);
        let result = self.invoke("exec", id, state_dir, &args, Some(stdio));
        let _ = std::fs::remove_file(&process_file);
        match result {
            Ok(()) => self.take_pid("exec", id, &pid_file),
            Err(err) => {
                let _ = std::fs::remove_file(&pid_file);
                Err(err)
            }
        }
    }

    fn kill(&self, id: &str, state_dir: &Path, signal: i32, all: bool) -> Result<()> {
        let mut args: Vec<OsString> = vec!["kill".into()];
        if all {
            args.push("--all".into());
        }
        args.extend([id.into(), signal.to_string().into()]);
        match self.invoke("kill", id, state_dir, &args, None) {
            Err(_)
                if matches!(
                    self.status(id, state_dir).as_deref(),
                    None | Some("stopped")
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    fn pause(&self, id: &str, state_dir: &Path) -> Result<()> {
        self.invoke("pause", id, state_dir, &["pause".into(), id.into()], None)?;
        // crun 1.8 (cgroup v1) can return while the freezer is still FREEZING;
        // the contract is "frozen" when this returns.
        let deadline = Instant::now() + PAUSE_PATIENCE;
        while self.status(id, state_dir).as_deref() != Some("paused") {
            if Instant::now() >= deadline {
                return Err(self.failed(
                    "pause",
                    id,
                    "the cgroup freezer did not report FROZEN".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn resume(&self, id: &str, state_dir: &Path) -> Result<()> {
        self.invoke("resume", id, state_dir, &["resume".into(), id.into()], None)
    }

    fn delete(&self, id: &str, state_dir: &Path, force: bool) -> Result<()> {
        let mut args: Vec<OsString> = vec!["delete".into()];
        if force {
            args.push("--force".into());
        }
        args.push(id.into());
        match self.invoke("delete", id, state_dir, &args, None) {
            Err(_) if self.status(id, state_dir).is_none() => Ok(()),
            other => other,
        }
    }
}

/// A per-call file in the state directory (`.kiln-<what>-<nanos>.<ext>`).
fn scratch_path(state_dir: &Path, what: &str, ext: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    state_dir.join(format!(".kiln-{what}-{nanos}.{ext}"))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
