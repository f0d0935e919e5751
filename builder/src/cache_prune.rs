//! `kiln builder prune`: drop build cache records (all of them, or those
//! `--filter until=` and `--keep-storage` select), then collect the snapshots
//! nothing uses any more ([`crate::snapshot_gc`]).
//!
//! As `docker builder prune` (BuildKit's `PruneInfo`):
//! - `until=DURATION` only removes records last written more than DURATION
//!   ago (a cache hit rewrites nothing, so this is their creation time);
//! - `keep-storage=SIZE` keeps the most recent records while the disk space
//!   of their own snapshots (each snapshot counted once) stays within SIZE,
//!   and removes the older ones;
//! - without either, every record goes, with the `--debug-cache`
//!   explanations, COPY rebase records, persisted cache mounts and
//!   exported-layer records ([`crate::cache_store::prune`]).
//!
//! kiln keeps no cache in use between builds, so `-a` changes nothing: a
//! record whose snapshots an image or a running build also uses is removed,
//! and the snapshots stay for their other users.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kiln_snapshotter::{Collected, Snapshotter};

use crate::executor::{RootFs, TreeLayer};
use crate::snapshot_gc::{self, GcError};

/// One build cache record on disk.
#[derive(Debug, Clone)]
pub struct CacheRecord {
    /// `<root>/builder/cache/<key hex>.json`.
    pub path: PathBuf,
    /// What the record holds.
    pub root: RootFs,
    /// When it was written.
    pub modified: SystemTime,
}

/// Every readable cache record of `root` (unreadable ones are misses for the
/// cache and are skipped here too).
pub fn records(root: &Path) -> Vec<CacheRecord> {
    let dir = crate::cache_store::cache_dir(root);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        let parsed = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RootFs>(&b).ok());
        if let Some(root) = parsed {
            out.push(CacheRecord {
                path,
                root,
                modified,
            });
        }
    }
    out
}

/// Which records `builder prune` removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// `--filter until=`: only records older than this.
    pub until: Option<Duration>,
    /// `--keep-storage`: bytes of the most recent records to keep.
    pub keep_storage: Option<u64>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Cache records removed.
    pub records: usize,
    /// Snapshots collected afterwards.
    pub snapshots: Collected,
}

/// Why `kiln builder prune` failed.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The whole build cache could not be removed.
    #[error("remove build cache: {0}")]
    RemoveCache(#[source] std::io::Error),
    /// One selected cache record could not be removed.
    #[error("remove {}: {source}", .path.display())]
    RemoveRecord {
        /// The record file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot collector (or opening the snapshotters) failed.
    #[error(transparent)]
    Snapshots(#[from] GcError),
}

/// Removes the selected cache records of `root`, then collects snapshots.
pub fn prune(root: &Path, options: &PruneOptions) -> Result<Pruned, PruneError> {
    let records = if *options == PruneOptions::default() {
        crate::cache_store::prune(root).map_err(PruneError::RemoveCache)?
    } else {
        let doomed = select(root, options)?;
        for record in &doomed {
            match std::fs::remove_file(&record.path) {
                Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                    let path = record.path.clone();
                    return Err(PruneError::RemoveRecord { path, source });
                }
                _ => {}
            }
        }
        doomed.len()
    };
    let snapshots = snapshot_gc::collect(root)?;
    Ok(Pruned { records, snapshots })
}

/// The records `options` select for removal.
fn select(root: &Path, options: &PruneOptions) -> Result<Vec<CacheRecord>, PruneError> {
    let now = SystemTime::now();
    let mut all = records(root);
    if let Some(until) = options.until {
        let cutoff = now.checked_sub(until).unwrap_or(SystemTime::UNIX_EPOCH);
        all.retain(|r| r.modified < cutoff);
    }
    let Some(keep) = options.keep_storage else {
        return Ok(all);
    };
    let snapshotters = snapshot_gc::snapshotters(root)?;
    all.sort_by_key(|r| std::cmp::Reverse(r.modified)); // newest first
    let (mut kept, mut seen, mut full) = (0u64, BTreeSet::new(), false);
    let mut doomed = Vec::new();
    for record in all {
        let size = own_size(&record.root, &snapshotters, &mut seen);
        full = full || kept + size > keep;
        if full {
            doomed.push(record); // this one and every older one
        } else {
            kept += size;
        }
    }
    Ok(doomed)
}

/// The disk space of the record's own snapshot (its layer, or its tree for
/// a base image), unless already counted.
fn own_size(
    record: &RootFs,
    snapshotters: &[Box<dyn Snapshotter>],
    seen: &mut BTreeSet<String>,
) -> u64 {
    let own = match &record.own {
        Some(TreeLayer::Built(b)) => Some(&b.snapshot),
        _ => record.snapshot.as_ref(),
    };
    let Some(key) = own else { return 0 };
    if !seen.insert(key.clone()) {
        return 0;
    }
    snapshotters
        .iter()
        .find_map(|s| s.usage(key).ok())
        .map_or(0, |u| u.bytes)
}
