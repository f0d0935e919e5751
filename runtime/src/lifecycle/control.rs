//! Commands on existing containers: start (detached, through a monitor),
//! stop, kill, pause, unpause, remove — and [`reconcile`], which finds the
//! truth when a monitor has died.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiln_parser::values::{parse_signal, Signal};

use crate::cgroups::ContainerCgroup;
use crate::container::{process, Container, ContainerError, ContainerStore, Event, Status};
use crate::error::{Error, Result, StartFailure};
use crate::oci;
use crate::rootfs;

/// The hidden subcommand kiln runs itself as for a detached monitor.
pub const MONITOR_SUBCOMMAND: &str = "container-monitor";

fn check(container: &Container, event: Event) -> Result<()> {
    container.state.status.can(event).map_err(|reason| {
        Error::from(ContainerError::WrongState {
            id: container.record.id.clone(),
            reason: reason.into(),
        })
    })
}

/// Starts `container` with a detached monitor: spawns `kiln container-monitor
/// ID` (the current executable) in a new session and waits until the
/// container runs or its start failed ([`Error::Start`] with Docker's
/// classification, as the monitor reported it).
pub fn start_detached(root: &Path, container: &Container) -> Result<()> {
    check(container, Event::Start)?;
    let exe = std::env::current_exe().map_err(|e| Error::io("find kiln executable", e))?;
    let (read, write) = std::io::pipe().map_err(|e| Error::io("pipe", e))?;
    let mut command = Command::new(exe);
    command
        .arg("--root")
        .arg(root)
        .arg(MONITOR_SUBCOMMAND)
        .arg(&container.record.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("KILN_MONITOR_READY_FD", "3");
    let write_fd = std::os::fd::AsRawFd::as_raw_fd(&write);
    // SAFETY: only async-signal-safe calls (setsid, dup2) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            if write_fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(write_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| Error::io("start monitor", e))?;
    drop(write);
    let mut line = String::new();
    let _ = BufReader::new(read).read_line(&mut line);
    // The monitor lives on; reap it in the background only if it already died.
    let _ = child.try_wait();
    let line = line.trim_end();
    if line == "ok" {
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix("err ") {
        return Err(monitor_failure(&container.record.id, rest));
    }
    let status = child.wait().ok();
    Err(Error::MonitorDied {
        container: container.record.id.clone(),
        status: format!("{status:?}"),
    })
}

/// The monitor's `err CODE MESSAGE` line (after `err `) as the error it was.
fn monitor_failure(id: &str, line: &str) -> Error {
    let (code, message) = line
        .split_once(' ')
        .and_then(|(code, message)| Some((code.parse().ok()?, message)))
        .unwrap_or((crate::error::EXIT_KILN, line));
    Error::Start {
        container: id.to_string(),
        failure: StartFailure::from_exit_code(code),
        message: message.to_string(),
    }
}

/// Waits until the container is no longer active, for at most `timeout`
/// (`None`: forever); returns its state then.
pub fn wait_inactive(
    store: &ContainerStore,
    id: &str,
    timeout: Option<Duration>,
) -> Result<Container> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut delay = Duration::from_millis(2);
    loop {
        let mut container = store.get(id)?;
        reconcile(store, &mut container);
        if !container.state.status.is_active() {
            return Ok(container);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(container);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Docker's `stop`: `signal` (`None`: the container's STOPSIGNAL, default
/// SIGTERM), then SIGKILL after `timeout` seconds (`None`: the container's
/// `--stop-timeout`, else 10). The restart policy does not start it again.
pub fn stop(
    store: &ContainerStore,
    container: &Container,
    timeout: Option<i64>,
    signal: Option<Signal>,
) -> Result<()> {
    let id = container.record.id.clone();
    let mut current = container.clone();
    reconcile(store, &mut current);
    if !current.state.status.is_active() {
        return Ok(());
    }
    store.update_state(&id, |s| s.stopped_by_user = true)?;
    let recorded = container.record.config.stop_signal.as_deref();
    let signal = match signal {
        Some(signal) => signal,
        None => recorded
            .map(parse_signal)
            .transpose()?
            .unwrap_or(Signal::TERM),
    };
    let seconds = timeout
        .or(container.record.config.stop_timeout)
        .unwrap_or(10);
    if current.state.status == Status::Paused {
        let _ = unpause(store, &current);
    }
    signal_container(store, &current, signal.number(), false)?;
    let after = wait_inactive(store, &id, Some(Duration::from_secs(seconds.max(0) as u64)))?;
    if after.state.status.is_active() {
        signal_container(store, &after, libc::SIGKILL, true)?;
        wait_inactive(store, &id, None)?;
    }
    Ok(())
}

/// Docker's `kill`: sends `signal` to the container's init.
pub fn kill(store: &ContainerStore, container: &Container, signal: Signal) -> Result<()> {
    let mut current = container.clone();
    reconcile(store, &mut current);
    check(&current, Event::Kill)?;
    store.update_state(&current.record.id, |s| s.stopped_by_user = true)?;
    signal_container(store, &current, signal.number(), signal == Signal::KILL)
}

fn signal_container(
    store: &ContainerStore,
    container: &Container,
    signal: i32,
    all: bool,
) -> Result<()> {
    let state = &container.state;
    if state.pid != 0 && process::alive(state.pid, state.pid_start) {
        if all {
            let runtime = oci::by_name(&container.record.runtime)?;
            let state_dir = store.dir(&container.record.id).join("runtime");
            if runtime
                .kill(&container.record.id, &state_dir, signal, true)
                .is_ok()
            {
                return Ok(());
            }
        }
        // SAFETY: kill(2) of the recorded, verified init process.
        if unsafe { libc::kill(state.pid as i32, signal) } != 0 {
            let err = std::io::Error::last_os_error();
            // It exited between the check and the signal: nothing to do.
            if err.raw_os_error() != Some(libc::ESRCH) {
                return Err(Error::Kill {
                    container: container.record.id.clone(),
                    source: err,
                });
            }
        }
    }
    Ok(())
}

/// `pause`: freezes every process of the container.
pub fn pause(store: &ContainerStore, container: &Container) -> Result<()> {
    check(container, Event::Pause)?;
    let runtime = oci::by_name(&container.record.runtime)?;
    runtime.pause(
        &container.record.id,
        &store.dir(&container.record.id).join("runtime"),
    )?;
    store.update_state(&container.record.id, |s| s.status = Status::Paused)?;
    Ok(())
}

/// `unpause`: thaws a paused container.
pub fn unpause(store: &ContainerStore, container: &Container) -> Result<()> {
    check(container, Event::Unpause)?;
    let runtime = oci::by_name(&container.record.runtime)?;
    runtime.resume(
        &container.record.id,
        &store.dir(&container.record.id).join("runtime"),
    )?;
    store.update_state(&container.record.id, |s| {
        if s.status == Status::Paused {
            s.status = Status::Running
        }
    })?;
    Ok(())
}

/// `rm [-f] [-v]`: removes a container (killing it first with `force`), its
/// writable snapshot and — with `volumes` — its anonymous volumes.
pub fn remove(
    root: &Path,
    store: &ContainerStore,
    container: &Container,
    force: bool,
    volumes: bool,
) -> Result<()> {
    let mut current = container.clone();
    reconcile(store, &mut current);
    if current.state.status.is_active() {
        if !force {
            check(&current, Event::Remove)?;
        }
        store.update_state(&current.record.id, |s| s.stopped_by_user = true)?;
        if current.state.status == Status::Paused {
            let _ = unpause(store, &current);
        }
        signal_container(store, &current, libc::SIGKILL, true)?;
        current = wait_inactive(store, &current.record.id, Some(Duration::from_secs(10)))?;
        if current.state.status.is_active() {
            return Err(Error::CouldNotKill(current.record.id.clone()));
        }
    }
    // Wait for the monitor to finish its cleanup (it may be removing an
    // `--rm` container itself).
    let monitor_gone = Instant::now() + Duration::from_secs(10);
    while current.state.monitor_pid != 0
        && process::alive(current.state.monitor_pid, current.state.monitor_start)
        && Instant::now() < monitor_gone
    {
        std::thread::sleep(Duration::from_millis(10));
        match store.get(&current.record.id) {
            Ok(c) => current = c,
            Err(_) => return Ok(()),
        }
    }
    remove_stopped(root, store, &current)?;
    if volumes {
        super::create::remove_anonymous_volumes(root, &current.record);
    }
    Ok(())
}

/// Removes a container that is not running: runtime state, cgroup, snapshot,
/// directory. Anonymous volumes too when it was `--rm`.
pub fn remove_stopped(root: &Path, store: &ContainerStore, container: &Container) -> Result<()> {
    let id = &container.record.id;
    let dir = store.dir(id);
    if let Ok(runtime) = oci::by_name(&container.record.runtime) {
        let _ = runtime.delete(id, &dir.join("runtime"), true);
    }
    let _ = ContainerCgroup::new(&format!("/kiln/{id}")).remove();
    let _ = rootfs::unmount(&dir.join("rootfs"));
    // The network namespace pin (mounted in this process's namespace when
    // this process was the container's monitor: a foreground `run --rm`).
    let _ = rootfs::unmount(&dir.join("netns"));
    // Its network endpoints (the monitor detaches them when it ends; a
    // monitor killed with -9 leaves them to whoever removes the container).
    // A failure does not keep the container: the endpoint's holder is dead,
    // so the next networking command's sweep removes what is left.
    if root.join("networks").is_dir() {
        let _ = crate::network::attach::detach_all(root, id);
    }
    if let Ok(snapshotter) = rootfs::open_snapshotter(root, Some(&container.record.snapshotter)) {
        match snapshotter.remove(&container.record.snapshot_key) {
            Ok(()) | Err(kiln_snapshotter::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(Error::snapshot(
                    format!("remove root filesystem of {id}"),
                    e,
                ))
            }
        }
    }
    if container.record.host_config.auto_remove {
        super::create::remove_anonymous_volumes(root, &container.record);
    }
    Ok(store.remove_dir(id)?)
}

/// Finds the truth about a container whose state says it is active: if its
/// monitor is gone and its process too, it has exited (exit code 255 when
/// nobody saw the exit, as Docker reports it after a daemon crash) and its
/// leftovers (runtime state, cgroup) are cleaned up. If the process still
/// runs without a monitor, it stays `running`. Updates `container` in place.
pub fn reconcile(store: &ContainerStore, container: &mut Container) {
    let state = &container.state;
    if !state.status.is_active()
        || (state.monitor_pid != 0 && process::alive(state.monitor_pid, state.monitor_start))
    {
        return;
    }
    if state.pid != 0 && process::alive(state.pid, state.pid_start) {
        return;
    }
    let id = container.record.id.clone();
    let dir: PathBuf = store.dir(&id);
    if let Ok(runtime) = oci::by_name(&container.record.runtime) {
        let _ = runtime.delete(&id, &dir.join("runtime"), true);
    }
    let _ = ContainerCgroup::new(&format!("/kiln/{id}")).remove();
    if let Ok(state) = store.update_state(&id, |s| {
        if s.status.is_active()
            && !(s.monitor_pid != 0 && process::alive(s.monitor_pid, s.monitor_start))
        {
            s.status = Status::Exited;
            if s.exit_code == 0 {
                s.exit_code = 255;
            }
            s.error = "container monitor died".into();
            let (secs, nanos) = kiln_image::time::now();
            s.finished_at = kiln_image::time::format_rfc3339_nanos(secs, nanos);
            s.pid = 0;
            s.monitor_pid = 0;
        }
    }) {
        container.state = state;
    }
}
