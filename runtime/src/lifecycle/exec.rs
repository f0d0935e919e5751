//! `exec`: an extra process in a running container, as `docker exec` starts
//! it.
//!
//! The process is the container's own (`bundle/config.json`'s `process`: user,
//! env, cwd, capabilities, AppArmor, `noNewPrivileges`, rlimits) with the
//! arguments replaced and the caller's `-e`, `-u`, `-w`, `-t` applied. The
//! user is resolved through the container's own `/etc/passwd`, read through
//! `/proc/<init pid>/root` so that it is the file the container sees now.
//! The low-level runtime joins every namespace and the cgroup of the
//! container. As for every runtime call, the caller must be single-threaded
//! and a child subreaper ([`crate::oci::become_subreaper`]); it reaps the
//! returned PID itself.

use std::path::Path;

use oci_spec::runtime::{Process, Spec};

use crate::container::{Container, ContainerStore, Event};
use crate::error::StartFailure;
use crate::oci::{self, ExecRequest, RuntimeError, Stdio};
use crate::spec::{resolve_user, SpecError};

/// What the caller asks of `exec` besides the command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The command and its arguments (must not be empty).
    pub args: Vec<String>,
    /// `KEY=VALUE` entries added to (or replacing in) the container's env;
    /// a bare `KEY` takes the caller's own value, or is dropped when unset.
    pub env: Vec<String>,
    /// `-u`: `name|uid[:group|gid]`; `None` keeps the container's user.
    pub user: Option<String>,
    /// `-w`: absolute working directory; `None` keeps the container's.
    pub workdir: Option<String>,
    /// `-t`: a pseudo-terminal (the runtime sends its master to a console socket).
    pub tty: bool,
}

/// Why an exec failed, with Docker's exit code ([`ExecError::exit_code`]):
/// 1 for a container in the wrong state or a bad request, 126/127 for a
/// program that cannot be run or found, 125 for other runtime failures.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The container is not running (Docker's words for a paused one).
    #[error("container {container} {reason}")]
    WrongState {
        /// The container ID.
        container: String,
        /// Docker's reason (`is not running`, `is paused…`).
        reason: String,
    },
    /// No command was given.
    #[error("no command specified")]
    NoCommand,
    /// A bad `-e` entry.
    #[error(transparent)]
    BadEnv(SpecError),
    /// `-w` is not absolute.
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    RelativeWorkdir(String),
    /// `-u` names a user or group the container does not have.
    #[error("unable to find user {user}: {source}")]
    UnknownUser {
        /// The user asked for.
        user: String,
        /// Why it did not resolve.
        source: SpecError,
    },
    /// The container's bundle could not be read.
    #[error("read {}: {message}", path.display())]
    Bundle {
        /// `config.json`.
        path: std::path::PathBuf,
        /// The parse or read error.
        message: String,
    },
    /// The bundle has no process template.
    #[error("{}: no process", .0.display())]
    NoProcess(std::path::PathBuf),
    /// The container's runtime could not be found.
    #[error(transparent)]
    Runtime(RuntimeError),
    /// The runtime did not start the process (its words).
    #[error("{message}")]
    Start {
        /// Docker's classification.
        failure: StartFailure,
        /// The runtime's words.
        message: String,
    },
}

impl ExecError {
    /// Docker's exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::WrongState { .. }
            | ExecError::NoCommand
            | ExecError::BadEnv(_)
            | ExecError::RelativeWorkdir(_) => 1,
            ExecError::UnknownUser { .. } => crate::error::EXIT_CANNOT_INVOKE,
            ExecError::Start { failure, .. } => failure.exit_code(),
            _ => crate::error::EXIT_KILN,
        }
    }
}

/// Builds the exec process for `container` from its bundle's `process`
/// template and `options`. Fails (code 1) unless the container is running
/// (Docker's words for a paused one), and (code 126) for an unknown user.
pub fn exec_process(
    store: &ContainerStore,
    container: &Container,
    options: &ExecOptions,
) -> Result<Process, ExecError> {
    let id = &container.record.id;
    container
        .state
        .status
        .can(Event::Exec)
        .map_err(|reason| ExecError::WrongState {
            container: id.clone(),
            reason: reason.into(),
        })?;
    if container.state.pid == 0 {
        return Err(ExecError::WrongState {
            container: id.clone(),
            reason: "is not running".into(),
        });
    }
    if options.args.is_empty() {
        return Err(ExecError::NoCommand);
    }
    // A bad `-e` (empty name, NUL) is a bad request, refused before the runtime.
    crate::spec::check_env("-e", &options.env, true).map_err(ExecError::BadEnv)?;
    let config = store.dir(id).join("bundle/config.json");
    let spec = Spec::load(&config).map_err(|e| ExecError::Bundle {
        path: config.clone(),
        message: e.to_string(),
    })?;
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| ExecError::NoProcess(config.clone()))?;
    process.set_args(Some(options.args.clone()));
    process.set_terminal(Some(options.tty));
    process.set_console_size(None);
    let mut env = process.env().clone().unwrap_or_default();
    if let Some(user) = options.user.as_deref().filter(|u| !u.is_empty()) {
        let rootfs = Path::new("/proc")
            .join(container.state.pid.to_string())
            .join("root");
        let resolved = resolve_user(&rootfs, user).map_err(|source| ExecError::UnknownUser {
            user: user.to_string(),
            source,
        })?;
        let mut spec_user = process.user().clone();
        spec_user.set_uid(resolved.uid);
        spec_user.set_gid(resolved.gid);
        spec_user.set_additional_gids(
            (!resolved.additional_gids.is_empty()).then_some(resolved.additional_gids),
        );
        process.set_user(spec_user);
        // HOME follows the exec user unless the image or `run -e` set it.
        let home_given = container
            .record
            .config
            .env
            .iter()
            .any(|e| key_of(e) == "HOME");
        if !home_given {
            set_env(&mut env, &format!("HOME={}", resolved.home));
        }
    }
    if let Some(dir) = options.workdir.as_deref().filter(|d| !d.is_empty()) {
        if !dir.starts_with('/') {
            return Err(ExecError::RelativeWorkdir(dir.to_string()));
        }
        process.set_cwd(dir.into());
    }
    if options.tty && !env.iter().any(|e| key_of(e) == "TERM") {
        env.push("TERM=xterm".into());
    }
    for entry in &options.env {
        if entry.contains('=') {
            set_env(&mut env, entry);
        } else if let Ok(value) = std::env::var(entry) {
            set_env(&mut env, &format!("{entry}={value}"));
        }
    }
    process.set_env(Some(env));
    Ok(process)
}

/// Starts `process` in `container` through the container's own runtime
/// (`record.runtime`); returns its host PID. A program that cannot be found
/// or executed fails with 127/126 and the runtime's words.
pub fn exec(
    store: &ContainerStore,
    container: &Container,
    process: &Process,
    stdio: Stdio,
) -> Result<u32, ExecError> {
    let runtime = oci::by_name(&container.record.runtime).map_err(ExecError::Runtime)?;
    let state_dir = store.dir(&container.record.id).join("runtime");
    let request = ExecRequest {
        id: &container.record.id,
        state_dir: &state_dir,
        process,
        stdio,
    };
    runtime.exec(request).map_err(|e| {
        let message = e.to_string();
        ExecError::Start {
            failure: StartFailure::classify(&message),
            message,
        }
    })
}

fn key_of(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Replaces the entry with the same key as `entry`, or appends it.
fn set_env(env: &mut Vec<String>, entry: &str) {
    let key = key_of(entry);
    match env.iter_mut().find(|e| key_of(e) == key) {
        Some(slot) => *slot = entry.to_string(),
        None => env.push(entry.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_entries_replace_by_key() {
        let mut env = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        set_env(&mut env, "A=2");
        set_env(&mut env, "B=3");
        assert_eq!(env, ["PATH=/bin", "A=2", "B=3"]);
        assert_eq!(key_of("X"), "X");
    }
}
