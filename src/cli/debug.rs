//! `kiln debug …`: developer tools that expose kiln's internals as text.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};

mod compose;

/// Subcommands of `kiln debug`.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Print a Dockerfile's syntax tree in BuildKit's test dump format
    /// (one `(keyword ["--flags"] "args"…)` line per instruction).
    DockerfileDump {
        /// The Dockerfile to read (`-` for standard input).
        file: PathBuf,
        /// Also check every instruction (unknown instructions, flags, arity…)
        /// and print the typed model instead of the syntax tree.
        #[arg(long)]
        typed: bool,
    },
    /// Run one pass of the Compose loader alone (`.env` files, interpolation,
    /// merge).
    #[command(subcommand)]
    Compose(compose::ComposeCommand),
}

/// Runs a `kiln debug` subcommand.
pub fn run(cmd: DebugCommand) -> Result<()> {
    match cmd {
        DebugCommand::DockerfileDump { file, typed } => dockerfile_dump(&file, typed),
        DebugCommand::Compose(cmd) => compose::run(cmd),
    }
}

fn read_source(file: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the Dockerfile from standard input")?;
    } else {
        bytes = std::fs::read(file)
            .with_context(|| format!("cannot read Dockerfile {}", file.display()))?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn dockerfile_dump(file: &Path, typed: bool) -> Result<()> {
    let source = read_source(file)?;
    let name = if file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    let output = if typed {
        kiln_parser::dockerfile::parse_dockerfile(&source)
            .map(|dockerfile| dockerfile.dump())
            .map_err(|e| anyhow::anyhow!(e.display_in(&name)))?
    } else {
        kiln_parser::dockerfile::parse(&source)
            .map(|ast| ast.dump())
            .map_err(|e| anyhow::anyhow!(e.display_in(&name)))?
    };
    print!("{output}");
    Ok(())
}
