//! RUN: the step's process runs in a child `kiln oneshot-run JOB.json`
//! (libcontainer must not be called from the solver's threads) over an
//! active snapshot of the input; its output goes to the progress events and,
//! in full, to `<root>/builder/logs/<build id>/<vertex>.log`.
//!
//! Choices: hostname `buildkitsandbox` as BuildKit; `--network=default` is
//! the host's network (BuildKit's default gives the step network access and
//! kiln has no build network yet); `--security=insecure` is privileged.
//! Mount points the step's mounts needed and the input did not have are
//! removed again when empty, as BuildKit does, so they stay out of the layer.
//! A step with an ssh mount gets `SSH_AUTH_SOCK` (see `ssh_auth_sock`).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kiln_parser::dockerfile::instructions::{NetworkMode, SecurityMode};
use kiln_runtime::oneshot::OneShot;
use kiln_runtime::spec::{self, MountSpec, SpecOptions};

use super::snapshot::{unique, Active};
use super::{exec_mounts, KilnExecutor, Output, RootFs};
use crate::graph::{ExecOp, MountKind};
use crate::solver::{CacheKey, ExecContext, ExecError};

/// The hostname of build steps (BuildKit's).
const HOSTNAME: &str = "buildkitsandbox";

/// Runs `op` over `inputs[0]` and commits the result.
pub fn execute(
    ex: &KilnExecutor,
    op: &ExecOp,
    inputs: &[Output],
    key: CacheKey,
    cx: &ExecContext<'_>,
) -> Result<RootFs, ExecError> {
    let input = inputs
        .first()
        .ok_or_else(|| ExecError::other("RUN without an input filesystem"))?
        .root()?;
    let active = Active::prepare(ex, input)?;
    let network = match op.network {
        NetworkMode::None => spec::NetworkMode::None,
        NetworkMode::Default | NetworkMode::Host => spec::NetworkMode::Host,
    };
    let etc = etc_mounts(&active.work.join("etc"), &network)?;
    let mut targets: Vec<String> = op.mounts.iter().map(|m| m.target.clone()).collect();
    targets.extend(etc.iter().map(|m| m.destination().to_string()));
    let created = active.with_mounted(|root| missing_paths(root, &targets))?;
    let code = {
        let mounts = exec_mounts::prepare(ex, &op.mounts, inputs, &active.work)?;
        let mut env = op.env.clone();
        env.extend(mounts.env.iter().cloned());
        ssh_auth_sock(op, &mut env);
        let mut specs = etc;
        specs.extend(mounts.specs.iter().cloned());
        let options = SpecOptions {
            args: op.args.clone(),
            env,
            cwd: op.cwd.clone(),
            user: op.user.clone(),
            hostname: HOSTNAME.into(),
            privileged: op.security == SecurityMode::Insecure,
            mounts: specs,
            network,
            ..SpecOptions::default()
        };
        let job = OneShot {
            id: unique("kiln-build").replace('-', "_"),
            rootfs: active.mounts.clone(),
            spec: options,
            runtime: ex.runtime.clone(),
            work_dir: active.work.join("oneshot"),
            seccomp_cache: Some(ex.root.join(kiln_runtime::oci::SECCOMP_CACHE_DIR)),
        };
        run_job(ex, &job, &active.work, cx)?
    };
    if code != 0 {
        return Err(ExecError::ExitCode {
            argv: op.args.clone(),
            code,
        });
    }
    active.with_mounted(|root| remove_created(root, &created))?;
    active.finish(input, key)
}

/// BuildKit's `SSH_AUTH_SOCK`: the target of the first ssh mount, unless
/// the step's environment sets it (also when that mount is skipped, as the
/// LLB carries it). The target is in the cache key already.
fn ssh_auth_sock(op: &ExecOp, env: &mut Vec<String>) {
    let first = op
        .mounts
        .iter()
        .find(|m| matches!(m.kind, MountKind::Ssh { .. }));
    if let Some(m) = first {
        if !env.iter().any(|e| e.starts_with("SSH_AUTH_SOCK=")) {
            env.push(format!("SSH_AUTH_SOCK={}", m.target));
        }
    }
}

/// The /etc/hosts and /etc/resolv.conf BuildKit gives every step (written
/// into `dir`, bind-mounted, so nothing the step writes there is kept).
fn etc_mounts(dir: &Path, network: &spec::NetworkMode) -> Result<Vec<MountSpec>, ExecError> {
    let all = spec::etc_files(dir, HOSTNAME, network)
        .map_err(|e| ExecError::other(format!("/etc files of the step: {e}")))?;
    Ok(all
        .into_iter()
        .filter(|m| m.destination() != "/etc/hostname")
        .collect())
}

/// For each mount target, the path and its ancestors that do not exist in
/// `root` yet (deepest first). Existence is checked inside the root
/// (chroot-style, as the runtime resolves mount targets), never on the host.
fn missing_paths(root: &Path, targets: &[String]) -> Result<Vec<String>, ExecError> {
    let scope = open_scope(root)?;
    let mut missing = Vec::new();
    for target in targets {
        let mut path = Path::new(target.trim_start_matches('/'));
        let mut chain = Vec::new();
        while !path.as_os_str().is_empty()
            && scope
                .resolve(&path.to_string_lossy())
                .is_err_and(|e| e.is_not_found())
        {
            chain.push(path.to_string_lossy().into_owned());
            path = path.parent().unwrap_or(Path::new(""));
        }
        missing.extend(chain);
    }
    Ok(missing)
}

/// Removes the file mount points the runtime created (empty files, such as
/// `/run/secrets/ID`). Directories it created stay, empty, as BuildKit leaves
/// them (recorded in the difftest: `/run/secrets` and `/etc/app` remain after
/// secret mounts). Each name is looked at and unlinked relative to its
/// parent directory resolved inside the root.
fn remove_created(root: &Path, created: &[String]) -> Result<(), ExecError> {
    let scope = open_scope(root)?;
    for rel in created {
        let path = Path::new(rel);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        let Ok(dir) = scope.resolve(&parent.to_string_lossy()) else {
            continue;
        };
        if let Ok(st) = kiln_inroot::stat_at(dir.as_fd(), name) {
            if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size == 0 {
                let _ = kiln_inroot::unlink_at(dir.as_fd(), name);
            }
        }
    }
    Ok(())
}

fn open_scope(root: &Path) -> Result<kiln_inroot::Root, ExecError> {
    kiln_inroot::Root::open(root).map_err(|e| ExecError::other(format!("step root: {e}")))
}

/// Starts `kiln oneshot-run`, forwards its output, kills it on cancel;
/// returns the process's exit code.
fn run_job(
    ex: &KilnExecutor,
    job: &OneShot,
    work: &Path,
    cx: &ExecContext<'_>,
) -> Result<i32, ExecError> {
    let job_file = work.join("job.json");
    let text = serde_json::to_vec(job).map_err(|e| ExecError::other(format!("job: {e}")))?;
    std::fs::write(&job_file, text)
        .map_err(|e| ExecError::other(format!("write {}: {e}", job_file.display())))?;
    let log_dir = ex.log_dir();
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| ExecError::other(format!("create {}: {e}", log_dir.display())))?;
    let log_path = log_dir.join(format!("{}.log", cx.vertex().0));
    let mut log = std::fs::File::create(&log_path)
        .map_err(|e| ExecError::other(format!("create {}: {e}", log_path.display())))?;
    let mut child = Command::new(&ex.helper_exe)
        .arg("oneshot-run")
        .arg("--lifeline-stdin")
        .arg(&job_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ExecError::other(format!("start {}: {e}", ex.helper_exe.display())))?;
    // The step's lifeline: never written, closed when this function returns
    // or this process dies (even by kill -9), which makes the child kill the
    // step (see `kiln_runtime::oneshot::run_here`).
    let _lifeline = child.stdin.take();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(pump(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(pump(err, tx.clone()));
    }
    drop(tx);
    let mut cancelled = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(bytes) => {
                let _ = log.write_all(&bytes);
                cx.log(&bytes);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !cancelled && cx.cancel().is_cancelled() {
                    cancelled = true;
                    kill_job(&job.id);
                    let _ = child.kill();
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child
        .wait()
        .map_err(|e| ExecError::other(format!("wait for the step: {e}")))?;
    if cancelled {
        remove_job_cgroup(&job.id);
        return Err(ExecError::Cancelled);
    }
    Ok(status.code().unwrap_or(-1))
}

/// Reads `from` to its end in a thread, sending chunks.
fn pump(
    mut from: impl Read + Send + 'static,
    tx: mpsc::Sender<Vec<u8>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Kills every process of the step's container (its cgroup).
fn kill_job(id: &str) {
    let cgroup = kiln_runtime::cgroups::ContainerCgroup::new(&format!("/kiln-build/{id}"));
    for pid in cgroup.pids().unwrap_or_default() {
        // SAFETY: sending a signal to a pid has no memory effects.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// Removes the cgroup of a killed step (its `oneshot-run` could not).
fn remove_job_cgroup(id: &str) {
    let cgroup = kiln_runtime::cgroups::ContainerCgroup::new(&format!("/kiln-build/{id}"));
    for _ in 0..50 {
        if cgroup.remove().is_ok() {
            return;
        }
        kill_job(id);
        std::thread::sleep(Duration::from_millis(20));
    }
}
