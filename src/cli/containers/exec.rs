//! `kiln exec`: runs a command in a running container, as `docker exec`.
//!
//! This process makes itself a child subreaper, asks the container's runtime
//! to start the process (libcontainer needs a single-threaded caller: the CLI
//! is one) and reaps it: its exit code becomes ours. Without `-t` the process
//! gets our stdout/stderr and — with `-i` — our stdin (else `/dev/null`).
//! With `-t` the runtime hands the pty master over a console socket and this
//! process relays between it and our terminal (raw mode when stdin is one).
//! `-d` starts the process with `/dev/null` for its streams and returns.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgAction, Args};
use kiln_runtime::container::ContainerStore;
use kiln_runtime::lifecycle::{self, ExecOptions};
use kiln_runtime::oci::{self, ConsoleSocket, Stdio};

use super::env_file::read_env_file;
use super::terminal::RawTerminal;
use super::Exit;
use kiln_runtime::monitor::copy_window_size;

/// `kiln exec` flags (Docker's names).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct ExecArgs {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Keep STDIN open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    tty: bool,
    /// Detached mode: run command in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to pass kiln's own).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file")]
    env_file: Vec<PathBuf>,
    /// The container (name, ID or ID prefix).
    container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Runs `kiln exec`; the command's exit code is returned as an [`Exit`].
pub fn exec(root: &Path, args: ExecArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut container = store
        .find(&args.container)
        .map_err(|e| Exit::new(1, &e.to_string()))?;
    lifecycle::reconcile(&store, &mut container);
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(read_env_file(file).map_err(|e| Exit::new(125, &format!("{e:#}")))?);
    }
    env.extend(args.env.iter().cloned());
    let options = ExecOptions {
        args: args.command.clone(),
        env,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        tty: args.tty,
    };
    let process =
        lifecycle::exec_process(&store, &container, &options).map_err(kiln_runtime::Error::from)?;
    oci::become_subreaper().map_err(kiln_runtime::Error::from)?;
    let started = |stdio| {
        lifecycle::exec(&store, &container, &process, stdio)
            .map_err(|e| anyhow::Error::from(kiln_runtime::Error::from(e)))
    };
    if args.detach {
        let null = || dev_null();
        started(Stdio::Fds {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
        })?;
        return Ok(());
    }
    if args.tty {
        let socket_path = std::env::temp_dir().join(format!(
            "kiln-exec-{}-{}.sock",
            std::process::id(),
            container
                .record
                .id
                .get(..12)
                .unwrap_or(&container.record.id)
        ));
        let _ = std::fs::remove_file(&socket_path);
        let socket = ConsoleSocket::bind(&socket_path).map_err(kiln_runtime::Error::from)?;
        let pid = started(Stdio::Terminal {
            console_socket: socket.path().to_path_buf(),
        })?;
        let master = socket
            .receive(Duration::from_secs(10))
            .map_err(kiln_runtime::Error::from)?;
        drop(socket);
        copy_window_size(0, master.as_raw_fd());
        let raw = if args.interactive {
            RawTerminal::enter()
        } else {
            None
        };
        let code = relay(pid, &master, args.interactive);
        drop(raw);
        return Err(Exit::code(code).into());
    }
    let stdin = if args.interactive {
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .context("duplicate stdin")?
    } else {
        dev_null()?
    };
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicate stdout")?;
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicate stderr")?;
    let pid = started(Stdio::Fds {
        stdin,
        stdout,
        stderr,
    })?;
    Err(Exit::code(wait_for(pid)).into())
}

fn dev_null() -> Result<OwnedFd> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("open /dev/null")?
        .into())
}

/// Waits for `pid` (re-parented to us): Docker's exit code, 128+signal for a
/// signal.
fn wait_for(pid: u32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a status out-parameter.
        let rc = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        if rc < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return 125;
        }
        return exit_code(status);
    }
}

fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}

/// Relays between our terminal and the pty `master` until the process `pid`
/// has exited and its output is drained; returns its exit code.
fn relay(pid: u32, master: &OwnedFd, interactive: bool) -> i32 {
    let mfd = master.as_raw_fd();
    set_nonblocking(mfd);
    let mut stdin_open = interactive;
    let mut buf = [0u8; 8192];
    let mut exited: Option<i32> = None;
    loop {
        let mut fds = vec![libc::pollfd {
            fd: mfd,
            events: libc::POLLIN,
            revents: 0,
        }];
        if stdin_open {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: a valid pollfd array of its length.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
        if stdin_open && fds.len() > 1 && fds[1].revents != 0 {
            // SAFETY: reading into our buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
                // End of input: send the terminal's EOF character.
                write_all(mfd, &[4]);
            } else {
                write_all(mfd, &buf[..n as usize]);
            }
        }
        let master_done;
        loop {
            // SAFETY: reading into our buffer from a non-blocking fd.
            let n = unsafe { libc::read(mfd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                write_all(1, &buf[..n as usize]);
                continue;
            }
            let err = std::io::Error::last_os_error().raw_os_error();
            if n < 0 && err == Some(libc::EINTR) {
                continue;
            }
            master_done = n == 0 || err != Some(libc::EAGAIN);
            break;
        }
        if exited.is_none() {
            let mut status = 0;
            // SAFETY: waitpid with a status out-parameter.
            if unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) } == pid as i32 {
                exited = Some(exit_code(status));
                continue; // one more pass to drain what is left
            }
        }
        if master_done || exited.is_some() {
            return exited.unwrap_or_else(|| wait_for(pid));
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Writes all of `bytes` (best effort: the other side may be gone).
fn write_all(fd: RawFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from our buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                _ => return,
            }
        }
        bytes = &bytes[n as usize..];
    }
}
