//! Leases and tagging of a build (redteam C5).
//!
//! The build holds a [`Lease`] from its start to its end (released when
//! [`super::build`] returns, also on error or panic; a killed build's lease
//! goes stale with its process). Base images are read through a
//! [pinned](ImageIndex::pinned) index: each is resolved once and its manifest,
//! config and layers are held from that moment, so `rmi base` during the build
//! neither fails the build later ("not found locally") nor deletes blobs the
//! image needs. Cache hits are held as they are looked up
//! ([`crate::cache_store::CacheStore::with_lease`]); the built layers and the
//! written image are added as they appear, and the image is tagged by
//! [`kiln_image::gc::tag_complete`], which checks every blob under the index
//! lock first (BuildKit's exporter likewise holds a lease until the image
//! record is written). The snapshots the build commits are owned by its
//! process (the snapshotter records the owner), which protects them from the
//! snapshot collector until the build exits, by when the cache records and
//! images name them.
//!
//! A base image removed during the build keeps its blobs while the build
//! runs; afterwards they are unreferenced and go with the next `image prune`
//! (after [`kiln_image::gc::DEFAULT_GRACE`]), as containerd collects what an
//! ended lease held on its next collection.

use std::path::Path;

use kiln_image::{ContentStore, ImageIndex, Lease, LeaseStore, Reference};

use super::BuildError;

/// A new lease held by this process in `root`.
pub fn lease(root: &Path) -> Result<Lease, BuildError> {
    LeaseStore::new(root)
        .and_then(|leases| leases.create())
        .map_err(|e| BuildError::Store(format!("lease: {e}")))
}

/// Adds `digests` to the build's lease.
pub fn hold(lease: &Lease, digests: &[kiln_image::Digest]) -> Result<(), BuildError> {
    lease
        .add_digests(digests)
        .map_err(|e| BuildError::Store(format!("lease {}: {e}", lease.id())))
}

/// Tags the image with every tag, after checking that all its blobs exist
/// (one critical section under the index lock; see the module docs).
pub fn tag_all(
    content: &ContentStore,
    images: &ImageIndex,
    tags: &[String],
    manifest: &kiln_image::Digest,
) -> Result<(), BuildError> {
    let references = tags
        .iter()
        .map(|tag| {
            Reference::parse(tag)
                .map_err(|e| BuildError::Store(format!("invalid tag {tag:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    kiln_image::gc::tag_complete(content, images, &references, manifest).map_err(|e| {
        BuildError::Store(format!(
            "tag {}: image {manifest} is incomplete: {e}",
            tags.join(", ")
        ))
    })
}
