//! `kiln ps`: Docker's columns, `-a`, `-q`, `--filter`, `--format`, `--no-trunc`.
//!
//! Filters (`--filter KEY=VALUE`, Docker's keys): `status=` (created, running,
//! paused, restarting, exited, dead), `name=` (substring, as Docker), `label=KEY`
//! or `label=KEY=VALUE`, `ancestor=` (image as given, or image ID prefix), `id=`
//! (prefix), `health=` (starting, healthy, unhealthy, none). Different keys must all match; values of one key match if any does.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use kiln_image::time::parse_rfc3339;
use kiln_runtime::container::{short_id, Container, ContainerStore, Status};
use kiln_runtime::lifecycle;
use serde_json::{json, Value};

use crate::cli::display::human_duration;
use crate::cli::image_format::render_rows;

/// `kiln ps` flags.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display container IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Filter output based on conditions provided.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Go template: {{.ID}} {{.Image}} {{.Command}} {{.RunningFor}} {{.Status}} {{.State}} {{.Names}} {{.Labels}} {{.CreatedAt}}.
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
}

/// Runs `kiln ps`.
pub fn ps(root: &Path, args: PsArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let filters = parse_filters(&args.filter)?;
    let mut containers = store.list()?;
    for container in &mut containers {
        lifecycle::reconcile(&store, container);
    }
    containers.reverse(); // newest first, as Docker
    let shown: Vec<&Container> = containers
        .iter()
        .filter(|c| args.all || !args.filter.is_empty() || c.state.status.is_active())
        .filter(|c| {
            filters
                .iter()
                .all(|(key, values)| values.iter().any(|v| matches(c, key, v)))
        })
        .collect();
    if args.quiet {
        for c in shown {
            println!(
                "{}",
                if args.no_trunc {
                    &c.record.id
                } else {
                    short_id(&c.record.id)
                }
            );
        }
        return Ok(());
    }
    let rows: Vec<Value> = shown.iter().map(|c| row(c, args.no_trunc)).collect();
    let format = args.format.as_deref().unwrap_or(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    );
    print!("{}", render_rows(format, &rows, header)?);
    Ok(())
}

fn header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID".into(),
        "RunningFor" => "CREATED".into(),
        "CreatedAt" => "CREATED AT".into(),
        other => other.to_uppercase(),
    }
}

type Filters = Vec<(String, Vec<String>)>;

fn parse_filters(given: &[String]) -> Result<Filters> {
    let mut out: Filters = Vec::new();
    for filter in given {
        let Some((key, value)) = filter.split_once('=') else {
            bail!("bad format of filter (expected name=value): {filter}");
        };
        if !matches!(
            key,
            "status" | "name" | "label" | "ancestor" | "id" | "health"
        ) {
            bail!("invalid filter '{key}'");
        }
        if key == "status"
            && !matches!(
                value,
                "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing"
            )
        {
            bail!("invalid filter 'status={value}'");
        }
        match out.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value.to_string()),
            None => out.push((key.to_string(), vec![value.to_string()])),
        }
    }
    Ok(out)
}

fn matches(c: &Container, key: &str, value: &str) -> bool {
    match key {
        "status" => c.state.status.as_str() == value,
        "name" => c.record.name.contains(value.trim_start_matches('/')),
        "id" => c.record.id.starts_with(value),
        "health" => match &c.state.health {
            Some(health) => health.status == value,
            None => value == "none",
        },
        "label" => match value.split_once('=') {
            Some((k, v)) => c.record.config.labels.get(k).is_some_and(|x| x == v),
            None => c.record.config.labels.contains_key(value),
        },
        "ancestor" => {
            let image = &c.record.config.image;
            let id = c.record.image_id.trim_start_matches("sha256:");
            image == value
                || image.split(':').next() == Some(value)
                || (value.len() >= 4 && id.starts_with(value.trim_start_matches("sha256:")))
        }
        _ => false,
    }
}

/// Seconds since an RFC 3339 time (0 when unknown).
fn since(text: &str) -> u64 {
    let now = kiln_image::time::now().0;
    parse_rfc3339(text)
        .map(|t| now.saturating_sub(t))
        .unwrap_or(0)
}

/// Docker's STATUS column.
pub fn status_text(c: &Container) -> String {
    let s = &c.state;
    match s.status {
        Status::Created => "Created".into(),
        Status::Running | Status::Paused => {
            let mut text = format!("Up {}", human_duration(since(&s.started_at)));
            if s.status == Status::Paused {
                text.push_str(" (Paused)");
            } else if let Some(health) = &s.health {
                match health.status.as_str() {
                    "starting" => text.push_str(" (health: starting)"),
                    other => text.push_str(&format!(" ({other})")),
                }
            }
            text
        }
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            s.exit_code,
            human_duration(since(&s.finished_at))
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            s.exit_code,
            human_duration(since(&s.finished_at))
        ),
        Status::Dead => "Dead".into(),
    }
}

fn row(c: &Container, no_trunc: bool) -> Value {
    let mut command = std::iter::once(c.record.path.as_str())
        .chain(c.record.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = command.chars().take(19).collect::<String>() + "…";
    }
    let labels = c
        .record
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": if no_trunc { c.record.id.clone() } else { short_id(&c.record.id).to_string() },
        "Image": c.record.config.image,
        "Command": format!("\"{command}\""),
        "CreatedAt": c.record.created,
        "RunningFor": format!("{} ago", human_duration(since(&c.record.created))),
        "Status": status_text(c),
        "State": c.state.status.as_str(),
        "Ports": "",
        "Names": c.record.name,
        "Labels": labels,
        "Mounts": c.record.mounts.iter().map(|m| if m.name.is_empty() { m.source.clone() } else { m.name.clone() }).collect::<Vec<_>>().join(","),
        "Networks": c.record.host_config.network_mode,
    })
}
