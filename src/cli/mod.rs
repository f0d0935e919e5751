//! Command-line interface: clap definitions and dispatch. `src/` only turns
//! flags into typed requests to the library crates and prints their results.
//!
//! One folder per CLI noun: [`image`] (`images`, `import`, `load`, `save`,
//! `tag`, `rmi`, `image …`), [`container`] (`run`, `create`, `ps`, `logs`,
//! `exec`, `cp`, …), [`volume`], [`network`] (`network …`, `port`),
//! [`build`] (`build`, `builder prune`), [`system`] (`system df`); `debug`
//! holds the parsers' debug dumps.
//! [`format`] (Go templates, tables) and [`display`] (sizes, ages) are shared.
//!
//! Every subcommand lives in its own module and returns `anyhow::Result`; errors
//! are printed here as one line `kiln: <message>` and mapped to exit codes in
//! one place ([`exit_status`]): the code a [`container::Exit`] carries (a
//! container's own exit code, or a code the command chose), the code of a
//! runtime error ([`kiln_runtime::Error::exit_code`]: Docker's 125/126/127),
//! 125 for a bad flag value, else 1. Usage errors exit 2 as clap makes them,
//! except for the container commands, where Docker exits 125 with one line.

mod build;
mod compose;
mod container;
mod debug;
mod debug_compose;
mod display;
mod format;
mod image;
mod network;
mod system;
mod volume;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// kiln builds OCI images from Dockerfiles and runs them.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, propagate_version = true)]
pub struct Cli {
    /// Where kiln keeps its state (content, snapshots, images, containers).
    #[arg(
        long,
        global = true,
        env = "KILN_ROOT",
        default_value = "/var/lib/kiln"
    )]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compose projects (`kiln compose [-f FILE]... [-p NAME] config`).
    Compose(compose::ComposeArgs),
    /// Tools for looking inside kiln's parsers and stores.
    #[command(subcommand)]
    Debug(debug::DebugCommand),
    /// Create an image from a root filesystem tar (like `docker import`).
    Import(image::ImportArgs),
    /// Load images from a docker-archive or OCI archive (like `docker load`).
    Load(image::LoadArgs),
    /// Save images to an archive (like `docker save`).
    Save(image::SaveArgs),
    /// List images.
    Images(image::list::ImagesArgs),
    /// Give an image another name.
    Tag(image::TagArgs),
    /// Manage images (inspect, history, ls, rm, prune).
    #[command(subcommand)]
    Image(image::inspect::ImageCommand),
    /// Remove images.
    Rmi(image::remove::RmiArgs),
    /// Manage kiln (disk usage).
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Build an image from a Dockerfile (like `docker build` with BuildKit).
    Build(build::BuildArgs),
    /// Manage the build cache.
    #[command(subcommand)]
    Builder(build::BuilderCommand),
    /// Create and run a new container from an image.
    Run(container::RunArgs),
    /// Create a new container.
    Create(container::CreateArgs),
    /// Start one or more stopped containers.
    Start(container::NamesArgs),
    /// Stop one or more running containers.
    Stop(container::StopArgs),
    /// Restart one or more containers.
    Restart(container::StopArgs),
    /// Kill one or more running containers.
    Kill(container::KillArgs),
    /// Remove one or more containers.
    Rm(container::RmArgs),
    /// List containers.
    Ps(container::PsArgs),
    /// Fetch the logs of a container.
    Logs(container::LogsArgs),
    /// Display detailed information on one or more containers.
    Inspect(container::InspectArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(container::NamesArgs),
    /// Pause all processes within one or more containers.
    Pause(container::NamesArgs),
    /// Unpause all processes within one or more containers.
    Unpause(container::NamesArgs),
    /// Execute a command in a running container.
    Exec(container::ExecArgs),
    /// Display the running processes of a container.
    Top(container::TopArgs),
    /// Display container(s) resource usage statistics.
    Stats(container::StatsArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(container::CpArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage networks.
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// List port mappings or a specific mapping for the container.
    Port(network::PortArgs),
    /// Runs one build step's process from a job file (started by kiln itself).
    #[command(name = "oneshot-run", hide = true)]
    OneshotRun {
        /// Standard input is the build's lifeline, not the step's input: the
        /// step reads nothing and is killed when the pipe closes.
        #[arg(long)]
        lifeline_stdin: bool,
        /// The job (JSON of `kiln_runtime::oneshot::OneShot`).
        job: PathBuf,
    },
    /// The detached monitor of one container (started by kiln itself).
    #[command(name = "container-monitor", hide = true)]
    ContainerMonitor {
        /// Container ID.
        id: String,
    },
}

/// Commands whose usage errors exit 125 with one line, as Docker's do.
const CONTAINER_COMMANDS: &[&str] = &[
    "run",
    "create",
    "start",
    "stop",
    "restart",
    "kill",
    "rm",
    "ps",
    "logs",
    "inspect",
    "wait",
    "pause",
    "unpause",
    "container",
    "exec",
    "top",
    "stats",
    "cp",
    "volume",
    "network",
    "port",
];

/// Parses the command line, runs the command, and maps the outcome to an exit code.
/// Moves this kiln process, while it is still single-threaded, into a mount
/// namespace of its own whose mounts never propagate to the host. Every mount
/// kiln makes — a build step's snapshots and bind sources, an image being
/// unpacked, a container's root filesystem — then exists only as long as
/// this process (and the children it starts) do: a `kill -9` at any point
/// leaves nothing mounted on the host, and every thread, spawned later,
/// shares the namespace. Without the privilege to unshare (not root) kiln
/// cannot mount anything either, so the failure is ignored here and the
/// command that needs a mount reports its own error.
fn private_mounts() {
    let _ = kiln_runtime::rootfs::enter_private_mount_namespace();
}

pub fn run() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    // Everything below works with an absolute root: paths into it are
    // handed to runtimes and mount calls that require absolute paths.
    if let Ok(absolute) = std::path::absolute(&cli.root) {
        cli.root = absolute;
    }
    if !matches!(cli.command, Command::Debug(_) | Command::Compose(_)) {
        private_mounts();
    }
    let outcome = match cli.command {
        Command::Debug(cmd) => debug::run(cmd),
        Command::Compose(args) => compose::run(&cli.root, args),
        Command::Import(args) => image::import(&cli.root, args),
        Command::Load(args) => image::load(&cli.root, args),
        Command::Save(args) => image::save_images(&cli.root, args),
        Command::Images(args) => image::list::images(&cli.root, args),
        Command::Tag(args) => image::tag(&cli.root, args),
        Command::Image(cmd) => image::inspect::run(&cli.root, cmd),
        Command::Rmi(args) => image::remove::rmi(&cli.root, args),
        Command::System(cmd) => system::run(&cli.root, cmd),
        Command::Build(args) => build::run(&cli.root, args),
        Command::Builder(cmd) => build::builder(&cli.root, cmd),
        Command::Run(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Run(args))
        }
        Command::Create(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Create(args))
        }
        Command::Start(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Start(args))
        }
        Command::Stop(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Stop(args))
        }
        Command::Restart(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Restart(args))
        }
        Command::Kill(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Kill(args))
        }
        Command::Rm(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Rm(args))
        }
        Command::Ps(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Ls(args))
        }
        Command::Logs(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Logs(args))
        }
        Command::Inspect(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Inspect(args))
        }
        Command::Wait(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Wait(args))
        }
        Command::Pause(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Pause(args))
        }
        Command::Unpause(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Unpause(args))
        }
        Command::Exec(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Exec(args))
        }
        Command::Top(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Top(args))
        }
        Command::Stats(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Stats(args))
        }
        Command::Cp(args) => {
            container::run_container_command(&cli.root, container::ContainerCommand::Cp(args))
        }
        Command::Container(cmd) => container::run_container_command(&cli.root, cmd),
        Command::Volume(cmd) => volume::run(&cli.root, cmd),
        Command::Network(cmd) => network::run(&cli.root, cmd),
        Command::Port(args) => network::port::port(&cli.root, args),
        Command::ContainerMonitor { id } => container::monitor(&cli.root, &id),
        Command::OneshotRun {
            job,
            lifeline_stdin,
        } => container::oneshot(&job, lifeline_stdin),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, message) = exit_status(&err);
            if let Some(message) = message {
                eprintln!("kiln: {message}");
            }
            ExitCode::from(u8::try_from(code).unwrap_or(255))
        }
    }
}

/// The exit code of a failed command and the line to print (if any): the one
/// place where errors become exit codes, for every command.
fn exit_status(err: &anyhow::Error) -> (i32, Option<String>) {
    if let Some(exit) = err.downcast_ref::<container::Exit>() {
        return (exit.code, exit.message.clone());
    }
    if let Some(error) = err.downcast_ref::<kiln_runtime::Error>() {
        return (error.exit_code(), Some(escape_controls(&error.to_string())));
    }
    let code = match err.downcast_ref::<kiln_parser::values::ValueError>() {
        Some(_) => kiln_runtime::error::EXIT_KILN,
        None => 1,
    };
    (code, Some(escape_controls(&format!("{err:#}"))))
}

/// `text` with control characters other than newline and tab escaped
/// (`\u{1b}`): messages quote names from archives, Dockerfiles and images,
/// and an escape sequence among them must not drive the terminal.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Reports a command-line error: clap's own output and exit code 2, except for
/// container commands, which print one line and exit 125 as Docker's do.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let command = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && !a.contains('/'));
    if command
        .as_deref()
        .is_some_and(|c| CONTAINER_COMMANDS.contains(&c))
    {
        let text = err.to_string();
        let line = text
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ");
        eprintln!("kiln: {line}");
        return ExitCode::from(125);
    }
    let _ = err.print();
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mapping_from_errors_to_exit_codes() {
        let status = |err: anyhow::Error| exit_status(&err);
        assert_eq!(status(container::Exit::code(3).into()), (3, None));
        let not_found = kiln_runtime::Error::Start {
            container: "c".into(),
            failure: kiln_runtime::error::StartFailure::NotFound,
            message: "exec: \"x\": executable file not found in $PATH".into(),
        };
        let (code, message) = status(not_found.into());
        assert_eq!(code, 127);
        assert_eq!(
            message.unwrap(),
            "exec: \"x\": executable file not found in $PATH"
        );
        let refused = kiln_runtime::Error::from(kiln_runtime::lifecycle::ExecError::NoCommand);
        assert_eq!(status(refused.into()).0, 1);
        assert_eq!(status(kiln_runtime::Error::NoFreeName.into()).0, 125);
        let bad = kiln_parser::values::parse_signal("x").unwrap_err();
        assert_eq!(status(bad.into()), (125, Some("invalid signal: x".into())));
        let other = anyhow::anyhow!("no such image\u{1b}[2J");
        assert_eq!(status(other), (1, Some("no such image\\u{1b}[2J".into())));
    }
}
