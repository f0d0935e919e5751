//! `kiln system df`: disk usage like `docker system df` (measured by
//! [`kiln_builder::disk_usage`]; Local Volumes: 0, volumes are reported by
//! `kiln volume ls`).

use crate::cli::display::human_size;
use crate::cli::format::align_columns;
use anyhow::Result;
use clap::{Args, Subcommand};
use kiln_builder::disk_usage::{disk_usage, UsageRow};
use std::path::Path;

/// `kiln system …`.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show disk usage.
    Df(DfArgs),
}

/// `kiln system df`.
#[derive(Debug, Args)]
pub struct DfArgs {}

/// Runs a `kiln system` subcommand.
pub fn run(root: &Path, command: SystemCommand) -> Result<()> {
    match command {
        SystemCommand::Df(_) => df(root),
    }
}

/// One printed row: TOTAL, ACTIVE, SIZE, RECLAIMABLE (with its share).
fn line(name: &str, row: &UsageRow) -> String {
    let reclaimable = if row.reclaimable == 0 {
        "0B".to_string()
    } else {
        let pct = u128::from(row.reclaimable) * 100 / u128::from(row.size.max(row.reclaimable));
        format!("{} ({pct}%)", human_size(row.reclaimable))
    };
    format!(
        "{name}\t{}\t{}\t{}\t{reclaimable}",
        row.total,
        row.active,
        human_size(row.size)
    )
}

/// Runs `kiln system df`.
fn df(root: &Path) -> Result<()> {
    let usage = disk_usage(root)?;
    let lines = [
        "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string(),
        line("Images", &usage.images),
        line("Containers", &usage.containers),
        "Local Volumes\t0\t0\t0B\t0B".to_string(),
        line("Build Cache", &usage.build_cache),
    ];
    print!("{}", align_columns(&lines));
    Ok(())
}
