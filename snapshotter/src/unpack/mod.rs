//! Unpacking an image: its layers become committed snapshots named by their chain
//! IDs, so images that share layers share snapshots.
//!
//! # Chain IDs
//!
//! As in the OCI image spec: `ChainID(L0) = DiffID(L0)` and
//! `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`, written
//! `sha256:<hex>` ([`chain_ids`]).
//!
//! # Steps
//!
//! [`unpack`] reads the manifest and config from the [`ContentStore`], then for
//! each layer, bottom first: if a committed snapshot named by its chain ID exists,
//! it is skipped. Otherwise an active snapshot `extract-<pid>-<n>-<chain hex>` is
//! prepared on the parent chain ID, its mounts are performed on a fresh directory
//! under the system temp dir, the layer is [`crate::apply`]'d there, its diff_id is
//! checked against the config's `rootfs.diff_ids[i]`, it is unmounted and committed
//! as the chain ID. On any error the mount is undone and the active snapshot
//! removed, so nothing half-applied is ever committed. When the commit fails with
//! [`crate::Error::AlreadyExists`] (another process unpacked the same layer first)
//! the active snapshot is removed and unpacking goes on from the existing one.
//!
//! `manifest` may be an image manifest (OCI or Docker schema 2) or an image
//! index: an index is resolved to the host platform's manifest first
//! ([`kiln_image::resolve::host_manifest`]; no such manifest is an error naming
//! the platform). Layers may be gzip, zstd or plain tar (sniffed by magic
//! bytes).
//!
//! # Parallelism
//!
//! "Extraction uses all cores where layers are independent." Applying is
//! sequential by nature (each layer goes on top of the previous one), so the work
//! around it is pipelined: each layer blob is read, hashed (its descriptor digest
//! is checked) and decompressed on its own thread, which streams plain tar through
//! a bounded channel (4 MiB) to the applying thread (tar parsing, diff_id hashing,
//! file writes). While layer `i` is applied, the thread for layer `i+1` already
//! decompresses into its own buffer. Memory stays bounded; a corrupt blob is
//! reported before its end-of-stream, so its apply fails and is discarded.
//! Independent images can be unpacked from several threads (or processes) at once:
//! snapshotters are thread-safe and a lost commit race is not an error.
//!
//! [`tree_listing`] describes a mounted snapshot (or any tree) as text, for
//! comparing kiln's unpacked images with other tools'.

mod feed;
mod listing;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use kiln_image::archive::docs::{ConfigDoc, ManifestDoc};
use kiln_image::{ContentStore, Digest, ImageError};
use sha2::{Digest as _, Sha256};

pub use listing::tree_listing;

use crate::{mount, Error, Kind, Labels, Snapshotter};

/// Everything that can go wrong in [`unpack`].
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Reading the manifest, config or a layer blob from the content store failed
    /// (the error names the blob).
    #[error(transparent)]
    Content(#[from] ImageError),
    /// The config lists a different number of diff_ids than the manifest layers.
    #[error("image {manifest}: {layers} layers but {diff_ids} diff_ids in the config")]
    LayerCount {
        /// The manifest.
        manifest: Digest,
        /// Layers in the manifest.
        layers: usize,
        /// diff_ids in the config.
        diff_ids: usize,
    },
    /// Applying a layer failed (the snapshot was discarded).
    #[error("layer {layer}: {source}")]
    Apply {
        /// The layer blob's digest.
        layer: Digest,
        /// What went wrong.
        #[source]
        source: Error,
    },
    /// A layer's uncompressed content does not hash to the config's diff_id.
    #[error("layer {layer}: diff_id is {actual}, the config says {expected}")]
    DiffIdMismatch {
        /// The layer blob's digest.
        layer: Digest,
        /// The config's diff_id.
        expected: Digest,
        /// What the layer's tar hashed to.
        actual: String,
    },
    /// A snapshotter operation (prepare, commit, remove, mount) failed.
    #[error("snapshot {key}: {source}")]
    Snapshot {
        /// The key or chain ID it failed on.
        key: String,
        /// The snapshotter's error.
        #[source]
        source: Error,
    },
}

/// Shorthand for results of this module.
pub type UnpackResult<T> = std::result::Result<T, UnpackError>;

/// The chain IDs of layers with these diff_ids, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.to_string(),
            Some(prev) => {
                let hash = Sha256::digest(format!("{prev} {diff_id}").as_bytes());
                format!("sha256:{}", hex::encode(hash))
            }
        };
        out.push(next);
    }
    out
}

/// One layer still to apply.
struct Todo {
    blob: Digest,
    diff_id: Digest,
    chain: String,
    parent: Option<String>,
}

/// Unpacks the image whose manifest (or index, resolved to the host platform's
/// manifest) is `manifest` into `snapshotter`; returns the
/// top layer's chain ID (the name of the committed snapshot holding the whole
/// root filesystem; empty for an image without layers, whose root filesystem is
/// an empty tree: `view(key, None)`). See the module docs.
pub fn unpack(
    store: &ContentStore,
    manifest: &Digest,
    snapshotter: &dyn Snapshotter,
) -> UnpackResult<String> {
    let manifest = &kiln_image::resolve::host_manifest(store, manifest)?;
    let doc: ManifestDoc = store.read_json(manifest)?;
    let config: ConfigDoc = store.read_json(&doc.config.digest)?;
    let diff_ids = config.rootfs.diff_ids;
    if diff_ids.len() != doc.layers.len() {
        return Err(UnpackError::LayerCount {
            manifest: *manifest,
            layers: doc.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let layers: Vec<(Digest, Digest)> = doc.layers.iter().map(|l| l.digest).zip(diff_ids).collect();
    unpack_layers(store, &layers, snapshotter)
}

/// Makes the committed snapshots of a layer chain given as `(blob digest,
/// diff_id)` pairs, bottom first, the blobs already in `store`: each layer
/// is applied onto its parent chain ID exactly as [`unpack`] does (existing
/// chain snapshots are reused, each diff_id is checked, nothing half-applied
/// is committed). Returns the top chain ID (empty for no layers). For a
/// chain that has no image around it (the build cache's imported records).
pub fn unpack_layers(
    store: &ContentStore,
    layers: &[(Digest, Digest)],
    snapshotter: &dyn Snapshotter,
) -> UnpackResult<String> {
    let diff_ids: Vec<Digest> = layers.iter().map(|(_, d)| *d).collect();
    let chains = chain_ids(&diff_ids);
    let mut todo = Vec::new();
    for (index, chain) in chains.iter().enumerate() {
        if is_committed(snapshotter, chain)? {
            continue;
        }
        todo.push(Todo {
            blob: layers[index].0,
            diff_id: diff_ids[index],
            chain: chain.clone(),
            parent: index.checked_sub(1).map(|i| chains[i].clone()),
        });
    }
    apply_all(store, snapshotter, &todo)?;
    Ok(chains.last().cloned().unwrap_or_default())
}

fn is_committed(snapshotter: &dyn Snapshotter, chain: &str) -> UnpackResult<bool> {
    match snapshotter.stat(chain) {
        Ok(info) => Ok(info.kind == Kind::Committed),
        Err(Error::NotFound { .. }) => Ok(false),
        Err(source) => Err(UnpackError::Snapshot {
            key: chain.to_string(),
            source,
        }),
    }
}

/// Applies `todo` in order, each layer's blob decompressed on its own thread,
/// the next one started before the current one is applied.
fn apply_all(
    store: &ContentStore,
    snapshotter: &dyn Snapshotter,
    todo: &[Todo],
) -> UnpackResult<()> {
    std::thread::scope(|scope| {
        let start = |layer: &Todo| {
            let (tx, feed) = feed::channel();
            let blob = layer.blob;
            (feed, scope.spawn(move || feed::decode(store, &blob, tx)))
        };
        let mut next = todo.first().map(start);
        for (i, layer) in todo.iter().enumerate() {
            let Some((feed, decoder)) = next.take() else {
                break;
            };
            next = todo.get(i + 1).map(start);
            let applied = apply_one(snapshotter, layer, feed);
            let decoded = decoder.join().unwrap_or(Ok(()));
            // A corrupt or unreadable blob explains the apply failure best.
            decoded?;
            applied?;
        }
        Ok(())
    })
}

/// Prepares, mounts, applies, checks, unmounts and commits one layer; on error
/// undoes all of it.
fn apply_one(snapshotter: &dyn Snapshotter, layer: &Todo, feed: feed::Feed) -> UnpackResult<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let hex = layer.chain.trim_start_matches("sha256:");
    let key = format!("extract-{}-{n}-{hex}", std::process::id());
    let snap_err = |key: &str| {
        let key = key.to_string();
        move |source| UnpackError::Snapshot { key, source }
    };
    let mounts = snapshotter
        .prepare(&key, layer.parent.as_deref(), &Labels::new())
        .map_err(snap_err(&key))?;
    let target = std::env::temp_dir().join(format!("kiln-{key}"));
    let result = mount_and_apply(&mounts, &target, layer, feed);
    let _ = fs::remove_dir(&target);
    if let Err(e) = result {
        let _ = snapshotter.remove(&key);
        return Err(e);
    }
    match snapshotter.commit(&layer.chain, &key) {
        Ok(()) => Ok(()),
        Err(Error::AlreadyExists { .. }) => snapshotter.remove(&key).map_err(snap_err(&key)),
        Err(source) => {
            let _ = snapshotter.remove(&key);
            Err(snap_err(&layer.chain)(source))
        }
    }
}

/// Mounts `mounts` on `target` (created), applies the layer, always unmounts.
fn mount_and_apply(
    mounts: &[crate::Mount],
    target: &Path,
    layer: &Todo,
    feed: feed::Feed,
) -> UnpackResult<()> {
    let key = || target.display().to_string();
    fs::create_dir_all(target)
        .map_err(Error::io("create mount point", target))
        .map_err(|source| UnpackError::Snapshot { key: key(), source })?;
    mount::mount_all(mounts, target)
        .map_err(|source| UnpackError::Snapshot { key: key(), source })?;
    let applied = check_apply(target, layer, feed);
    let unmounted = mount::unmount_all(target, false)
        .or_else(|_| mount::unmount_all(target, true))
        .map_err(|source| UnpackError::Snapshot { key: key(), source });
    applied?;
    unmounted
}

fn check_apply(target: &Path, layer: &Todo, feed: feed::Feed) -> UnpackResult<()> {
    let applied = crate::apply(feed, target).map_err(|source| UnpackError::Apply {
        layer: layer.blob,
        source,
    })?;
    if applied.diff_id != layer.diff_id.to_string() {
        return Err(UnpackError::DiffIdMismatch {
            layer: layer.blob,
            expected: layer.diff_id,
            actual: applied.diff_id,
        });
    }
    Ok(())
}
