//! A layer from a snapshot: the changes of an active snapshot over its
//! parent, written as a (compressed) tar straight into the content store.
//!
//! For overlay snapshots the changes are read from the upper directory (the
//! snapshot holds exactly what the step changed, whiteouts included); for
//! native snapshots the tree is compared with its parent's tree. The tar
//! streams through a pipe into the content store's ingest, so memory stays
//! flat whatever the layer's size.

use std::path::PathBuf;

use kiln_image::{ContentStore, Digest};
use kiln_snapshotter::{diff_overlay, diff_trees, DiffOptions, Snapshotter};

/// A layer written to the content store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Digest of the blob (compressed bytes).
    pub digest: Digest,
    /// Size of the blob.
    pub size: u64,
    /// Digest of the uncompressed tar (the config's diff_id).
    pub diff_id: Digest,
}

/// Everything that can go wrong while exporting a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The snapshotter refused (unknown key, bad mounts).
    #[error("snapshot {key}: {message}")]
    Snapshot {
        /// Snapshot key.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// Writing the tar or ingesting it failed.
    #[error("layer of snapshot {key}: {message}")]
    Write {
        /// Snapshot key.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// Where a snapshot's files and its parent's files are, from its mounts.
enum Source {
    /// overlay: the upper directory and the lower directories (top first).
    Overlay {
        upper: PathBuf,
        lowers: Vec<PathBuf>,
    },
    /// A plain directory (native snapshotter; or an overlay with no parent,
    /// which is a bind of its own directory), compared with the parent's.
    Tree { dir: PathBuf },
}

fn source_of(snapshotter: &dyn Snapshotter, key: &str) -> Result<Source, LayerError> {
    let err = |message: String| LayerError::Snapshot {
        key: key.to_string(),
        message,
    };
    let mounts = snapshotter.mounts(key).map_err(|e| err(e.to_string()))?;
    let [mount] = mounts.as_slice() else {
        return Err(err(format!("expected one mount, got {}", mounts.len())));
    };
    if mount.kind == "overlay" {
        let option = |name: &str| {
            mount
                .options
                .iter()
                .find_map(|o| o.strip_prefix(name))
                .map(str::to_string)
        };
        let upper =
            option("upperdir=").ok_or_else(|| err("overlay mount without upperdir".into()))?;
        let lowers = option("lowerdir=")
            .map(|l| l.split(':').map(PathBuf::from).collect())
            .unwrap_or_default();
        return Ok(Source::Overlay {
            upper: PathBuf::from(upper),
            lowers,
        });
    }
    Ok(Source::Tree {
        dir: PathBuf::from(&mount.source),
    })
}

/// Writes the changes of active snapshot `key` (whose parent is `parent`) as
/// a layer blob into `content`.
pub fn export_layer(
    snapshotter: &dyn Snapshotter,
    key: &str,
    parent: Option<&str>,
    content: &ContentStore,
    options: &DiffOptions,
) -> Result<Layer, LayerError> {
    let write_err = |message: String| LayerError::Write {
        key: key.to_string(),
        message,
    };
    let source = source_of(snapshotter, key)?;
    // For a native snapshot the parent's tree is read through a view.
    let view_key = format!("export-view-{}-{}", std::process::id(), unique());
    let parent_dir = match (&source, parent) {
        (Source::Tree { .. }, Some(parent)) => {
            let mounts = snapshotter
                .view(&view_key, Some(parent))
                .map_err(|e| write_err(e.to_string()))?;
            mounts.first().map(|m| PathBuf::from(&m.source))
        }
        _ => None,
    };
    let made_view = parent_dir.is_some();
    let (reader, writer) = std::io::pipe().map_err(|e| write_err(e.to_string()))?;
    let result = std::thread::scope(|scope| {
        let diff = scope.spawn(move || match &source {
            Source::Overlay { upper, lowers } => diff_overlay(upper, lowers, writer, options),
            Source::Tree { dir } => diff_trees(parent_dir.as_deref(), dir, writer, options),
        });
        let ingested = content.ingest(reader, None);
        let digests = diff
            .join()
            .map_err(|_| write_err("diff thread panicked".into()))?;
        let digests = digests.map_err(|e| write_err(e.to_string()))?;
        let (digest, size) = ingested.map_err(|e| write_err(e.to_string()))?;
        let diff_id: Digest = digests
            .diff_id
            .parse()
            .map_err(|e| write_err(format!("diff_id: {e}")))?;
        if digest.to_string() != digests.digest {
            return Err(write_err(format!(
                "blob digest {digest} differs from the written {}",
                digests.digest
            )));
        }
        Ok(Layer {
            digest,
            size,
            diff_id,
        })
    });
    if made_view {
        let _ = snapshotter.remove(&view_key);
    }
    result
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
