//! `kiln system df`: disk usage like `docker system df`.
//!
//! Every snapshot is counted in exactly one row, so the rows add up to what
//! `<root>/snapshots` holds (plus the blobs):
//! - Images: TOTAL images, ACTIVE those a container uses; SIZE the stored
//!   blobs every image references plus the unpacked snapshots (their chain
//!   IDs), each counted once; RECLAIMABLE what only unused images need.
//! - Containers: TOTAL containers, ACTIVE running ones; SIZE their writable
//!   root filesystem snapshots; RECLAIMABLE those of stopped ones.
//! - Build Cache: TOTAL cache records; SIZE every other snapshot (the build
//!   cache's, a running build's, leftovers the next GC removes), all
//!   RECLAIMABLE by `kiln builder prune`.
//! - Local Volumes: 0 (volumes are reported by `kiln volume ls`).

use super::display::human_size;
use super::image_format::align_columns;
use super::images::Stores;
use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use kiln_builder::snapshot_gc::{container_snapshots, image_chains, snapshotters};
use kiln_image::catalog::all_images;
use kiln_image::gc::closure;
use kiln_image::Digest;
use kiln_runtime::container::{Container, ContainerStore};
use kiln_runtime::lifecycle;
use std::collections::{BTreeMap, BTreeSet};
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

/// One row: TOTAL, ACTIVE, SIZE, RECLAIMABLE bytes.
struct Row(usize, usize, u64, u64);

impl Row {
    fn line(&self, name: &str) -> String {
        let Row(total, active, size, free) = *self;
        let reclaimable = if free == 0 {
            "0B".to_string()
        } else {
            let pct = u128::from(free) * 100 / u128::from(size.max(free));
            format!("{} ({pct}%)", human_size(free))
        };
        format!(
            "{name}\t{total}\t{active}\t{}\t{reclaimable}",
            human_size(size)
        )
    }
}

/// Runs `kiln system df`.
fn df(root: &Path) -> Result<()> {
    let stores = Stores::open(root)?;
    let store = ContainerStore::open(root)?;
    let mut containers = store.list()?;
    containers
        .iter_mut()
        .for_each(|c| lifecycle::reconcile(&store, c));
    let sizes = snapshot_sizes(root)?;
    let (images, mut counted) = image_row(&stores, &containers, &sizes)?;
    counted.extend(container_snapshots(root));
    let cache: u64 = sizes
        .iter()
        .filter(|(k, _)| !counted.contains(*k))
        .map(|(_, s)| s)
        .sum();
    let records = kiln_builder::cache_prune::records(root).len();
    let lines = [
        "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string(),
        images.line("Images"),
        container_row(&containers, &sizes).line("Containers"),
        "Local Volumes\t0\t0\t0B\t0B".to_string(),
        Row(records, 0, cache, cache).line("Build Cache"),
    ];
    print!("{}", align_columns(&lines));
    Ok(())
}

/// The Images row, and the snapshots it counted (the images' chain IDs).
fn image_row(
    stores: &Stores,
    containers: &[Container],
    sizes: &BTreeMap<String, u64>,
) -> Result<(Row, BTreeSet<String>)> {
    let images = all_images(&stores.content, &stores.index)?;
    let used: BTreeSet<String> = containers
        .iter()
        .map(|c| c.record.manifest.clone())
        .collect();
    let all: Vec<Digest> = images.iter().map(|i| i.manifest).collect();
    let in_use: Vec<Digest> = all
        .iter()
        .filter(|m| used.contains(&m.to_string()))
        .copied()
        .collect();
    let (size, used_size) = (
        image_size(stores, &all, sizes)?,
        image_size(stores, &in_use, sizes)?,
    );
    let row = Row(
        images.len(),
        in_use.len(),
        size,
        size.saturating_sub(used_size),
    );
    Ok((row, image_chains(&stores.content, all)))
}

/// The blobs of `manifests` plus their unpacked snapshots, each once.
fn image_size(stores: &Stores, manifests: &[Digest], sizes: &BTreeMap<String, u64>) -> Result<u64> {
    let mut blobs = BTreeSet::new();
    for m in manifests {
        blobs.extend(closure(&stores.content, m)?);
    }
    let mut size = 0;
    for blob in &blobs {
        if stores.content.exists(blob)? {
            size += stores.content.size(blob)?;
        }
    }
    let chains = image_chains(&stores.content, manifests.to_vec());
    Ok(size + chains.iter().filter_map(|k| sizes.get(k)).sum::<u64>())
}

/// The Containers row: their writable layers; stopped ones are reclaimable.
fn container_row(containers: &[Container], sizes: &BTreeMap<String, u64>) -> Row {
    let (mut size, mut free, mut running) = (0, 0, 0);
    for c in containers {
        let own = sizes.get(&c.record.snapshot_key).copied().unwrap_or(0);
        size += own;
        if c.state.status.is_active() {
            running += 1;
        } else {
            free += own;
        }
    }
    Row(containers.len(), running, size, free)
}

/// The disk space of every snapshot's own directory, by key.
fn snapshot_sizes(root: &Path) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for snapshotter in snapshotters(root).map_err(|e| anyhow!(e))? {
        for info in snapshotter.list()? {
            // A snapshot removed meanwhile (by a concurrent GC) counts 0.
            let bytes = snapshotter.usage(&info.name).map_or(0, |u| u.bytes);
            out.insert(info.name, bytes);
        }
    }
    Ok(out)
}
