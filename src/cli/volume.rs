//! `kiln volume create|ls|inspect|rm|prune`: named volumes, as Docker's
//! `local` driver shows them.
//!
//! A volume is *in use* while any container (running or not) names it in its
//! mounts; such a volume cannot be removed, even with `-f` (Docker's rule:
//! `-f` only ignores missing volumes). `prune` follows Docker 23+: without
//! `-a` it removes only anonymous unused volumes, with `-a` every unused one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use kiln_runtime::container::{new_id, ContainerStore};
use kiln_runtime::volumes::{Volume, VolumeStore};
use serde_json::{json, Value};

use crate::cli::containers::Exit;
use crate::cli::display::human_size;
use crate::cli::image_format::{render_rows, Template};

/// Docker's label on anonymous volumes.
const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

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

/// Volume name → the IDs of the containers whose mounts name it.
fn users(root: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in ContainerStore::open(root)?.list()? {
        for m in c
            .record
            .mounts
            .iter()
            .filter(|m| m.kind == "volume" && !m.name.is_empty())
        {
            out.entry(m.name.clone())
                .or_default()
                .push(c.record.id.clone());
        }
    }
    Ok(out)
}

/// Docker's `volume inspect` document (labels include Docker's anonymous
/// label for anonymous volumes).
fn document(volume: &Volume) -> Value {
    let mut labels = volume.labels.clone();
    if volume.anonymous {
        labels.entry(ANONYMOUS_LABEL.to_string()).or_default();
    }
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
    let users = users(root)?;
    let mut filters: Vec<(String, String)> = Vec::new();
    for f in &args.filter {
        let Some((key, value)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        if !matches!(key, "dangling" | "name" | "label" | "driver") {
            bail!("invalid filter '{key}'");
        }
        if key == "dangling" && !matches!(value, "true" | "false" | "1" | "0") {
            bail!("invalid filter 'dangling={value}'");
        }
        filters.push((key.to_string(), value.to_string()));
    }
    let keys: BTreeSet<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    let shown: Vec<Volume> = volumes
        .list()
        .into_iter()
        .filter(|v| {
            keys.iter().all(|key| {
                filters
                    .iter()
                    .filter(|(k, _)| k == key)
                    .any(|(_, value)| matches(v, key, value, &users))
            })
        })
        .collect();
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

fn matches(v: &Volume, key: &str, value: &str, users: &BTreeMap<String, Vec<String>>) -> bool {
    match key {
        "dangling" => users.contains_key(&v.name) != matches!(value, "true" | "1"),
        "name" => v.name.contains(value),
        "driver" => v.driver == value,
        "label" => {
            let labels = document(v)["Labels"].clone();
            match value.split_once('=') {
                Some((k, want)) => labels.get(k).and_then(Value::as_str) == Some(want),
                None => labels.get(value).is_some(),
            }
        }
        _ => false,
    }
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
    let users = users(root)?;
    let mut errors = Vec::new();
    for name in &args.names {
        if let Some(ids) = users.get(name) {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            errors.push(format!(
                "remove {name}: volume is in use - [{}]",
                ids.join(", ")
            ));
            continue;
        }
        if volumes.get(name).is_none() {
            if !args.force {
                errors.push(format!("get {name}: no such volume"));
            }
            continue;
        }
        match volumes.remove(name) {
            Ok(()) => println!("{name}"),
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
    let users = users(root)?;
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for volume in volumes.list() {
        if users.contains_key(&volume.name) || !(args.all || volume.anonymous) {
            continue;
        }
        let size = dir_size(Path::new(&volume.mountpoint));
        volumes.remove(&volume.name).map_err(anyhow::Error::msg)?;
        reclaimed += size;
        deleted.push(volume.name);
    }
    if !deleted.is_empty() {
        println!("Deleted Volumes:\n{}\n", deleted.join("\n"));
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}

/// Bytes of the files under `dir` (not following symlinks).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}
