//! `kiln compose …`: Compose projects. The global compose flags (`-f`, `-p`,
//! `--project-directory`, `--env-file`, `--profile`) come before the verb,
//! as with `docker compose`.
//!
//! - `config` (`config.rs`): the project as docker compose v2 loads it;
//! - `files.rs`: the host's files behind the loader's `FileSource`.

mod config;
mod files;

use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::Path;

/// The flags every `kiln compose` verb takes.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files (several; `-` for standard input).
    #[arg(short = 'f', long = "file", global = true)]
    pub files: Vec<String>,
    /// Project name.
    #[arg(short = 'p', long = "project-name", global = true)]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the folder of the first file).
    #[arg(long, global = true)]
    pub project_directory: Option<String>,
    /// Alternate environment files (several).
    #[arg(long = "env-file", global = true)]
    pub env_files: Vec<String>,
    /// Profiles to enable (several).
    #[arg(long = "profile", id = "profile", global = true)]
    pub profiles: Vec<String>,
    /// The verb.
    #[command(subcommand)]
    pub command: ComposeCommand,
}

/// The verbs of `kiln compose`.
#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Parse, resolve and render the compose file in canonical format.
    Config(config::ConfigArgs),
}

/// Runs a `kiln compose` verb.
pub fn run(root: &Path, args: ComposeArgs) -> Result<()> {
    let ComposeArgs {
        files,
        project_name,
        project_directory,
        env_files,
        profiles,
        command,
    } = args;
    let global = config::Global {
        files,
        project_name,
        project_directory,
        env_files,
        profiles,
    };
    match command {
        ComposeCommand::Config(config) => config::run(root, &global, config),
    }
}
