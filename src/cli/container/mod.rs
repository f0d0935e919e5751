//! Container commands: `run`, `create`, `start`, `stop`, `ps`, `logs`, … with
//! Docker's flags and output shapes, over `kiln_runtime`.
//!
//! Exit codes follow Docker: a container command that fails in kiln exits 125;
//! a program that cannot be found or executed in the container, 127/126;
//! `run` in the foreground and `wait` give the container's own exit code.
//! [`Exit`] carries such a code up to `main`.

mod control;
mod cp;
mod env_file;
mod exec;
mod inspect;
mod inspect_network;
mod logs;
mod ps;
mod run;
mod run_network;
mod stats;
mod top;

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use kiln_runtime::container::{Container, ContainerStore};
use kiln_runtime::lifecycle;

pub use control::{KillArgs, NamesArgs, PruneArgs, RmArgs, StopArgs};
pub use cp::CpArgs;
pub use exec::ExecArgs;
pub use inspect::InspectArgs;
pub use logs::LogsArgs;
pub use ps::PsArgs;
pub use run::{CreateArgs, RunArgs};
pub use stats::StatsArgs;
pub use top::TopArgs;

/// An exit with a specific code (and a message for stderr, if any).
#[derive(Debug)]
pub struct Exit {
    /// Process exit code.
    pub code: i32,
    /// One-line message printed as `kiln: <message>`.
    pub message: Option<String>,
}

impl Exit {
    /// An error exit with Docker's `code`.
    pub fn new(code: i32, message: &str) -> Exit {
        Exit {
            code,
            message: Some(message.to_string()),
        }
    }

    /// A silent exit with `code` (the container's exit code).
    pub fn code(code: i32) -> Exit {
        Exit {
            code,
            message: None,
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message.as_deref().unwrap_or("exit"))
    }
}

impl std::error::Error for Exit {}

/// `kiln container …`: the same commands under Docker's management group.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create and run a new container from an image.
    Run(RunArgs),
    /// Create a new container.
    Create(CreateArgs),
    /// Start one or more stopped containers.
    Start(NamesArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Remove one or more containers.
    Rm(RmArgs),
    /// List containers.
    #[command(visible_alias = "list")]
    Ls(PsArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// Display detailed information on one or more containers.
    Inspect(InspectArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(NamesArgs),
    /// Pause all processes within one or more containers.
    Pause(NamesArgs),
    /// Unpause all processes within one or more containers.
    Unpause(NamesArgs),
    /// Remove all stopped containers.
    Prune(PruneArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
}

/// Runs a `kiln container …` command.
pub fn run_container_command(root: &Path, command: ContainerCommand) -> Result<()> {
    match command {
        ContainerCommand::Run(args) => run::run(root, args),
        ContainerCommand::Create(args) => run::create(root, args),
        ContainerCommand::Start(args) => control::start(root, args),
        ContainerCommand::Stop(args) => control::stop(root, args),
        ContainerCommand::Restart(args) => control::restart(root, args),
        ContainerCommand::Kill(args) => control::kill(root, args),
        ContainerCommand::Rm(args) => control::rm(root, args),
        ContainerCommand::Ls(args) => ps::ps(root, args),
        ContainerCommand::Logs(args) => logs::logs(root, args),
        ContainerCommand::Inspect(args) => inspect::inspect(root, args),
        ContainerCommand::Wait(args) => control::wait(root, args),
        ContainerCommand::Pause(args) => control::pause(root, args),
        ContainerCommand::Unpause(args) => control::unpause(root, args),
        ContainerCommand::Prune(args) => control::prune(root, args),
        ContainerCommand::Exec(args) => exec::exec(root, args),
        ContainerCommand::Top(args) => top::top(root, args),
        ContainerCommand::Stats(args) => stats::stats(root, args),
        ContainerCommand::Cp(args) => cp::cp(root, args),
    }
}

/// The hidden `kiln container-monitor ID`: a detached monitor (started by
/// `run -d`/`start`), reporting readiness on the descriptor named by
/// `KILN_MONITOR_READY_FD`.
pub fn monitor(root: &Path, id: &str) -> Result<()> {
    let ready = kiln_runtime::terminal::inherited_file("KILN_MONITOR_READY_FD");
    let code =
        kiln_runtime::monitor::run(root, id, kiln_runtime::monitor::Mode::Detached { ready })?;
    Err(Exit::code(code).into())
}

/// The hidden `kiln oneshot-run JOB`: runs one build step's process (see
/// `kiln_runtime::oneshot`) with this process's standard streams and exits
/// with its exit code; a failure to start it exits with its Docker code
/// (125/126/127, see `kiln_runtime::Error::exit_code`) and one line. With
/// `lifeline_stdin`, standard input is the build's lifeline instead.
pub fn oneshot(job: &Path, lifeline_stdin: bool) -> Result<()> {
    use anyhow::Context;
    let text = std::fs::read(job).with_context(|| format!("read {}", job.display()))?;
    let job: kiln_runtime::oneshot::OneShot =
        serde_json::from_slice(&text).with_context(|| format!("parse {}", job.display()))?;
    let (stdin, stdout, stderr) = kiln_runtime::oneshot::inherited_stdio()?;
    // With `--lifeline-stdin` (the builder) standard input is a pipe the
    // build holds and never writes: the step's lifeline (see `run_here`), and
    // the step itself reads nothing, as in BuildKit.
    let (stdio, lifeline) = if lifeline_stdin {
        let no_input = std::fs::File::open("/dev/null").context("open /dev/null")?;
        ((no_input.into(), stdout, stderr), Some(stdin))
    } else {
        ((stdin, stdout, stderr), None)
    };
    let code = kiln_runtime::oneshot::run_here(&job, stdio, lifeline)?;
    Err(Exit::code(code).into())
}

/// Finds each container named on the command line and applies `action`,
/// printing each name on success as Docker does; failures are reported one
/// line each and make the command exit 1 at the end (Docker's code for a
/// command on several containers).
fn for_each(
    root: &Path,
    names: &[String],
    print: bool,
    mut action: impl FnMut(&ContainerStore, &Container) -> Result<(), kiln_runtime::Error>,
) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut failed = false;
    for name in names {
        let outcome = store
            .find(name)
            .map_err(kiln_runtime::Error::from)
            .and_then(|mut c| {
                lifecycle::reconcile(&store, &mut c);
                action(&store, &c)
            });
        match outcome {
            Ok(()) if print => println!("{name}"),
            Ok(()) => {}
            Err(message) => {
                eprintln!("kiln: {message}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::code(1).into());
    }
    Ok(())
}
