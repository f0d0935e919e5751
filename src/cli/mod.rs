//! Command-line interface: clap definitions and dispatch.
//!
//! Every subcommand lives in its own module and returns `anyhow::Result`; errors
//! are printed here as one line `kiln: <message>` with exit code 1 (clap's own
//! usage errors exit 2).

mod debug;
mod display;
mod image_df;
mod image_format;
mod image_inspect;
mod image_list;
mod image_model;
mod image_remove;
mod images;

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
}

/// Parses the command line, runs the command, and maps the outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Debug(cmd) => debug::run(cmd),
        Command::Import(args) => images::import(&cli.root, args),
        Command::Load(args) => images::load(&cli.root, args),
        Command::Save(args) => images::save_images(&cli.root, args),
        Command::Images(args) => image_list::images(&cli.root, args),
        Command::Tag(args) => images::tag(&cli.root, args),
        Command::Image(cmd) => image_inspect::run(&cli.root, cmd),
        Command::Rmi(args) => image_remove::rmi(&cli.root, args),
        Command::System(cmd) => image_df::run(&cli.root, cmd),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kiln: {err:#}");
            ExitCode::FAILURE
        }
    }
}
