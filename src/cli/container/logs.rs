//! `kiln logs`: prints a container's JSON log (stdout lines to stdout,
//! stderr lines to stderr), with `-f`, `--tail`, `--since`, `--until`, `-t`.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Result};
use clap::Args;
use kiln_image::time::parse_rfc3339;
use kiln_runtime::container::ContainerStore;
use kiln_runtime::log_query::{LogQuery, LogReader};
use kiln_runtime::monitor::{LogEntry, Stream};

/// `kiln logs` flags.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Number of lines to show from the end of the logs ("all" for all).
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show logs since a timestamp (RFC 3339) or relative (e.g. 42m).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp (RFC 3339) or relative (e.g. 42m).
    #[arg(long)]
    until: Option<String>,
    /// Show timestamps.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// The container.
    container: String,
}

/// A time bound: RFC 3339, Unix seconds, or a Go duration before now.
fn parse_time(text: &str) -> Result<u64> {
    if let Some(t) = parse_rfc3339(text) {
        return Ok(t);
    }
    if let Ok(secs) = text.split('.').next().unwrap_or("").parse::<u64>() {
        return Ok(secs);
    }
    let ago = kiln_parser::values::parse_go_duration(text).map_err(|_| {
        anyhow!("invalid value for \"since\": failed to parse value as time or duration: {text:?}")
    })?;
    Ok(kiln_image::time::now().0.saturating_sub(ago.as_secs()))
}

/// Runs `kiln logs` (the selection and following are
/// [`kiln_runtime::log_query`]).
pub fn logs(root: &Path, args: LogsArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow!("invalid value for --tail: {n:?}"))?,
        ),
    };
    let query = LogQuery {
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        tail,
    };
    let mut reader = LogReader::open(&store, &args.container, query)?;
    print_entries(&reader.existing()?, args.timestamps)?;
    if args.follow {
        reader.follow(|entries| print_entries(entries, args.timestamps))?;
    }
    Ok(())
}

fn print_entries(entries: &[LogEntry], timestamps: bool) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    for entry in entries {
        let sink: &mut dyn Write = match entry.stream {
            Stream::Stdout => &mut out,
            Stream::Stderr => &mut err,
        };
        if timestamps {
            write!(sink, "{} ", entry.time)?;
        }
        sink.write_all(entry.log.as_bytes())?;
    }
    out.flush()?;
    err.flush()?;
    Ok(())
}
