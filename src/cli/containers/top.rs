//! `kiln top`: the container's processes, as `docker top` shows them.
//!
//! Like Docker's daemon, it runs the host's `ps` with the options given
//! (default `-ef`), finds the `PID` column in its header, and keeps the rows
//! whose PID is in the container's cgroup. Columns are aligned like Docker's
//! CLI does it (tabwriter: minimum width 20, padding 3).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use clap::Args;
use kiln_runtime::cgroups::ContainerCgroup;
use kiln_runtime::container::{ContainerStore, Status};
use kiln_runtime::lifecycle;

use super::Exit;

/// `kiln top CONTAINER [ps OPTIONS]`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container (name, ID or ID prefix).
    container: String,
    /// Options for `ps` (default `-ef`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_options: Vec<String>,
}

/// Runs `kiln top`.
pub fn top(root: &Path, args: TopArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut container = store
        .find(&args.container)
        .map_err(|e| Exit::new(1, &e.to_string()))?;
    lifecycle::reconcile(&store, &mut container);
    let id = &container.record.id;
    if !matches!(container.state.status, Status::Running | Status::Paused) {
        return Err(Exit::new(1, &format!("container {id} is not running")).into());
    }
    let pids: BTreeSet<u32> = ContainerCgroup::new(&format!("/kiln/{id}"))
        .pids()
        .map_err(|e| Exit::new(1, &format!("read the processes of container {id}: {e}")))?
        .into_iter()
        .collect();
    let options = if args.ps_options.is_empty() {
        vec!["-ef".to_string()]
    } else {
        args.ps_options
    };
    let output = Command::new("ps")
        .args(&options)
        .output()
        .map_err(|e| Exit::new(1, &format!("ps: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().next().unwrap_or("failed");
        return Err(Exit::new(1, &format!("ps: {reason}")).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let rows = filter_rows(&text, &pids).map_err(|e| Exit::new(1, &e))?;
    print!("{}", align(&rows));
    Ok(())
}

/// The header and the rows of `ps` output whose PID is in `pids`, split into
/// fields (the last column keeps its spaces, as Docker does).
fn filter_rows(text: &str, pids: &BTreeSet<u32>) -> Result<Vec<Vec<String>>, String> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_column = header
        .iter()
        .position(|h| h == "PID")
        .ok_or_else(|| "Couldn't find PID field in ps output".to_string())?;
    let columns = header.len();
    let mut rows = vec![header];
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < columns {
            continue;
        }
        let Ok(pid) = fields[pid_column].parse::<u32>() else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let mut row: Vec<String> = fields[..columns - 1]
            .iter()
            .map(|f| f.to_string())
            .collect();
        row.push(fields[columns - 1..].join(" "));
        rows.push(row);
    }
    Ok(rows)
}

/// Docker's `tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)`.
fn align(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let width = (cell.chars().count() + 3).max(20);
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_rows_of_the_container_with_the_whole_command() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sleep 1000\nroot 11 1 0 10:00 ? 00:00:00 other\n";
        let rows = filter_rows(text, &[10].into_iter().collect()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][7], "sleep 1000");
        assert!(align(&rows).starts_with("UID                 PID "));
        assert!(filter_rows("USER X\n", &BTreeSet::new()).is_err());
    }
}
