//! Snapshot garbage collection for a kiln root (H7): which snapshots are in
//! use, and the sweep of the others in every snapshotter of the root.
//!
//! In use (the roots handed to [`Snapshotter::collect`]) are, as containerd's
//! collector treats images, containers and leases as roots:
//! - the chain IDs of every image in the image index (each manifest of an
//!   index), i.e. the unpacked layers;
//! - the snapshots of build cache records (`<root>/builder/cache/*.json`:
//!   the vertex's tree and its built layers);
//! - containers' root filesystems (`container-<id>` while `containers/<id>`
//!   exists, and every record's snapshot key);
//! - what live leases hold: their snapshot keys, and the chain IDs of the
//!   images their digests name.
//!
//! The snapshotter adds snapshots whose owner process runs and the parents
//! of everything kept, and computes the roots under its exclusive lock. The
//! scratch folder a removed build snapshot had (`<root>/builder/run/<key>`,
//! left by a killed build) goes with it.
//! Unreadable cache records and container records are not roots (a cache
//! record that does not parse is a miss anyway); an unreadable image index
//! or lease folder fails the collection, which then removes nothing.

use std::collections::BTreeSet;
use std::path::Path;

use kiln_image::{ContentStore, Digest, ImageIndex};
use kiln_snapshotter::{
    chain_ids, Collected, Info, NativeSnapshotter, OverlaySnapshotter, Snapshotter,
};
use serde_json::Value;

use crate::executor::{RootFs, TreeLayer};

/// Why the snapshot collector could not run (it then removed nothing).
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// A snapshotter's state under the root could not be opened.
    #[error("{snapshotter} snapshotter: {source}")]
    Open {
        /// `overlay` or `native`.
        snapshotter: &'static str,
        /// What failed.
        #[source]
        source: kiln_snapshotter::Error,
    },
    /// A snapshotter's sweep failed.
    #[error("collect {snapshotter} snapshots: {source}")]
    Collect {
        /// `overlay` or `native`.
        snapshotter: &'static str,
        /// What failed (finding the roots included).
        #[source]
        source: kiln_snapshotter::Error,
    },
    /// The image side of the roots could not be read: `what` is `content
    /// store`, `image index` or `leases`.
    #[error("{what}: {source}")]
    Images {
        /// Which store.
        what: &'static str,
        /// What failed.
        #[source]
        source: kiln_image::ImageError,
    },
}

fn images_err(what: &'static str) -> impl Fn(kiln_image::ImageError) -> GcError {
    move |source| GcError::Images { what, source }
}

/// Runs the snapshot collector on every snapshotter that has state under
/// `root`; returns what they removed together.
pub fn collect(root: &Path) -> Result<Collected, GcError> {
    let mut total = Collected::default();
    for snapshotter in snapshotters(root)? {
        let roots = |_: &[Info]| {
            in_use(root).map_err(|e| {
                let op = "find the snapshots in use";
                kiln_snapshotter::Error::io(op, root)(std::io::Error::other(e))
            })
        };
        let name = snapshotter.name();
        let done = snapshotter
            .collect(&roots)
            .map_err(|source| GcError::Collect {
                snapshotter: name,
                source,
            })?;
        for key in &done.removed {
            // The scratch folder of a killed build's step (`executor::snapshot`).
            let work = root.join("builder/run").join(key);
            if key.starts_with("build-") && work.is_dir() {
                let _ = std::fs::remove_dir_all(&work);
            }
        }
        total.removed.extend(done.removed);
        total.reclaimed += done.reclaimed;
    }
    total.removed.sort();
    Ok(total)
}

/// The snapshotters whose state folder exists under `root`.
pub fn snapshotters(root: &Path) -> Result<Vec<Box<dyn Snapshotter>>, GcError> {
    let mut out: Vec<Box<dyn Snapshotter>> = Vec::new();
    let err = |snapshotter: &'static str| {
        move |source: kiln_snapshotter::Error| GcError::Open {
            snapshotter,
            source,
        }
    };
    if root.join("snapshots/overlay").is_dir() {
        out.push(Box::new(
            OverlaySnapshotter::new(root).map_err(err("overlay"))?,
        ));
    }
    if root.join("snapshots/native").is_dir() {
        out.push(Box::new(
            NativeSnapshotter::new(root).map_err(err("native"))?,
        ));
    }
    Ok(out)
}

/// Every snapshot key in use under `root` (see the module docs).
pub fn in_use(root: &Path) -> Result<BTreeSet<String>, GcError> {
    let mut keys = image_snapshots(root)?;
    keys.extend(cache_snapshots(root));
    keys.extend(container_snapshots(root));
    Ok(keys)
}

/// The chain IDs of every image in the index and of every image a live lease
/// holds, plus the snapshot keys leases hold.
pub fn image_snapshots(root: &Path) -> Result<BTreeSet<String>, GcError> {
    let content = ContentStore::new(root).map_err(images_err("content store"))?;
    let index = ImageIndex::new(root).map_err(images_err("image index"))?;
    let mut manifests: Vec<Digest> = index
        .list()
        .map_err(images_err("image index"))?
        .into_iter()
        .map(|(_, record)| record.digest)
        .collect();
    let mut keys = BTreeSet::new();
    let leases = index.leases().and_then(|l| l.live());
    for lease in leases.map_err(images_err("leases"))? {
        manifests.extend(lease.digests);
        keys.extend(lease.snapshots);
    }
    keys.extend(image_chains(&content, manifests));
    Ok(keys)
}

/// The chain IDs (unpacked snapshot names) of the images `manifests` (image
/// manifests or indexes: every manifest of an index counts).
pub fn image_chains(content: &ContentStore, mut manifests: Vec<Digest>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut seen = BTreeSet::new();
    while let Some(digest) = manifests.pop() {
        if seen.insert(digest) {
            keys.extend(chains_of(content, &digest, &mut manifests));
        }
    }
    keys
}

/// The chain IDs of the image manifest `digest`; an index pushes its
/// manifests onto `more`. Missing or foreign blobs name nothing.
fn chains_of(content: &ContentStore, digest: &Digest, more: &mut Vec<Digest>) -> Vec<String> {
    const MAX_DOCUMENT: u64 = 4 << 20;
    let small = content.size(digest).is_ok_and(|s| s <= MAX_DOCUMENT);
    let Some(doc) = small
        .then(|| content.read_json::<Value>(digest).ok())
        .flatten()
    else {
        return Vec::new();
    };
    let children = doc.get("manifests").and_then(Value::as_array);
    for child in children.into_iter().flatten() {
        if let Some(d) = child.get("digest").and_then(Value::as_str) {
            more.extend(d.parse::<Digest>());
        }
    }
    let config = doc.pointer("/config/digest").and_then(Value::as_str);
    let Some(config) = config.and_then(|c| c.parse::<Digest>().ok()) else {
        return Vec::new();
    };
    let Ok(config) = content.read_json::<Value>(&config) else {
        return Vec::new();
    };
    let diff_ids: Vec<Digest> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().and_then(|s| s.parse().ok()))
        .collect();
    chain_ids(&diff_ids)
}

/// The snapshots named by build cache records.
pub fn cache_snapshots(root: &Path) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for record in crate::cache_prune::records(root) {
        keys.extend(record_snapshots(&record.root));
    }
    keys
}

/// The snapshots one cache record needs: its tree and its built layers.
pub fn record_snapshots(record: &RootFs) -> Vec<String> {
    let built = record.layers.iter().filter_map(|l| match l {
        TreeLayer::Built(b) => Some(b.snapshot.clone()),
        TreeLayer::Blob(_) => None,
    });
    record.snapshot.iter().cloned().chain(built).collect()
}

/// Containers' root filesystem snapshots.
pub fn container_snapshots(root: &Path) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let dir = root.join("containers");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if let Some(id) = entry.file_name().to_str() {
            keys.insert(format!("container-{id}"));
            let config = entry.path().join("config.json");
            let record = std::fs::read(&config).ok();
            let record = record.and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            if let Some(key) = record.as_ref().and_then(|r| r["SnapshotKey"].as_str()) {
                keys.insert(key.to_string());
            }
        }
    }
    keys
}
