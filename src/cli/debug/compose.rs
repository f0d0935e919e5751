//! `kiln debug compose …`: each pass of the Compose loader run alone, so that
//! corpora can be checked against the built binary without Rust code.
//!
//! - `dotenv [--env K=V]… [--service-env K[=V]]… FILE…`: the map Compose gets
//!   from FILEs used as env files (in order, later keys win; `--env` is the
//!   process environment). With `--service-env`, the files are a service's
//!   `env_file` list and `--service-env` its `environment:` (a bare `K` has no
//!   value), resolved as compose resolves a service's environment. Prints one
//!   JSON object, keys in file order (`null` for a key without value).
//! - `interpolate`: reads `{"template": …, "env": {…}}` JSON lines on standard
//!   input (other fields are ignored) and writes one `{"result": …}` or
//!   `{"error": …}` line for each.
//! - `merge FILE…`: the files merged as `-f` files are (`debug_compose.rs`).

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use kiln_parser::compose::env_files::{env_files, service_environment, EnvFile};
use kiln_parser::compose::env_map::EnvMap;
use kiln_parser::compose::interpolate::substitute;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Subcommands of `kiln debug compose`.
#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Print the variables Compose reads from env files, as JSON (keys in
    /// file order; later files win).
    Dotenv {
        /// A variable of the process environment the files see (KEY=VALUE;
        /// may be repeated).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Read the files as a service's `env_file` list, with this entry of
        /// the service's `environment:` on top (KEY=VALUE, or KEY for an
        /// entry without value; may be repeated).
        #[arg(long = "service-env", value_name = "KEY[=VALUE]")]
        service_env: Vec<String>,
        /// The env files, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Substitute `${...}` templates: `{"template": …, "env": {…}}` JSON lines
    /// on standard input, one `{"result": …}` or `{"error": …}` line out each.
    Interpolate,
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
pub fn run(cmd: ComposeCommand) -> Result<()> {
    match cmd {
        ComposeCommand::Dotenv {
            env,
            service_env,
            files,
        } => dotenv(&env, &service_env, &files),
        ComposeCommand::Interpolate => interpolate(),
        ComposeCommand::Merge { files } => super::super::debug_compose::run(
            super::super::debug_compose::ComposeDebugCommand::Merge { files },
        ),
    }
}

fn dotenv(env: &[String], service_env: &[String], files: &[PathBuf]) -> Result<()> {
    let mut process = HashMap::new();
    for entry in env {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid --env {entry:?}: expected KEY=VALUE"))?;
        process.insert(key.to_string(), value.to_string());
    }
    let lookup = |name: &str| process.get(name).cloned();
    let texts = files
        .iter()
        .map(|path| Ok((path.display().to_string(), read_env_file(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let files: Vec<EnvFile<'_>> = texts
        .iter()
        .map(|(name, text)| EnvFile { name, text })
        .collect();
    let map: EnvMap<Option<String>> = if service_env.is_empty() {
        env_files(&files, &lookup)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect()
    } else {
        let service: Vec<(String, Option<String>)> = service_env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (e.clone(), None),
            })
            .collect();
        service_environment(&files, &service, &lookup)?
    };
    print!("{}", json_object(&map));
    Ok(())
}

/// Reads one env file as Compose does: it must exist, be a file, and (for
/// kiln) be UTF-8.
fn read_env_file(path: &Path) -> Result<String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("couldn't find env file: {}", path.display())
        }
        Err(_) if path.is_dir() => bail!("{} is a directory", path.display()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        anyhow!(
            "failed to read {}: line {line}: not valid UTF-8",
            path.display()
        )
    })
}

/// `map` as a JSON object, keys in order, two-space indented.
fn json_object(map: &EnvMap<Option<String>>) -> String {
    if map.is_empty() {
        return "{}\n".to_string();
    }
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("  {}: {}", Value::from(k), json!(v)))
        .collect();
    format!("{{\n{}\n}}\n", entries.join(",\n"))
}

fn interpolate() -> Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.with_context(|| format!("<stdin>:{}: cannot read", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match interpolate_line(&line) {
            Ok(reply) => reply,
            Err(e) => {
                out.flush()?;
                bail!("<stdin>:{}: {e:#}", i + 1);
            }
        };
        writeln!(out, "{reply}")?;
    }
    out.flush()?;
    Ok(())
}

/// The reply to one `{"template": …, "env": {…}}` line.
fn interpolate_line(line: &str) -> Result<Value> {
    let request: Value = serde_json::from_str(line).context("invalid JSON")?;
    let template = request["template"]
        .as_str()
        .ok_or_else(|| anyhow!("\"template\" must be a string"))?;
    let mut env = HashMap::new();
    match &request["env"] {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                let value = value
                    .as_str()
                    .ok_or_else(|| anyhow!("env {key:?} must be a string"))?;
                env.insert(key.clone(), value.to_string());
            }
        }
        _ => bail!("\"env\" must be an object"),
    }
    Ok(match substitute(template, &|name| env.get(name).cloned()) {
        Ok(result) => json!({ "result": result }),
        Err(e) => json!({ "error": e.to_string() }),
    })
}
