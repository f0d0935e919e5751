//! `docker system df`: what a kiln root's images, containers and build cache
//! take on disk, for the CLI and a Compose engine (it needs all three stores
//! and the snapshot bookkeeping of [`crate::snapshot_gc`], hence here).
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kiln_image::catalog::{all_images, Stores};
use kiln_image::gc::closure;
use kiln_image::{Digest, ImageError};
use kiln_runtime::container::{Container, ContainerError, ContainerStore};
use kiln_runtime::lifecycle;

use crate::snapshot_gc::{container_snapshots, image_chains, snapshotters};

/// Why the usage could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum DiskUsageError {
    /// The image store failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The container store failed.
    #[error(transparent)]
    Containers(#[from] ContainerError),
    /// The snapshotters could not be opened or listed.
    #[error("{0}")]
    Snapshots(String),
}

/// One row of `system df`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageRow {
    /// How many.
    pub total: usize,
    /// How many are in use (images) or running (containers).
    pub active: usize,
    /// Bytes.
    pub size: u64,
    /// Bytes a prune would free.
    pub reclaimable: u64,
}

/// `system df`'s rows (Local Volumes are reported by `volume ls`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskUsage {
    /// Images.
    pub images: UsageRow,
    /// Containers' writable layers.
    pub containers: UsageRow,
    /// The build cache and other snapshots.
    pub build_cache: UsageRow,
}

/// Measures the root (container states reconciled first).
pub fn disk_usage(root: &Path) -> Result<DiskUsage, DiskUsageError> {
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
    Ok(DiskUsage {
        images,
        containers: container_row(&containers, &sizes),
        build_cache: UsageRow {
            total: crate::cache_prune::records(root).len(),
            active: 0,
            size: cache,
            reclaimable: cache,
        },
    })
}

/// The Images row, and the snapshots it counted (the images' chain IDs).
fn image_row(
    stores: &Stores,
    containers: &[Container],
    sizes: &BTreeMap<String, u64>,
) -> Result<(UsageRow, BTreeSet<String>), DiskUsageError> {
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
    let size = image_size(stores, &all, sizes)?;
    let used_size = image_size(stores, &in_use, sizes)?;
    let row = UsageRow {
        total: images.len(),
        active: in_use.len(),
        size,
        reclaimable: size.saturating_sub(used_size),
    };
    Ok((row, image_chains(&stores.content, all)))
}

/// The blobs of `manifests` plus their unpacked snapshots, each once.
fn image_size(
    stores: &Stores,
    manifests: &[Digest],
    sizes: &BTreeMap<String, u64>,
) -> Result<u64, ImageError> {
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
fn container_row(containers: &[Container], sizes: &BTreeMap<String, u64>) -> UsageRow {
    let mut row = UsageRow {
        total: containers.len(),
        ..UsageRow::default()
    };
    for c in containers {
        let own = sizes.get(&c.record.snapshot_key).copied().unwrap_or(0);
        row.size += own;
        if c.state.status.is_active() {
            row.active += 1;
        } else {
            row.reclaimable += own;
        }
    }
    row
}

/// The disk space of every snapshot's own directory, by key.
fn snapshot_sizes(root: &Path) -> Result<BTreeMap<String, u64>, DiskUsageError> {
    let mut out = BTreeMap::new();
    let all = snapshotters(root).map_err(|e| DiskUsageError::Snapshots(e.to_string()))?;
    for snapshotter in all {
        let infos = snapshotter
            .list()
            .map_err(|e| DiskUsageError::Snapshots(e.to_string()))?;
        for info in infos {
            // A snapshot removed meanwhile (by a concurrent GC) counts 0.
            let bytes = snapshotter.usage(&info.name).map_or(0, |u| u.bytes);
            out.insert(info.name, bytes);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_root_uses_nothing() {
        let root = tempfile::tempdir().unwrap();
        let usage = disk_usage(root.path()).unwrap();
        assert_eq!(usage.images, UsageRow::default());
        assert_eq!(usage.containers, UsageRow::default());
        assert_eq!(usage.build_cache, UsageRow::default());
    }
}
