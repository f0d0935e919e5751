//! One-shot containers: run one process over a given root filesystem to
//! completion, with no container record, state or monitor — what a build's
//! `RUN` step needs (BuildKit's executor).
//!
//! The builder runs steps from several threads, but libcontainer must only be
//! called from a single-threaded process; so a step runs in a child process:
//! the builder writes a [`OneShot`] job as JSON and starts
//! `kiln oneshot-run JOB.json` (a hidden subcommand) with the step's output
//! pipes as its stdout and stderr; that child calls [`run_here`], which:
//!
//! 1. enters a private mount namespace and mounts the root filesystem there
//!    (so nothing is left mounted on the host, whatever kills it);
//! 2. builds the OCI spec with [`crate::spec::build_spec`] (Docker's
//!    isolation defaults), writes the bundle, pins a network namespace with
//!    `lo` up when the network is `none`;
//!    makes `/dev`, `/proc`, `/sys`, `/etc/hosts`… real inside the root
//!    filesystem ([`crate::init_layer`], reversibly: undone after the step so
//!    nothing of it reaches the step's layer);
//! 3. runs it with the chosen low-level runtime, waits for it as a child
//!    subreaper, deletes the runtime state and cgroup, and exits with the
//!    process's exit code (Docker's: 128+signal for a signal).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use kiln_snapshotter::{mount, Mount};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, StartFailure};
use crate::oci::{self, RunRequest, Stdio};
use crate::spec::{self, NetworkMode, SpecOptions};
use crate::{init_layer, netns, rootfs};

/// One process to run over a root filesystem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneShot {
    /// Unique ID (the runtime's container ID; also names the cgroup
    /// `/kiln-build/<id>`).
    pub id: String,
    /// How to mount the root filesystem (a snapshot's mounts).
    pub rootfs: Vec<Mount>,
    /// The process and its isolation; `rootfs` and `cgroups_path` are filled
    /// in by [`run_here`]. `NetworkMode::None` gets a namespace with `lo` up.
    pub spec: SpecOptions,
    /// Low-level runtime (`kiln`, `crun`, `runc`, a path).
    pub runtime: String,
    /// A scratch directory for the bundle, the mount point and the runtime's
    /// state; removed afterwards by the caller.
    pub work_dir: PathBuf,
    /// Where the embedded runtime keeps compiled seccomp programs (a build
    /// passes `<root>/seccomp/`, shared with containers); `None` compiles the
    /// profile at each run.
    #[serde(default)]
    pub seccomp_cache: Option<PathBuf>,
}

/// Runs `job` in this process (which must be single-threaded: see the module
/// docs) with `stdin`/`stdout`/`stderr` as the process's streams; returns its
/// exit code. Errors (the program cannot be started, bad spec) are one line,
/// with Docker's exit code ([`Error::exit_code`]).
///
/// `lifeline` is the read end of a pipe whose write end the caller (the
/// build) holds and never writes: when it closes — the build ended, even by
/// `kill -9` — the step's process is killed (and with it its whole PID
/// namespace), so a killed build leaves no RUN step running.
pub fn run_here(
    job: &OneShot,
    (stdin, stdout, stderr): (OwnedFd, OwnedFd, OwnedFd),
    lifeline: Option<OwnedFd>,
) -> Result<i32> {
    let rootfs_dir = job.work_dir.join("rootfs");
    let bundle = job.work_dir.join("bundle");
    let state_dir = job.work_dir.join("runtime");
    for dir in [&rootfs_dir, &bundle, &state_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    }
    rootfs::enter_private_mount_namespace().map_err(|e| Error::io("private mount namespace", e))?;
    mount_root(job, &rootfs_dir)?;
    let mut options = step_options(job, &rootfs_dir)?;
    oci::become_subreaper()?;
    let runtime = match &job.seccomp_cache {
        Some(cache) => oci::with_seccomp_cache(cache, &job.runtime)?,
        None => oci::by_name(&job.runtime)?,
    };
    let guard = init_layer::ensure(
        &rootfs_dir,
        init_layer::BUILD_PATHS,
        init_layer::Mode::Reversible,
    )?;
    if let Err(e) = write_bundle(&mut options, &rootfs_dir, &bundle) {
        let _ = guard.undo();
        return Err(e);
    }
    let code = run_guarded(
        job,
        runtime.as_ref(),
        &bundle,
        &state_dir,
        (stdin, stdout, stderr),
        lifeline.as_ref(),
    );
    let undone = guard.undo();
    cleanup(runtime.as_ref(), job, &state_dir, &rootfs_dir);
    let code = code?;
    undone?;
    Ok(code)
}

/// The job's spec options completed for this run: its environment checked
/// (an image `Env` entry such as `=x` fails the step with runc's words), the
/// rootfs, cgroup and network namespace filled in.
fn step_options(job: &OneShot, rootfs_dir: &Path) -> Result<SpecOptions> {
    let mut options = job.spec.clone();
    spec::check_env("environment of the step", &options.env, false)?;
    options.rootfs = rootfs_dir.to_path_buf();
    options.cgroups_path = format!("/kiln-build/{}", job.id);
    if options.network == NetworkMode::None {
        let pin = job.work_dir.join("netns");
        netns::ensure(&pin).map_err(|e| Error::io("network namespace", e))?;
        options.network = NetworkMode::Join(pin);
    }
    Ok(options)
}

/// Resolves the mount destinations inside the (fixed) root filesystem and
/// writes the bundle's `config.json`.
fn write_bundle(options: &mut SpecOptions, rootfs_dir: &Path, bundle: &Path) -> Result<()> {
    spec::resolve_destinations(rootfs_dir, &mut options.mounts)?;
    let spec = spec::build_spec(options)?;
    let path = bundle.join("config.json");
    spec.save(&path)
        .map_err(|source| Error::WriteBundle { path, source })
}

/// Mounts the step's root filesystem on `rootfs_dir`, with the init layer
/// below its writable layer when it is an overlay (see
/// [`init_layer::overlay`]); when that cannot be made or mounted (a long
/// lower-directory list), the plain mounts, fixed reversibly later.
fn mount_root(job: &OneShot, rootfs_dir: &Path) -> Result<()> {
    let scratch = job.work_dir.join("init-layer");
    if let Ok(Some(mounts)) = init_layer::overlay::step_mounts(&job.rootfs, &scratch) {
        if mount::mount_all(&mounts, rootfs_dir).is_ok() {
            return Ok(());
        }
    }
    mount::mount_all(&job.rootfs, rootfs_dir)
        .map_err(|e| Error::from(e).context("mount root filesystem"))
}

/// Runs the bundle and waits for its process; the runtime's state is
/// deleted on failure.
fn run_guarded(
    job: &OneShot,
    runtime: &dyn oci::OciRuntime,
    bundle: &Path,
    state_dir: &Path,
    (stdin, stdout, stderr): (OwnedFd, OwnedFd, OwnedFd),
    lifeline: Option<&OwnedFd>,
) -> Result<i32> {
    let request = RunRequest {
        id: &job.id,
        bundle,
        state_dir,
        stdio: Stdio::Fds {
            stdin,
            stdout,
            stderr,
        },
    };
    let pid = runtime.run(request).map_err(|e| {
        let message = e.to_string();
        Error::Start {
            container: job.id.clone(),
            failure: StartFailure::classify(&message),
            message,
        }
    })?;
    if let Some(line) = lifeline {
        watch_lifeline(pid, line);
    }
    let code = wait_for(pid);
    let _ = runtime.delete(&job.id, state_dir, true);
    Ok(code)
}

/// Blocks until `pid` exits or `lifeline` closes (poll on a pidfd and the
/// pipe); on the latter, kills `pid` — the step's init, so its whole PID
/// namespace goes. Without pidfds (Linux before 5.3) it returns at once and
/// the step is only reaped.
fn watch_lifeline(pid: u32, lifeline: &OwnedFd) {
    // SAFETY: pidfd_open with a pid and no flags; the result is checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if pidfd < 0 {
        return;
    }
    // SAFETY: a fresh descriptor owned here.
    let pidfd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd as i32) };
    loop {
        let mut fds = [
            libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(&pidfd),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(lifeline),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on two valid pollfd entries; blocking is intended.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        if fds[0].revents != 0 {
            return;
        }
        if fds[1].revents != 0 {
            // SAFETY: SIGKILL to the step's init, a child of this process.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            return;
        }
    }
}

/// Reaps children until `pid` has exited; its Docker-style exit code.
fn wait_for(pid: u32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a status out-parameter; blocking is intended.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return -1;
        }
        if reaped as u32 != pid {
            continue;
        }
        return if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
    }
}

fn cleanup(runtime: &dyn oci::OciRuntime, job: &OneShot, state_dir: &Path, rootfs_dir: &Path) {
    let _ = runtime.delete(&job.id, state_dir, true);
    let _ = crate::cgroups::ContainerCgroup::new(&format!("/kiln-build/{}", job.id)).remove();
    let _ = rootfs::unmount(rootfs_dir);
    let _ = rootfs::unmount(&job.work_dir.join("netns"));
}

/// This process's standard streams, duplicated, for [`run_here`] from the
/// `oneshot-run` subcommand.
pub fn inherited_stdio() -> std::io::Result<(OwnedFd, OwnedFd, OwnedFd)> {
    Ok((
        std::io::stdin().as_fd().try_clone_to_owned()?,
        std::io::stdout().as_fd().try_clone_to_owned()?,
        std::io::stderr().as_fd().try_clone_to_owned()?,
    ))
}
