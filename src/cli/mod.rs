//! Command-line interface: clap definitions and dispatch.
//!
//! Every subcommand lives in its own module and returns `anyhow::Result`; errors
//! are printed here as one line `kiln: <message>` with exit code 1 (clap's own
//! usage errors exit 2).

mod debug;
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
    Images(images::ImagesArgs),
    /// Give an image another name.
    Tag(images::TagArgs),
}

/// Parses the command line, runs the command, and maps the outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Debug(cmd) => debug::run(cmd),
        Command::Import(args) => images::import(&cli.root, args),
        Command::Load(args) => images::load(&cli.root, args),
        Command::Save(args) => images::save_images(&cli.root, args),
        Command::Images(args) => images::images(&cli.root, args),
        Command::Tag(args) => images::tag(&cli.root, args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kiln: {err:#}");
            ExitCode::FAILURE
        }
    }
}
