//! `kiln stats`: live resource usage of containers from their cgroups, in
//! `docker stats`' columns.
//!
//! CPU % is Docker's ratio of the container's CPU time to wall time between
//! two samples (100 ms apart for `--no-stream`, one refresh apart otherwise),
//! times 100 (so one busy core is 100%). Memory usage is the cgroup's usage
//! minus inactive page cache, as Docker computes it; the limit is the cgroup
//! limit or, when unlimited, the host's total memory. kiln's networks are
//! `none` and `host`, so NET I/O is always 0B / 0B, as Docker shows for them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use kiln_runtime::cgroups::{host_total_memory, ContainerCgroup, Usage};
use kiln_runtime::container::{short_id, Container, ContainerStore};
use kiln_runtime::lifecycle;
use serde_json::{json, Value};

use super::Exit;
use crate::cli::format::render_rows;

/// Docker's default table.
const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// `kiln stats` flags.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Do not truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Go template: {{.ID}} {{.Container}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}.
    #[arg(long)]
    format: Option<String>,
    /// Containers (default: all running).
    containers: Vec<String>,
}

/// One cgroup reading.
struct Sample {
    cpu_ns: u64,
    at: Instant,
}

/// Runs `kiln stats`.
pub fn stats(root: &Path, args: StatsArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_FORMAT.to_string(),
        Some(f) => f.to_string(),
    };
    let host_memory = host_total_memory();
    let mut previous: BTreeMap<String, Sample> = BTreeMap::new();
    loop {
        let containers = select(&store, &args)?;
        if previous.is_empty() {
            for c in &containers {
                previous.insert(c.record.id.clone(), sample(c));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut rows = Vec::new();
        let mut next = BTreeMap::new();
        for c in &containers {
            let now = sample(c);
            let cpu = previous
                .get(&c.record.id)
                .map_or(0.0, |before| cpu_percent(before, &now));
            rows.push(row(c, cpu, host_memory, args.no_trunc));
            next.insert(c.record.id.clone(), now);
        }
        previous = next;
        let text = render_rows(&format, &rows, header)?;
        if args.no_stream {
            print!("{text}");
            return Ok(());
        }
        // Docker clears the screen and redraws every second.
        print!("\x1b[2J\x1b[H{text}");
        use std::io::Write;
        std::io::stdout().flush()?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The containers named, or every running one (every one with `-a`).
fn select(store: &ContainerStore, args: &StatsArgs) -> Result<Vec<Container>> {
    let mut out = Vec::new();
    if args.containers.is_empty() {
        for mut c in store.list()? {
            lifecycle::reconcile(store, &mut c);
            if args.all || c.state.status.is_active() {
                out.push(c);
            }
        }
        return Ok(out);
    }
    for name in &args.containers {
        let mut c = store.find(name).map_err(|e| Exit::new(1, &e.to_string()))?;
        lifecycle::reconcile(store, &mut c);
        out.push(c);
    }
    Ok(out)
}

fn cgroup(c: &Container) -> ContainerCgroup {
    ContainerCgroup::new(&format!("/kiln/{}", c.record.id))
}

fn sample(c: &Container) -> Sample {
    Sample {
        cpu_ns: if c.state.status.is_active() {
            cgroup(c).cpu_usage_ns().unwrap_or(0)
        } else {
            0
        },
        at: Instant::now(),
    }
}

fn cpu_percent(before: &Sample, now: &Sample) -> f64 {
    let wall = now.at.duration_since(before.at).as_nanos() as f64;
    if wall <= 0.0 || now.cpu_ns < before.cpu_ns {
        return 0.0;
    }
    (now.cpu_ns - before.cpu_ns) as f64 / wall * 100.0
}

/// One row as JSON fields named like Docker's template fields.
fn row(c: &Container, cpu: f64, host_memory: u64, no_trunc: bool) -> Value {
    let active = c.state.status.is_active();
    let Usage {
        memory: usage,
        memory_limit: limit,
        pids,
        read_bytes: read,
        write_bytes: write,
    } = if active {
        cgroup(c).usage(host_memory)
    } else {
        Usage::default()
    };
    let mem_percent = if limit > 0 {
        usage as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    let id = if no_trunc {
        c.record.id.as_str()
    } else {
        short_id(&c.record.id)
    };
    json!({
        "ID": id,
        "Container": id,
        "Name": c.record.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", binary_size(usage), binary_size(limit)),
        "MemPerc": format!("{mem_percent:.2}%"),
        "NetIO": "0B / 0B",
        "BlockIO": format!("{} / {}", decimal_size(read), decimal_size(write)),
        "PIDs": pids.to_string(),
    })
}

/// Table headers for Docker's field names.
fn header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID",
        "Container" => "CONTAINER",
        "Name" => "NAME",
        "CPUPerc" => "CPU %",
        "MemUsage" => "MEM USAGE / LIMIT",
        "MemPerc" => "MEM %",
        "NetIO" => "NET I/O",
        "BlockIO" => "BLOCK I/O",
        "PIDs" => "PIDS",
        other => return other.to_uppercase(),
    }
    .to_string()
}

/// Go's `%.<digits>g` without exponent, trailing zeros trimmed.
fn significant(value: f64, digits: i32) -> String {
    let whole = if value >= 1.0 {
        value.log10().floor() as i32 + 1
    } else {
        1
    };
    let decimals = (digits - whole).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// go-units `BytesSize`: binary units, 4 significant digits (`1.539MiB`).
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{}{}", significant(value, 4), UNITS[unit])
}

/// go-units `HumanSizeWithPrecision(size, 3)`: decimal units (`12.3kB`).
fn decimal_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", significant(value, 3), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_go_units() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(1536 * 1024), "1.5MiB");
        assert_eq!(binary_size(1_613_824), "1.539MiB");
        assert_eq!(decimal_size(12_345), "12.3kB");
        assert_eq!(decimal_size(999), "999B");
        assert_eq!(header("PIDs"), "PIDS");
    }
}
