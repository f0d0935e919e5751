//! `kiln rmi` (`kiln image rm`) and `kiln image prune`.
//!
//! `rmi NAME` removes that tag; `rmi ID` (full or a unique prefix of at least
//! 4 hex digits) removes every tag of the image, and needs `-f` when there is
//! more than one. When no record names the image any more, its blobs
//! (manifest, config, layers) that no other image uses are deleted
//! ([`kiln_image::gc::remove_unreferenced`], under the index lock).
//!
//! As Docker, it refuses to remove an image a container (running or not)
//! uses: removing its last name needs `-f`, removing it by ID needs `-f` when
//! only stopped containers use it and is refused even with `-f` when a running
//! one does. A forced removal only drops the names: the blobs of an image a
//! container still uses are kept for it.
//!
//! Blobs and snapshots a running build holds (its lease, see
//! [`kiln_image::lease`]) are kept too. After the blobs, the unpacked
//! snapshots nothing uses any more are removed
//! ([`kiln_builder::snapshot_gc`]): those of removed images, and those of
//! killed builds and unpacks.
//!
//! `image prune` removes dangling images; `-a` removes every image no
//! container uses; images of containers are always kept. Without `-f` it asks on stdout and reads the answer from stdin, as
//! Docker does; anything but `y` cancels and changes nothing. It then sweeps
//! blobs no image references that are older than
//! [`kiln_image::gc::DEFAULT_GRACE`] (leftovers of failed loads), and the
//! snapshots nothing uses; the total counts both.

use super::display::human_size;
use super::images::Stores;
use anyhow::{bail, Result};
use clap::Args;
use kiln_image::catalog::{find, is_untagged, Found, Image};
use kiln_image::gc::{self, GcOptions, GcReport};
use kiln_image::{Digest, Reference};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;

use kiln_runtime::container::{short_id, ContainerStore};
use kiln_runtime::lifecycle;

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
        match remove_one(&stores, arg, args.force, &users) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(err) => errors.push(format!("{err:#}")),
        }
    }
    // Snapshots go even when some argument failed: the others were removed.
    let collected = kiln_builder::snapshot_gc::collect(root);
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    collected.map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

/// Removes one image argument; returns the lines to print.
fn remove_one(stores: &Stores, arg: &str, force: bool, users: &[ImageUser]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let images = match find(&stores.content, &stores.index, arg)? {
        Found::Name(reference, image) => {
            if image.references.len() <= 1 && !force {
                if let Some(user) = users.iter().find(|u| u.uses(&image)) {
                    bail!(
                        "conflict: unable to remove repository reference \"{arg}\" (must force) - container {} is using its referenced image {}",
                        short_id(&user.id),
                        image.short_id()
                    );
                }
            }
            stores.index.untag(&reference)?;
            if !is_untagged(&reference) {
                lines.push(format!("Untagged: {}", reference.familiar()));
            }
            vec![*image]
        }
        Found::Id(images) => {
            for image in &images {
                if let Some(user) = users.iter().find(|u| u.uses(image) && u.running) {
                    bail!(
                        "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                        image.short_id(),
                        short_id(&user.id)
                    );
                }
                match users.iter().find(|u| u.uses(image)) {
                    Some(user) if !force => bail!(
                        "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
                        image.short_id(),
                        short_id(&user.id)
                    ),
                    _ => {}
                }
            }
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
    // Blobs of an image a container still uses stay (forced removal).
    let roots: Vec<Digest> = images
        .iter()
        .filter(|i| !users.iter().any(|u| u.uses(i)))
        .map(|i| i.manifest)
        .collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    lines.extend(deleted_lines(&images, &report, "Deleted"));
    Ok(lines)
}

/// A container's hold on an image.
struct ImageUser {
    /// Container ID.
    id: String,
    /// Its process may be alive (running, paused, restarting).
    running: bool,
    /// `record.image_id` (the config digest).
    image_id: String,
    /// `record.manifest` (the manifest digest).
    manifest: String,
}

impl ImageUser {
    fn uses(&self, image: &Image) -> bool {
        self.image_id == image.id.to_string() || self.manifest == image.manifest.to_string()
    }
}

/// Every container of the root and the image it uses.
fn image_users(root: &Path) -> Result<Vec<ImageUser>> {
    let store = ContainerStore::open(root)?;
    let mut out = Vec::new();
    for mut c in store.list()? {
        lifecycle::reconcile(&store, &mut c);
        out.push(ImageUser {
            id: c.record.id.clone(),
            running: c.state.status.is_active(),
            image_id: c.record.image_id.clone(),
            manifest: c.record.manifest.clone(),
        });
    }
    Ok(out)
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
    let used: BTreeSet<String> = image_users(root)?.into_iter().map(|u| u.manifest).collect();
    let removed = drop_records(&stores, args.all, &used)?;
    let roots: BTreeSet<Digest> = removed.iter().map(|(_, d)| *d).collect();
    let images = roots
        .iter()
        .map(|d| Image::read(&stores.content, *d))
        .collect::<Result<Vec<_>, _>>()?;
    let roots: Vec<Digest> = roots.into_iter().collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    let leftovers = gc::collect(&stores.content, &stores.index, &GcOptions::default())?;
    // Partial blobs left by killed ingests; same 10-minute grace as the blob sweep.
    stores.content.gc_ingest(GcOptions::default().grace)?;
    let snapshots = kiln_builder::snapshot_gc::collect(root).map_err(|e| anyhow::anyhow!(e))?;
    let mut lines: Vec<String> = removed
        .iter()
        .filter(|(r, _)| !is_untagged(r))
        .map(|(r, _)| format!("untagged: {}", r.familiar()))
        .collect();
    lines.extend(deleted_lines(&images, &report, "deleted"));
    if !lines.is_empty() {
        println!("Deleted Images:\n{}\n", lines.join("\n"));
    }
    let total = report.reclaimed + leftovers.reclaimed + snapshots.reclaimed;
    println!("Total reclaimed space: {}", human_size(total));
    Ok(())
}

/// Removes the untagged records (all records with `all`) in one index
/// update, keeping those of images containers use (`used` manifests);
/// returns what was removed.
fn drop_records(
    stores: &Stores,
    all: bool,
    used: &BTreeSet<String>,
) -> Result<Vec<(Reference, Digest)>> {
    Ok(stores.index.update(|images| {
        let mut removed = Vec::new();
        images.retain(|reference, record| {
            let remove =
                (all || is_untagged(reference)) && !used.contains(&record.digest.to_string());
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
