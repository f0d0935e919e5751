//! `docker top`: a running container's processes, for the CLI and a Compose
//! engine's `top`.
//!
//! Like Docker's daemon, [`top`] runs the host's `ps` with the options given
//! (default `-ef`), finds the `PID` column in its header, and keeps the rows
//! whose PID is in the container's cgroup (the last column keeps its
//! spaces, as Docker does). Printing (Docker's tabwriter alignment) is the
//! caller's.

use std::collections::BTreeSet;
use std::process::Command;

use crate::cgroups::ContainerCgroup;
use crate::container::{ContainerError, ContainerStore, Status};
use crate::lifecycle;

/// Why `top` failed, in Docker's words.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// No such container (or the store failed).
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// The container is not running or paused.
    #[error("container {id} is not running")]
    NotRunning {
        /// Container ID.
        id: String,
    },
    /// Its cgroup could not be read.
    #[error("read the processes of container {id}: {reason}")]
    Pids {
        /// Container ID.
        id: String,
        /// The cgroup error.
        reason: String,
    },
    /// `ps` could not be run.
    #[error("ps: {0}")]
    PsRun(std::io::Error),
    /// `ps` failed (its first line on standard error).
    #[error("ps: {0}")]
    Ps(String),
    /// `ps`'s header has no PID column (options without it).
    #[error("Couldn't find PID field in ps output")]
    NoPidColumn,
}

/// The header and the `ps` rows of the container `name` (name, ID or ID
/// prefix) in `store`, split into fields; `ps_options` default to `-ef`.
pub fn top(
    store: &ContainerStore,
    name: &str,
    ps_options: &[String],
) -> Result<Vec<Vec<String>>, TopError> {
    let mut container = store.find(name)?;
    lifecycle::reconcile(store, &mut container);
    let id = &container.record.id;
    if !matches!(container.state.status, Status::Running | Status::Paused) {
        return Err(TopError::NotRunning { id: id.clone() });
    }
    let pids: BTreeSet<u32> = ContainerCgroup::new(&format!("/kiln/{id}"))
        .pids()
        .map_err(|e| TopError::Pids {
            id: id.clone(),
            reason: e.to_string(),
        })?
        .into_iter()
        .collect();
    let default = ["-ef".to_string()];
    let options = if ps_options.is_empty() {
        &default[..]
    } else {
        ps_options
    };
    let output = Command::new("ps")
        .args(options)
        .output()
        .map_err(TopError::PsRun)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().next().unwrap_or("failed");
        return Err(TopError::Ps(reason.to_string()));
    }
    filter_rows(&String::from_utf8_lossy(&output.stdout), &pids)
}

/// The header and the rows of `ps` output whose PID is in `pids`, split into
/// fields (the last column keeps its spaces, as Docker does).
pub fn filter_rows(text: &str, pids: &BTreeSet<u32>) -> Result<Vec<Vec<String>>, TopError> {
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
        .ok_or(TopError::NoPidColumn)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_rows_of_the_container_with_the_whole_command() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sleep 1000\nroot 11 1 0 10:00 ? 00:00:00 other\n";
        let rows = filter_rows(text, &[10].into_iter().collect()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][7], "sleep 1000");
        let err = filter_rows("USER X\n", &BTreeSet::new()).err().unwrap();
        assert_eq!(err.to_string(), "Couldn't find PID field in ps output");
    }
}
