//! Command-line interface: clap definitions and dispatch.
//!
//! Every subcommand lives in its own module and returns `anyhow::Result`; errors
//! are printed here as one line `kiln: <message>` with exit code 1, or the code
//! a [`containers::Exit`] carries (Docker's 125/126/127, a container's own exit
//! code). Usage errors exit 2 as clap makes them, except for the container
//! commands, where Docker exits 125 with one line.

mod build;
mod compose;
mod containers;
mod debug;
mod debug_compose;
mod display;
mod image_df;
mod image_format;
mod image_inspect;
mod image_list;
mod image_model;
mod image_remove;
mod images;
mod save_output;
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
    Import(images::ImportArgs),
    /// Load images from a docker-archive or OCI archive (like `docker load`).
    Load(images::LoadArgs),
    /// Save images to an archive (like `docker save`).
    Save(images::SaveArgs),
    /// List images.
    Images(image_list::ImagesArgs),
    /// Give an image another name.
    Tag(images::TagArgs),
    /// Manage images (inspect, history, ls, rm, prune).
    #[command(subcommand)]
    Image(image_inspect::ImageCommand),
    /// Remove images.
    Rmi(image_remove::RmiArgs),
    /// Manage kiln (disk usage).
    #[command(subcommand)]
    System(image_df::SystemCommand),
    /// Build an image from a Dockerfile (like `docker build` with BuildKit).
    Build(build::BuildArgs),
    /// Manage the build cache.
    #[command(subcommand)]
    Builder(build::BuilderCommand),
    /// Create and run a new container from an image.
    Run(containers::RunArgs),
    /// Create a new container.
    Create(containers::CreateArgs),
    /// Start one or more stopped containers.
    Start(containers::NamesArgs),
    /// Stop one or more running containers.
    Stop(containers::StopArgs),
    /// Restart one or more containers.
    Restart(containers::StopArgs),
    /// Kill one or more running containers.
    Kill(containers::KillArgs),
    /// Remove one or more containers.
    Rm(containers::RmArgs),
    /// List containers.
    Ps(containers::PsArgs),
    /// Fetch the logs of a container.
    Logs(containers::LogsArgs),
    /// Display detailed information on one or more containers.
    Inspect(containers::InspectArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(containers::NamesArgs),
    /// Pause all processes within one or more containers.
    Pause(containers::NamesArgs),
    /// Unpause all processes within one or more containers.
    Unpause(containers::NamesArgs),
    /// Execute a command in a running container.
    Exec(containers::ExecArgs),
    /// Display the running processes of a container.
    Top(containers::TopArgs),
    /// Display container(s) resource usage statistics.
    Stats(containers::StatsArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(containers::CpArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
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
        Command::Import(args) => images::import(&cli.root, args),
        Command::Load(args) => images::load(&cli.root, args),
        Command::Save(args) => images::save_images(&cli.root, args),
        Command::Images(args) => image_list::images(&cli.root, args),
        Command::Tag(args) => images::tag(&cli.root, args),
        Command::Image(cmd) => image_inspect::run(&cli.root, cmd),
        Command::Rmi(args) => image_remove::rmi(&cli.root, args),
        Command::System(cmd) => image_df::run(&cli.root, cmd),
        Command::Build(args) => build::run(&cli.root, args),
        Command::Builder(cmd) => build::builder(&cli.root, cmd),
        Command::Run(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Run(args))
        }
        Command::Create(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Create(args))
        }
        Command::Start(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Start(args))
        }
        Command::Stop(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Stop(args))
        }
        Command::Restart(args) => containers::run_container_command(
            &cli.root,
            containers::ContainerCommand::Restart(args),
        ),
        Command::Kill(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Kill(args))
        }
        Command::Rm(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Rm(args))
        }
        Command::Ps(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Ls(args))
        }
        Command::Logs(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Logs(args))
        }
        Command::Inspect(args) => containers::run_container_command(
            &cli.root,
            containers::ContainerCommand::Inspect(args),
        ),
        Command::Wait(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Wait(args))
        }
        Command::Pause(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Pause(args))
        }
        Command::Unpause(args) => containers::run_container_command(
            &cli.root,
            containers::ContainerCommand::Unpause(args),
        ),
        Command::Exec(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Exec(args))
        }
        Command::Top(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Top(args))
        }
        Command::Stats(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Stats(args))
        }
        Command::Cp(args) => {
            containers::run_container_command(&cli.root, containers::ContainerCommand::Cp(args))
        }
        Command::Container(cmd) => containers::run_container_command(&cli.root, cmd),
        Command::Volume(cmd) => volume::run(&cli.root, cmd),
        Command::ContainerMonitor { id } => containers::monitor(&cli.root, &id),
        Command::OneshotRun {
            job,
            lifeline_stdin,
        } => containers::oneshot(&job, lifeline_stdin),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<containers::Exit>() {
            Some(exit) => {
                if let Some(message) = &exit.message {
                    eprintln!("kiln: {message}");
                }
                ExitCode::from(u8::try_from(exit.code).unwrap_or(255))
            }
            None => {
                eprintln!("kiln: {}", escape_controls(&format!("{err:#}")));
                ExitCode::FAILURE
            }
        },
    }
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
