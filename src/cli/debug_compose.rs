//! `kiln debug compose …`: the Compose loader's passes run alone, so
//! corpora can be checked against the built binary.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Subcommands of `kiln debug compose`.
#[derive(Debug, Subcommand)]
pub enum ComposeDebugCommand {
    /// Print the files' YAML trees merged in order as docker compose merges
    /// `-f` files (compose-go's merge rules, then its uniqueness pass, with
    /// `!reset`/`!override`), before interpolation and normalisation.
    Merge {
        /// The compose files, base first (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a `kiln debug compose` subcommand.
pub fn run(cmd: ComposeDebugCommand) -> Result<()> {
    match cmd {
        ComposeDebugCommand::Merge { files } => merge(&files),
    }
}

fn merge(files: &[PathBuf]) -> Result<()> {
    let texts = files
        .iter()
        .map(|f| Ok((f.display().to_string(), read(f)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = kiln_parser::compose::files::merge_texts(&texts)?;
    print!("{}", kiln_parser::compose::yaml::emit(&merged));
    Ok(())
}

fn read(file: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the compose file from standard input")?;
    } else {
        bytes = std::fs::read(file)
            .with_context(|| format!("cannot read compose file {}", file.display()))?;
    }
    String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 text", file.display()))
}
