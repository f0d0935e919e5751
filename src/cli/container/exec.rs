//! `kiln exec`: runs a command in a running container, as `docker exec`.
//!
//! This process makes itself a child subreaper, asks the container's runtime
//! to start the process (libcontainer needs a single-threaded caller: the CLI
//! is one) and reaps it: its exit code becomes ours. Without `-t` the process
//! gets our stdout/stderr and — with `-i` — our stdin (else `/dev/null`).
//! With `-t` the runtime hands the pty master over a console socket and this
//! process relays between it and our terminal (raw mode when stdin is one).
//! `-d` starts the process with `/dev/null` for its streams and returns.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgAction, Args};
use kiln_runtime::container::ContainerStore;
use kiln_runtime::lifecycle::{self, ExecOptions};
use kiln_runtime::oci::{self, ConsoleSocket, Stdio};
use kiln_runtime::terminal::{relay_pty, wait_exit, RawTerminal};

use super::env_file::read_env_file;
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
        let code = relay_pty(pid, &master, args.interactive);
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
    Err(Exit::code(wait_exit(pid)).into())
}

fn dev_null() -> Result<OwnedFd> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("open /dev/null")?
        .into())
}
