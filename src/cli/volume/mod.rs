//! `kiln volume create|ls|inspect|rm|prune`: named volumes, as Docker's
//! `local` driver shows them. Which volumes are in use, the filters, `rm`'s
//! and `prune`'s rules are [`kiln_runtime::volume_use`]; this module prints.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use kiln_runtime::container::new_id;
use kiln_runtime::volume_use::{labels, VolumeUsers};
use kiln_runtime::volumes::{Volume, VolumeStore};
use serde_json::{json, Value};

use crate::cli::container::Exit;
use crate::cli::display::human_size;
use crate::cli::format::{render_rows, Template};

/// `kiln volume` subcommands.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume.
    Create(CreateArgs),
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes.
    Inspect(InspectArgs),
    /// Remove one or more volumes.
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused volumes.
    Prune(PruneArgs),
}

/// `kiln volume create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Set metadata for a volume (KEY=VALUE).
    #[arg(long)]
    label: Vec<String>,
    /// Volume driver (only `local`).
    #[arg(short = 'd', long, default_value = "local")]
    driver: String,
    /// The name (random when omitted).
    name: Option<String>,
}

/// `kiln volume ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display volume names.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Filter: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=local.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Go template: {{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels}} {{.Scope}}.
    #[arg(long)]
    format: Option<String>,
}

/// `kiln volume inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using a Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Volumes.
    #[arg(required = true)]
    names: Vec<String>,
}

/// `kiln volume rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not fail on volumes that do not exist (volumes in use are still refused).
    #[arg(short = 'f', long)]
    force: bool,
    /// Volumes.
    #[arg(required = true)]
    names: Vec<String>,
}

/// `kiln volume prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones.
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
}

/// Runs a `kiln volume …` command.
pub fn run(root: &Path, cmd: VolumeCommand) -> Result<()> {
    let volumes = VolumeStore::open(root).map_err(anyhow::Error::msg)?;
    match cmd {
        VolumeCommand::Create(args) => create(&volumes, args),
        VolumeCommand::Ls(args) => ls(root, &volumes, args),
        VolumeCommand::Inspect(args) => inspect(&volumes, args),
        VolumeCommand::Rm(args) => rm(root, &volumes, args),
        VolumeCommand::Prune(args) => prune(root, &volumes, args),
    }
}

fn create(volumes: &VolumeStore, args: CreateArgs) -> Result<()> {
    if args.driver != "local" {
        bail!(
            "create {}: volume driver {:?} is not supported (only local)",
            args.name.as_deref().unwrap_or(""),
            args.driver
        );
    }
    let name = match args.name {
        Some(name) => name,
        None => new_id()?,
    };
    let labels = args
        .label
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();
    let (volume, _) = volumes
        .ensure(&name, labels, false)
        .map_err(anyhow::Error::msg)?;
    println!("{}", volume.name);
    Ok(())
}

/// Docker's `volume inspect` document (labels include Docker's anonymous
/// label for anonymous volumes).
fn document(volume: &Volume) -> Value {
    let labels = labels(volume);
    json!({
        "CreatedAt": volume.created_at,
        "Driver": volume.driver,
        "Labels": labels,
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Options": null,
        "Scope": volume.scope,
    })
}

fn ls(root: &Path, volumes: &VolumeStore, args: LsArgs) -> Result<()> {
    let users = VolumeUsers::of(root)?;
    let shown = users.filter(volumes.list(), &args.filter)?;
    if args.quiet {
        shown.iter().for_each(|v| println!("{}", v.name));
        return Ok(());
    }
    let rows: Vec<Value> = shown.iter().map(document).collect();
    let format = args
        .format
        .unwrap_or_else(|| "table {{.Driver}}\t{{.Name}}".into());
    let header = |field: &str| match field {
        "Name" => "VOLUME NAME".to_string(),
        other => other.to_uppercase(),
    };
    print!("{}", render_rows(&format, &rows, header)?);
    Ok(())
}

fn inspect(volumes: &VolumeStore, args: InspectArgs) -> Result<()> {
    let mut docs = Vec::new();
    let mut missing = Vec::new();
    for name in &args.names {
        match volumes.get(name) {
            Some(v) => docs.push(document(&v)),
            None => missing.push(format!("get {name}: no such volume")),
        }
    }
    match &args.format {
        Some(format) => {
            let template = Template::parse(format)?;
            for doc in &docs {
                println!("{}", template.render(doc)?);
            }
        }
        None => println!("{}", pretty(&Value::Array(docs))),
    }
    if !missing.is_empty() {
        return Err(Exit::new(1, &missing.join("; ")).into());
    }
    Ok(())
}

/// JSON with Docker's four-space indentation.
fn pretty(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut ser).expect("JSON values always serialize");
    String::from_utf8_lossy(&out).into_owned()
}

fn rm(root: &Path, volumes: &VolumeStore, args: RmArgs) -> Result<()> {
    let users = VolumeUsers::of(root)?;
    let mut errors = Vec::new();
    for name in &args.names {
        match users.remove(volumes, name, args.force) {
            Ok(true) => println!("{name}"),
            Ok(false) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Exit::new(1, &errors.join("; ")).into());
    }
    Ok(())
}

fn prune(root: &Path, volumes: &VolumeStore, args: PruneArgs) -> Result<()> {
    let warning = if args.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !args.force {
        print!("{warning}\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y") {
            println!();
            return Ok(());
        }
    }
    let pruned = VolumeUsers::of(root)?.prune(volumes, args.all)?;
    if !pruned.deleted.is_empty() {
        println!("Deleted Volumes:\n{}\n", pruned.deleted.join("\n"));
    }
    println!("Total reclaimed space: {}", human_size(pruned.reclaimed));
    Ok(())
}
