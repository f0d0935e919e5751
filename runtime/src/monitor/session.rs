//! One monitor's work: start the container, pump its output, reap it, restart
//! it by policy. See the module docs of [`crate::monitor`].

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiln_image::time::{format_rfc3339_nanos, now};

use super::health::{self, HealthSchedule};
use super::logs::{LogWriter, Stream};
use super::{log_path, sys};
use crate::container::{process, Container, ContainerStore, HealthLog, State, Status};
use crate::error::{Error, Result, StartFailure};
use crate::oci::{self, ConsoleSocket, ExecRequest, OciRuntime, RunRequest, Stdio};
use crate::rootfs;
use sys::copy_window_size;

/// Restart back-off: first delay, ceiling, and the run time that resets it.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const BACKOFF_RESET: Duration = Duration::from_secs(10);
/// How long a detached monitor waits without events before shedding pages.
const SHED_AFTER_IDLE_MS: i32 = 1000;

fn timestamp() -> String {
    let (secs, nanos) = now();
    format_rfc3339_nanos(secs, nanos)
}

/// The container's output side while it runs.
enum Output {
    /// Separate pipes for fd 1 and fd 2.
    Pipes {
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
    },
    /// A pseudo-terminal master (fd 1 and 2 are the same).
    Terminal { master: Option<OwnedFd> },
}

/// A healthcheck process in flight.
struct Check {
    pid: u32,
    began: Instant,
    began_at: String,
    output: OwnedFd,
    text: Vec<u8>,
}

/// The monitor of one container.
pub(super) struct Session {
    root: PathBuf,
    store: ContainerStore,
    container: Container,
    runtime: Box<dyn OciRuntime>,
    foreground: bool,
    stdin: Option<OwnedFd>,
    signals: OwnedFd,
    log: LogWriter,
    dir: PathBuf,
    /// The bridge network attachment and DNS (none for `none`/`host`).
    net: Option<super::network::Networking>,
}

impl Session {
    /// Prepares the monitor: private mount namespace, subreaper, signals,
    /// root filesystem mounted, log open.
    pub(super) fn open(
        root: &Path,
        id: &str,
        foreground: bool,
        stdin: Option<OwnedFd>,
    ) -> Result<Session> {
        let store = ContainerStore::open(root)?;
        let container = store.get(id)?;
        rootfs::enter_private_mount_namespace()
            .map_err(|e| Error::io("private mount namespace", e))?;
        oci::become_subreaper()?;
        let runtime = oci::for_root(root, &container.record.runtime)?;
        let dir = store.dir(id);
        let snapshotter = rootfs::open_snapshotter(root, Some(&container.record.snapshotter))?;
        rootfs::mount_snapshot(
            snapshotter.as_ref(),
            &container.record.snapshot_key,
            &dir.join("rootfs"),
        )
        .map_err(|e| e.context("mount root filesystem"))?;
        // The init snapshot below made these real; the container's own
        // processes may have replaced them since (before any runtime sees it).
        let fixed = crate::init_layer::ensure(
            &dir.join("rootfs"),
            crate::init_layer::CONTAINER_PATHS,
            crate::init_layer::Mode::Permanent,
        );
        drop(fixed?);
        let net = super::network::prepare(root, &container.record, &dir)?;
        let log = LogWriter::open(&log_path(&store, id)).map_err(|e| Error::io("open log", e))?;
        let signals = sys::signalfd().map_err(|e| Error::io("signalfd", e))?;
        Ok(Session {
            root: root.to_path_buf(),
            store,
            container,
            runtime,
            foreground,
            stdin,
            signals,
            log,
            dir,
            net,
        })
    }

    fn id(&self) -> &str {
        &self.container.record.id
    }

    fn update(&self, change: impl FnOnce(&mut State)) -> Result<State> {
        Ok(self.store.update_state(self.id(), change)?)
    }

    /// Runs the container until it has exited for good; returns its exit code.
    pub(super) fn run(&mut self, ready: &mut Option<File>) -> Result<i32> {
        let me = std::process::id();
        let my_start = process::start_time(me).unwrap_or(0);
        self.update(|s| {
            s.monitor_pid = me;
            s.monitor_start = my_start;
            s.stopped_by_user = false;
        })?;
        let mut backoff = BACKOFF_FIRST;
        let exit_code = loop {
            let started = Instant::now();
            let (pid, output, stdin_keep) = match self.start() {
                Ok(started) => started,
                Err(error) => {
                    let code = error.exit_code();
                    let message = error.to_string();
                    let never_ran = self.container.state.started_at.is_empty();
                    let _ = self.update(|s| {
                        s.status = if never_ran {
                            Status::Created
                        } else {
                            Status::Exited
                        };
                        s.exit_code = code;
                        s.error = message.clone();
                        s.pid = 0;
                        s.monitor_pid = 0;
                    });
                    self.finish();
                    return Err(error);
                }
            };
            if let Some(mut pipe) = ready.take() {
                let _ = writeln!(pipe, "ok");
            }
            if !self.foreground {
                sys::shed_resident_pages();
            }
            let code = self.pump(pid, output)?;
            drop(stdin_keep);
            let _ = self
                .runtime
                .delete(self.id(), &self.dir.join("runtime"), true);
            let policy = self.container.record.host_config.restart_policy.clone();
            let current = self.store.state(self.id())?;
            let restart = !self.container.record.host_config.auto_remove
                && policy.should_restart(code, current.restart_count, current.stopped_by_user);
            self.update(|s| {
                s.status = if restart {
                    Status::Restarting
                } else {
                    Status::Exited
                };
                s.exit_code = code;
                s.finished_at = timestamp();
                s.pid = 0;
                s.pid_start = 0;
                if !restart {
                    s.monitor_pid = 0;
                }
            })?;
            if !restart {
                break code;
            }
            if started.elapsed() >= BACKOFF_RESET {
                backoff = BACKOFF_FIRST;
            }
            if !self.sleep_unless_stopped(backoff) {
                self.update(|s| {
                    s.status = Status::Exited;
                    s.monitor_pid = 0;
                })?;
                break code;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            self.update(|s| s.restart_count += 1)?;
        };
        self.finish();
        Ok(exit_code)
    }

    /// Waits `delay` before a restart; false if a `stop` came meanwhile.
    fn sleep_unless_stopped(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
            if self
                .store
                .state(self.id())
                .map(|s| s.stopped_by_user)
                .unwrap_or(true)
            {
                return false;
            }
        }
        true
    }

    /// Unmounts the root filesystem and, with `--rm`, removes the container.
    fn finish(&mut self) {
        let _ = self.log.flush();
        if let Some(mut net) = self.net.take() {
            net.detach();
        }
        let rootfs = self.dir.join("rootfs");
        let _ = rootfs::unmount(&rootfs);
        let _ = rootfs::unmount(&self.dir.join("netns"));
        if self.container.record.host_config.auto_remove {
            let _ = crate::lifecycle::remove_stopped(&self.root, &self.store, &self.container);
        }
    }

    /// Starts the container once: returns its init PID, its output side, and
    /// a descriptor to keep open while it runs (the write end of a `-d -i`
    /// stdin pipe).
    fn start(&mut self) -> Result<(u32, Output, Option<OwnedFd>)> {
        let tty = self.container.record.config.tty;
        let open_stdin = self.container.record.config.open_stdin;
        let state_dir = self.dir.join("runtime");
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| Error::io(format!("create {}", state_dir.display()), e))?;
        let bundle = self.dir.join("bundle");
        let mut keep = None;
        // The console socket lives in the temp directory: a unix socket path
        // must be shorter than 108 bytes, which a deep `--root` would break.
        let console_path = std::env::temp_dir().join(format!(
            "kiln-console-{}-{}.sock",
            &self.container.record.id[..12],
            std::process::id()
        ));
        let (stdio, output, console) = if tty {
            let path = console_path.clone();
            let _ = std::fs::remove_file(&path);
            let console = ConsoleSocket::bind(&path)?;
            (
                Stdio::Terminal {
                    console_socket: path,
                },
                None,
                Some(console),
            )
        } else {
            let stdin = match (self.stdin.as_ref(), open_stdin) {
                (Some(fd), _) => fd.try_clone().map_err(|e| Error::io("stdin", e))?,
                (None, true) => {
                    let (read, write) = sys::pipe().map_err(|e| Error::io("pipe", e))?;
                    keep = Some(write);
                    read
                }
                (None, false) => sys::dev_null().map_err(|e| Error::io("/dev/null", e))?,
            };
            let (out_r, out_w) = sys::pipe().map_err(|e| Error::io("pipe", e))?;
            let (err_r, err_w) = sys::pipe().map_err(|e| Error::io("pipe", e))?;
            let stdio = Stdio::Fds {
                stdin,
                stdout: out_w,
                stderr: err_w,
            };
            (
                stdio,
                Some(Output::Pipes {
                    stdout: Some(out_r),
                    stderr: Some(err_r),
                }),
                None,
            )
        };
        let id = self.container.record.id.clone();
        let request = RunRequest {
            id: &id,
            bundle: &bundle,
            state_dir: &state_dir,
            stdio,
        };
        let runtime = &self.runtime;
        let ran = sys::with_signals_unblocked(|| runtime.run(request));
        if ran.is_err() && tty {
            let _ = std::fs::remove_file(&console_path);
        }
        let pid = ran.map_err(|e| {
            let message = e.to_string();
            Error::Start {
                container: id.clone(),
                failure: StartFailure::classify(&message),
                message,
            }
        })?;
        let output = match (output, console) {
            (Some(output), _) => output,
            (None, Some(console)) => {
                let master = console.receive(Duration::from_secs(10))?;
                let _ = std::fs::remove_file(&console_path);
                if self.foreground {
                    copy_window_size(0, master.as_raw_fd());
                }
                Output::Terminal {
                    master: Some(master),
                }
            }
            (None, None) => unreachable!("either pipes or a console"),
        };
        let pid_start = process::start_time(pid).unwrap_or(0);
        let health = self
            .container
            .record
            .config
            .healthcheck
            .as_ref()
            .and_then(|h| HealthSchedule::new(Some(h), Instant::now()).map(|_| health::starting()));
        let state = self.update(|s| {
            s.status = Status::Running;
            s.pid = pid;
            s.pid_start = pid_start;
            s.started_at = timestamp();
            s.finished_at.clear();
            s.error.clear();
            s.exit_code = 0;
            s.health = health;
        })?;
        self.container.state = state;
        Ok((pid, output, keep))
    }

    /// Moves output until the init `pid` has exited; returns its exit code.
    fn pump(&mut self, pid: u32, mut output: Output) -> Result<i32> {
        for fd in output_fds(&output) {
            let _ = sys::set_nonblocking(fd);
        }
        let mut schedule = HealthSchedule::new(
            self.container.record.config.healthcheck.as_ref(),
            Instant::now(),
        );
        let mut check: Option<Check> = None;
        let mut forward_stdin = match (&output, &self.stdin) {
            (Output::Terminal { .. }, Some(fd)) => Some(fd.as_raw_fd()),
            _ => None,
        };
        let mut exit = None;
        let mut buf = vec![0u8; 32 * 1024];
        // A detached monitor gives back the pages its work touched once it
        // has been idle for a moment (see `sys::shed_resident_pages`).
        let mut touched = true;
        while exit.is_none() {
            let mut fds = vec![pollfd(self.signals.as_raw_fd())];
            let out_fds = output_fds(&output);
            fds.extend(out_fds.iter().map(|&fd| pollfd(fd)));
            if let Some(fd) = forward_stdin {
                fds.push(pollfd(fd));
            }
            if let Some(c) = &check {
                fds.push(pollfd(c.output.as_raw_fd()));
            }
            let net = self.net.as_ref();
            fds.extend(
                net.map(|n| n.fds())
                    .unwrap_or_default()
                    .into_iter()
                    .map(pollfd),
            );
            let timeout = match (&check, &schedule) {
                (Some(c), Some(s)) => ms_until(c.began + s.timeout),
                (None, Some(s)) => ms_until(s.next_due()),
                _ => -1,
            };
            let timeout = min_timeout(timeout, net.map_or(-1, |n| n.timeout_ms()));
            let idle_ms = if touched && !self.foreground {
                SHED_AFTER_IDLE_MS
            } else {
                -1
            };
            let timeout = match (timeout, idle_ms) {
                (-1, idle) => idle,
                (t, -1) => t,
                (t, idle) => t.min(idle),
            };
            let events = sys::poll(&mut fds, timeout).map_err(|e| Error::io("poll", e))?;
            if let Some(net) = self.net.as_mut() {
                net.on_poll(&fds);
            }
            if events == 0 && touched && !self.foreground {
                sys::shed_resident_pages();
                touched = false;
            } else {
                touched = true;
            }
            for signal in sys::read_signals(&self.signals) {
                self.on_signal(signal, &output);
            }
            // Output first, so that nothing written before the exit is lost.
            self.drain(&mut output, &mut buf)?;
            if let Some(fd) = forward_stdin {
                if !forward(fd, &output, &mut buf) {
                    forward_stdin = None;
                }
            }
            if let Some(c) = check.as_mut() {
                if let Ok(Some(n)) = sys::read_some(c.output.as_raw_fd(), &mut buf) {
                    c.text.extend_from_slice(&buf[..n]);
                }
            }
            while let Some((reaped, code)) = sys::reap_any() {
                if reaped == pid {
                    exit = Some(code);
                } else if check.as_ref().is_some_and(|c| c.pid == reaped) {
                    let done = check.take().expect("checked above");
                    self.health_result(&mut schedule, done, code)?;
                }
            }
            if let (Some(c), Some(s)) = (&check, &schedule) {
                if c.began.elapsed() >= s.timeout {
                    // SAFETY: kill of a process we started and have not reaped.
                    unsafe { libc::kill(c.pid as i32, libc::SIGKILL) };
                }
            }
            if check.is_none() && exit.is_none() {
                if let Some(s) = &schedule {
                    if Instant::now() >= s.next_due() {
                        check = self.start_check(s);
                        if check.is_none() {
                            let mut s2 = schedule.take().expect("present");
                            let began_at = timestamp();
                            let log = HealthLog {
                                start: began_at.clone(),
                                end: began_at,
                                exit_code: -1,
                                output: "could not start the health check".into(),
                            };
                            self.record_health(&mut s2, Instant::now(), log)?;
                            schedule = Some(s2);
                        }
                    }
                }
            }
        }
        // The init is gone, and with it every process of its PID namespace:
        // read what remains in the pipes.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !output_fds(&output).is_empty() && Instant::now() < deadline {
            let mut fds: Vec<_> = output_fds(&output).iter().map(|&fd| pollfd(fd)).collect();
            sys::poll(&mut fds, 100).map_err(|e| Error::io("poll", e))?;
            self.drain(&mut output, &mut buf)?;
        }
        if let Some(c) = check {
            // SAFETY: as above.
            unsafe { libc::kill(c.pid as i32, libc::SIGKILL) };
        }
        let _ = self.log.flush();
        Ok(exit.unwrap_or(-1))
    }

    fn on_signal(&mut self, signal: libc::c_int, output: &Output) {
        match signal {
            libc::SIGCHLD => {}
            libc::SIGWINCH => {
                if let (true, Output::Terminal { master: Some(m) }) = (self.foreground, output) {
                    copy_window_size(0, m.as_raw_fd());
                }
            }
            // Docker's sig-proxy: a foreground run passes signals on.
            other if self.foreground => {
                let _ = self
                    .runtime
                    .kill(self.id(), &self.dir.join("runtime"), other, false);
            }
            _ => {}
        }
    }

    /// Reads what the container wrote; logs it and, in the foreground, shows it.
    fn drain(&mut self, output: &mut Output, buf: &mut [u8]) -> Result<()> {
        let streams: Vec<(&mut Option<OwnedFd>, Stream, RawFd)> = match output {
            Output::Pipes { stdout, stderr } => {
                vec![(stdout, Stream::Stdout, 1), (stderr, Stream::Stderr, 2)]
            }
            Output::Terminal { master } => vec![(master, Stream::Stdout, 1)],
        };
        for (slot, stream, terminal_fd) in streams {
            let Some(fd) = slot.as_ref() else { continue };
            loop {
                match sys::read_some(fd.as_raw_fd(), buf) {
                    Ok(Some(0)) => break,
                    Ok(Some(n)) => {
                        self.log
                            .write(stream, &buf[..n])
                            .map_err(|e| Error::io("write log", e))?;
                        if self.foreground {
                            let _ = sys::write_all(terminal_fd, &buf[..n]);
                        }
                    }
                    Ok(None) | Err(_) => {
                        *slot = None;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn start_check(&mut self, schedule: &HealthSchedule) -> Option<Check> {
        let spec = oci_spec::runtime::Spec::load(self.dir.join("bundle/config.json")).ok()?;
        let mut process = spec.process().clone()?;
        process.set_args(Some(schedule.argv.clone()));
        process.set_terminal(Some(false));
        let (out_r, out_w) = sys::pipe().ok()?;
        let err_w = out_w.try_clone().ok()?;
        let stdin = sys::dev_null().ok()?;
        let request = ExecRequest {
            id: &self.container.record.id,
            state_dir: &self.dir.join("runtime"),
            process: &process,
            stdio: Stdio::Fds {
                stdin,
                stdout: out_w,
                stderr: err_w,
            },
        };
        let runtime = &self.runtime;
        let pid = sys::with_signals_unblocked(|| runtime.exec(request)).ok()?;
        let _ = sys::set_nonblocking(out_r.as_raw_fd());
        Some(Check {
            pid,
            began: Instant::now(),
            began_at: timestamp(),
            output: out_r,
            text: Vec::new(),
        })
    }

    fn health_result(
        &mut self,
        schedule: &mut Option<HealthSchedule>,
        mut done: Check,
        code: i32,
    ) -> Result<()> {
        let mut buf = [0u8; 4096];
        while let Ok(Some(n)) = sys::read_some(done.output.as_raw_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            done.text.extend_from_slice(&buf[..n]);
        }
        let Some(s) = schedule.as_mut() else {
            return Ok(());
        };
        let timed_out = done.began.elapsed() >= s.timeout;
        let log = HealthLog {
            start: done.began_at,
            end: timestamp(),
            exit_code: if timed_out { -1 } else { code },
            output: if timed_out {
                format!(
                    "Health check exceeded timeout ({}s)",
                    s.timeout.as_secs_f64()
                )
            } else {
                String::from_utf8_lossy(&done.text).into_owned()
            },
        };
        self.record_health(s, done.began, log)
    }

    fn record_health(
        &mut self,
        schedule: &mut HealthSchedule,
        began: Instant,
        log: HealthLog,
    ) -> Result<()> {
        let state = self.update(|s| {
            let health = s.health.get_or_insert_with(health::starting);
            schedule.record(health, began, log);
        })?;
        self.container.state = state;
        Ok(())
    }
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// The earlier of two poll timeouts (-1: none).
fn min_timeout(a: i32, b: i32) -> i32 {
    match (a, b) {
        (-1, t) | (t, -1) => t,
        (a, b) => a.min(b),
    }
}

fn ms_until(when: Instant) -> i32 {
    when.saturating_duration_since(Instant::now())
        .as_millis()
        .min(i32::MAX as u128) as i32
        + 1
}

fn output_fds(output: &Output) -> Vec<RawFd> {
    match output {
        Output::Pipes { stdout, stderr } => [stdout, stderr]
            .iter()
            .filter_map(|f| f.as_ref().map(|f| f.as_raw_fd()))
            .collect(),
        Output::Terminal { master } => master.iter().map(|f| f.as_raw_fd()).collect(),
    }
}

/// Copies what the caller typed to the terminal master; false once the
/// caller's input has ended.
fn forward(stdin: RawFd, output: &Output, buf: &mut [u8]) -> bool {
    let Output::Terminal {
        master: Some(master),
    } = output
    else {
        return false;
    };
    match sys::read_some(stdin, buf) {
        Ok(Some(n)) => {
            if n > 0 {
                let _ = sys::write_all(master.as_raw_fd(), &buf[..n]);
            }
            true
        }
        Ok(None) | Err(_) => false,
    }
}
