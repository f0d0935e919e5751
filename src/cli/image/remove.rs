//! `kiln rmi` (`kiln image rm`) and `kiln image prune`: Docker's rules
//! (names, conflicts with containers, blobs, then snapshots) are
//! [`kiln_builder::image_remove`]; this module asks for confirmation and
//! prints what was done.
//!
//! `image prune` without `-f` asks on stdout and reads the answer from
//! stdin, as Docker does; anything but `y` cancels and changes nothing.

use super::Stores;
use crate::cli::display::human_size;
use anyhow::{bail, Result};
use clap::Args;
use kiln_builder::image_remove::{self, collect_snapshots, image_users, Removal};
use std::io::{BufRead, Write};
use std::path::Path;

/// `kiln rmi [-f] IMAGE…`.
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Remove an image ID even if several names refer to it.
    #[arg(short, long)]
    pub force: bool,
    /// Images by name or ID.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `kiln image prune [-a] [-f]`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all images, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `kiln rmi`: removes each image in turn; failures are reported
/// together at the end (one line), after the others were removed.
pub fn rmi(root: &Path, args: RmiArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let users = image_users(root)?;
    let mut errors = Vec::new();
    for arg in &args.images {
        match image_remove::remove(&stores, arg, args.force, &users) {
            Ok(done) => done
                .iter()
                .for_each(|r| println!("{}", line(r, "Untagged", "Deleted"))),
            Err(err) => errors.push(format!("{:#}", anyhow::Error::from(err))),
        }
    }
    // Snapshots go even when some argument failed: the others were removed.
    let collected = collect_snapshots(root);
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    collected?;
    Ok(())
}

/// Docker's line for one removal (`rmi` capitalises, `prune` does not).
fn line(removal: &Removal, untagged: &str, deleted: &str) -> String {
    match removal {
        Removal::Untagged(reference) => format!("{untagged}: {}", reference.familiar()),
        Removal::Deleted(digest) => format!("{deleted}: {digest}"),
    }
}

/// Runs `kiln image prune`.
pub fn prune(root: &Path, args: PruneArgs) -> Result<()> {
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !confirm(warning)? {
        return Ok(());
    }
    let pruned = image_remove::prune(root, args.all)?;
    let lines: Vec<String> = pruned
        .removals
        .iter()
        .map(|r| line(r, "untagged", "deleted"))
        .collect();
    if !lines.is_empty() {
        println!("Deleted Images:\n{}\n", lines.join("\n"));
    }
    println!("Total reclaimed space: {}", human_size(pruned.reclaimed));
    Ok(())
}

/// Prints `warning` and Docker's question; true if stdin answers `y`.
fn confirm(warning: &str) -> Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let yes = matches!(answer.trim(), "y" | "Y");
    if !yes {
        println!();
    }
    Ok(yes)
}
