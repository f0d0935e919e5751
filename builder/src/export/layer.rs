//! A layer from a snapshot: the changes of an active snapshot
//! ([`export_layer`]) or of a committed one ([`export_committed`]) over its
//! parent, written as a (compressed) tar straight into the content store.
//!
//! The directories come from the snapshotter's [`Layout`](kiln_snapshotter::Layout)
//! (never parsed back from mount options). For overlay snapshots the changes
//! are read from the snapshot's own directory (the upper directory of an
//! active snapshot, the top lower directory of a committed one: it holds
//! exactly what the step changed, whiteouts included); for native snapshots
//! the tree is compared with its parent's tree. The tar
//! streams into a content store blob writer (the differ hashes what it
//! writes; nothing is hashed twice), so memory stays flat whatever the
//! layer's size. gzip members already in the store (from
//! an earlier export of mostly the same bytes) are copied, not compressed
//! again: see the differ's "Member reuse".

use std::path::PathBuf;

use kiln_image::{ContentStore, Digest};
use kiln_snapshotter::{
    diff_overlay_reusing, diff_trees_reusing, Contents, DiffOptions, Snapshotter, GZIP_MEMBER_CODEC,
};

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

/// Where a snapshot's files and its parent's files are, from its layout.
enum Source {
    /// overlay: the upper directory and the lower directories (top first).
    Overlay {
        upper: PathBuf,
        lowers: Vec<PathBuf>,
    },
    /// A plain directory (native snapshotter; or an overlay with no parent,
    /// which is mounted as a bind of its own directory), compared with the
    /// parent's.
    Tree { dir: PathBuf },
}

/// The directories of `key` (active or committed), from the snapshotter's
/// [`Layout`](kiln_snapshotter::Layout), never from mount options.
fn source_of(snapshotter: &dyn Snapshotter, key: &str) -> Result<Source, LayerError> {
    let layout = snapshotter.layout(key).map_err(|e| LayerError::Snapshot {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    Ok(match layout.contents {
        Contents::Changes if !layout.parents.is_empty() => Source::Overlay {
            upper: layout.own,
            lowers: layout.parents,
        },
        _ => Source::Tree { dir: layout.own },
    })
}

/// Writes the changes of snapshot `key` (active, or committed; whose parent
/// is `parent`) as a layer blob into `content`.
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
    // For a native snapshot the parent's whole tree is its own directory.
    let parent_dir = match (&source, parent) {
        (Source::Tree { .. }, Some(parent)) => Some(
            snapshotter
                .layout(parent)
                .map_err(|e| write_err(e.to_string()))?
                .own,
        ),
        _ => None,
    };
    let members = content.members();
    // The differ hashes every byte it writes (the blob digest), so the
    // blob goes straight to the store's temp file, hashed once.
    let mut blob = content
        .blob_writer()
        .map_err(|e| write_err(e.to_string()))?;
    let index = Some(&members);
    let digests = match &source {
        Source::Overlay { upper, lowers } => {
            diff_overlay_reusing(upper, lowers, &mut blob, options, index)
        }
        Source::Tree { dir } => {
            diff_trees_reusing(parent_dir.as_deref(), dir, &mut blob, options, index)
        }
    }
    .map_err(|e| write_err(e.to_string()))?;
    let parse = |what: &str, text: &str| {
        text.parse::<Digest>()
            .map_err(|e| write_err(format!("{what}: {e}")))
    };
    let digest = parse("digest", &digests.digest)?;
    let diff_id = parse("diff_id", &digests.diff_id)?;
    blob.commit(&digest, digests.size)
        .map_err(|e| write_err(e.to_string()))?;
    // Where this blob's gzip members are, so a later export of a layer
    // that shares most of its bytes copies them instead of compressing
    // (a cache: not being able to record costs only that).
    let _ = members.record(GZIP_MEMBER_CODEC, &digest, &digests.members);
    Ok(Layer {
        digest,
        size: digests.size,
        diff_id,
    })
}

/// Writes the changes of the committed snapshot `name` over its parent
/// `parent` as a layer blob into `content`. A temporary view of `name` is
/// held meanwhile, so that nothing removes it while its files are read.
pub fn export_committed(
    snapshotter: &dyn Snapshotter,
    name: &str,
    parent: Option<&str>,
    content: &ContentStore,
    options: &DiffOptions,
) -> Result<Layer, LayerError> {
    let view_key = format!("export-committed-{}-{}", std::process::id(), unique());
    snapshotter
        .view(&view_key, Some(name))
        .map_err(|e| LayerError::Snapshot {
            key: name.to_string(),
            message: format!("view: {e}"),
        })?;
    let result = export_layer(snapshotter, name, parent, content, options);
    let _ = snapshotter.remove(&view_key);
    result
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
