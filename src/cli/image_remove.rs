//! `kiln rmi` (`kiln image rm`) and `kiln image prune`.
//!
//! `rmi NAME` removes that tag; `rmi ID` (full or a unique prefix of at least
//! 4 hex digits) removes every tag of the image, and needs `-f` when there is
//! more than one. When no record names the image any more, its blobs
//! (manifest, config, layers) that no other image uses are deleted
//! ([`kiln_image::gc::remove_unreferenced`], under the index lock). Docker also
//! refuses to remove an image a container uses; that check comes with the
//! runtime (kiln has no containers yet).
//!
//! `image prune` removes dangling images; `-a` removes every image (Docker's
//! `-a` removes images no container uses, which without containers is all of
//! them). Without `-f` it asks on stdout and reads the answer from stdin, as
//! Docker does; anything but `y` cancels and changes nothing. It then sweeps
//! blobs no image references that are older than
//! [`kiln_image::gc::DEFAULT_GRACE`] (leftovers of failed loads).

use super::display::human_size;
use super::image_model::{find, is_untagged, Found, Image};
use super::images::Stores;
use anyhow::{bail, Result};
use clap::Args;
use kiln_image::gc::{self, GcOptions, GcReport};
use kiln_image::{Digest, Reference};
use std::collections::BTreeSet;
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
    let mut errors = Vec::new();
    for arg in &args.images {
        match remove_one(&stores, arg, args.force) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(err) => errors.push(format!("{err:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// Removes one image argument; returns the lines to print.
fn remove_one(stores: &Stores, arg: &str, force: bool) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let images = match find(&stores.content, &stores.index, arg)? {
        Found::Name(reference, image) => {
            stores.index.untag(&reference)?;
            if !is_untagged(&reference) {
                lines.push(format!("Untagged: {}", reference.familiar()));
            }
            vec![*image]
        }
        Found::Id(images) => {
            let named: Vec<_> = images.iter().flat_map(|i| &i.references).collect();
            if named.len() > 1 && !force {
                bail!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    images[0].short_id()
                );
            }
            let manifests: BTreeSet<Digest> = images.iter().map(|i| i.manifest).collect();
            stores
                .index
                .update(|all| all.retain(|_, r| !manifests.contains(&r.digest)))?;
            lines.extend(named.iter().map(|r| format!("Untagged: {}", r.familiar())));
            images
        }
    };
    let roots: Vec<Digest> = images.iter().map(|i| i.manifest).collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    lines.extend(deleted_lines(&images, &report, "Deleted"));
    Ok(lines)
}

/// `Deleted: <image id>` then one line per deleted layer, as Docker prints.
fn deleted_lines(images: &[Image], report: &GcReport, verb: &str) -> Vec<String> {
    let ids: BTreeSet<Digest> = images.iter().map(|i| i.id).collect();
    let manifests: BTreeSet<Digest> = images.iter().map(|i| i.manifest).collect();
    let deleted = |d: &&Digest| report.deleted.contains(d);
    let firsts = ids.iter().filter(deleted);
    let layers = report
        .deleted
        .iter()
        .filter(|d| !ids.contains(d) && !manifests.contains(d));
    firsts
        .chain(layers)
        .map(|d| format!("{verb}: {d}"))
        .collect()
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
    let stores = Stores::open(root)?;
    let removed = drop_records(&stores, args.all)?;
    let roots: BTreeSet<Digest> = removed.iter().map(|(_, d)| *d).collect();
    let images = roots
        .iter()
        .map(|d| Image::read(&stores.content, *d))
        .collect::<Result<Vec<_>>>()?;
    let roots: Vec<Digest> = roots.into_iter().collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    let leftovers = gc::collect(&stores.content, &stores.index, &GcOptions::default())?;
    // Partial blobs left by killed ingests; same 10-minute grace as the blob sweep.
    stores.content.gc_ingest(GcOptions::default().grace)?;
    let mut lines: Vec<String> = removed
        .iter()
        .filter(|(r, _)| !is_untagged(r))
        .map(|(r, _)| format!("untagged: {}", r.familiar()))
        .collect();
    lines.extend(deleted_lines(&images, &report, "deleted"));
    if !lines.is_empty() {
        println!("Deleted Images:\n{}\n", lines.join("\n"));
    }
    let total = report.reclaimed + leftovers.reclaimed;
    println!("Total reclaimed space: {}", human_size(total));
    Ok(())
}

/// Removes the untagged records (all records with `all`) in one index
/// update; returns what was removed.
fn drop_records(stores: &Stores, all: bool) -> Result<Vec<(Reference, Digest)>> {
    Ok(stores.index.update(|images| {
        let mut removed = Vec::new();
        images.retain(|reference, record| {
            let remove = all || is_untagged(reference);
            if remove {
                removed.push((reference.clone(), record.digest));
            }
            !remove
        });
        removed
    })?)
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
