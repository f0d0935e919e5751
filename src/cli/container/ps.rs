//! `kiln ps`: Docker's columns, `-a`, `-q`, `--filter`, `--format`, `--no-trunc`.
//!
//! Filters and the selection of containers shown are
//! [`kiln_runtime::container::filter`]; this module prints them.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_image::time::parse_rfc3339;
use kiln_runtime::container::filter::{select, ContainerFilters};
use kiln_runtime::container::{short_id, Container, ContainerStore, Status};
use serde_json::{json, Value};

use crate::cli::display::human_duration;
use crate::cli::format::render_rows;
use crate::cli::network::settings::{ps_networks, ps_ports, NetworkIndex};

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
    /// Go template: {{.ID}} {{.Image}} {{.Command}} {{.RunningFor}} {{.Status}} {{.State}} {{.Names}} {{.Labels}} {{.CreatedAt}} {{.Ports}} {{.Networks}}.
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
}

/// Runs `kiln ps`.
pub fn ps(root: &Path, args: PsArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let filters = ContainerFilters::parse(&args.filter)?;
    let shown = select(&store, args.all, &filters)?;
    if args.quiet {
        for c in &shown {
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
    let networks = NetworkIndex::load(root);
    let rows: Vec<Value> = shown
        .iter()
        .map(|c| {
            let mut row = row(c, args.no_trunc);
            row["Ports"] = json!(ps_ports(&networks, c));
            row["Networks"] = json!(ps_networks(&networks, c));
            row
        })
        .collect();
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
        "Networks": kiln_runtime::lifecycle::network::network_name(&c.record.host_config.network_mode),
    })
}
