//! Garbage collection of the content store: delete blobs no image references.
//!
//! Mark: every record of the [`ImageIndex`] and every digest a live lease
//! ([`crate::lease`]) holds is a root; a manifest marks its
//! config and layers, an index (or manifest list) marks its child manifests,
//! recursively. Blobs that are missing or are not JSON documents are leaves.
//! Sweep: blobs not marked are deleted, then cache records that point into
//! deleted blobs (uncompressed sizes, member reuse entries) are dropped.
//!
//! Leases are read under the index lock too; a build adds each base image to
//! its lease under that lock when it resolves it ([`ImageIndex::pinned`]), and
//! [`tag_complete`] checks an image's blobs and tags it in one critical
//! section, so no collection can slip between the check and the tag.
//!
//! Both run while holding the image index lock (via [`ImageIndex::update`],
//! which changes nothing), so a concurrent `tag` cannot point a reference at a
//! blob in the middle of being deleted: it either tags before the mark (and
//! the blob is kept) or after the sweep (and it finds the blob gone).
//!
//! The race that the lock does not cover is ingest: blobs are written without
//! the lock and tagged afterwards (e.g. `load` ingests every blob, then tags).
//! A blob ingested but not yet tagged looks unreferenced. [`collect`] therefore
//! keeps blobs whose file was modified less than [`GcOptions::grace`] ago
//! (default [`DEFAULT_GRACE`]); a published blob's mtime is when its ingest
//! finished. [`remove_unreferenced`] (used by `rmi`, which knows exactly which
//! image it removed) deletes its candidates regardless of age: an ingest that
//! re-wrote one of those very blobs a moment ago and has not tagged yet could
//! lose it, and would then fail to tag or leave an image with a missing blob.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::index::{ImageIndex, ImageRecord, Images};
use crate::reference::Reference;

/// How young a blob may be and still be swept by [`collect`] by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10 * 60);

/// Options of [`collect`].
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Unreferenced blobs modified less than this long ago are kept.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            grace: DEFAULT_GRACE,
        }
    }
}

/// What a collection deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// The deleted blobs, sorted.
    pub deleted: Vec<Digest>,
    /// Their total size in bytes.
    pub reclaimed: u64,
}

/// Deletes every blob not reachable from the index and older than
/// `options.grace`. Holds the index lock throughout.
pub fn collect(store: &ContentStore, index: &ImageIndex, options: &GcOptions) -> Result<GcReport> {
    let cutoff = SystemTime::now()
        .checked_sub(options.grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    index.update(|images| {
        let live = mark(store, index, images)?;
        let mut report = GcReport::default();
        for digest in store.list()? {
            if !live.contains(&digest) && modified_before(store, &digest, cutoff)? {
                sweep_one(store, &digest, &mut report)?;
            }
        }
        // Deleting a blob drops its uncompressed-size record; this also drops
        // records left behind by interrupted deletes or older versions.
        store.sweep_uncompressed()?;
        // Member reuse entries pointing into deleted blobs are misses; drop them.
        store.members().sweep()?;
        Ok(report)
    })?
}

/// Deletes the blobs reachable from `roots` (manifests of removed images)
/// that no index record reaches any more, whatever their age. Holds the index
/// lock throughout, so a root tagged again meanwhile is kept.
pub fn remove_unreferenced(
    store: &ContentStore,
    index: &ImageIndex,
    roots: &[Digest],
) -> Result<GcReport> {
    index.update(|images| {
        let live = mark(store, index, images)?;
        let mut candidates = BTreeSet::new();
        for root in roots {
            reach(store, root, &mut candidates)?;
        }
        let mut report = GcReport::default();
        for digest in candidates.difference(&live) {
            if store.exists(digest)? {
                sweep_one(store, digest, &mut report)?;
            }
        }
        Ok(report)
    })?
}

/// Every blob reachable from `root` (itself included), present or not.
pub fn closure(store: &ContentStore, root: &Digest) -> Result<BTreeSet<Digest>> {
    let mut seen = BTreeSet::new();
    reach(store, root, &mut seen)?;
    Ok(seen)
}

/// Points every reference in `references` at `manifest`, after checking,
/// under the index lock, that every blob the image references is in the
/// store (an image with a missing blob is never tagged; C5). Fails with
/// [`ImageError::BlobNotFound`] naming the first missing blob.
pub fn tag_complete(
    store: &ContentStore,
    index: &ImageIndex,
    references: &[Reference],
    manifest: &Digest,
) -> Result<()> {
    index.update(|images| {
        for digest in closure(store, manifest)? {
            if !store.exists(&digest)? {
                return Err(ImageError::BlobNotFound { digest });
            }
        }
        let created = crate::time::now().0;
        for reference in references {
            if images.get(reference).map(|r| r.digest) != Some(*manifest) {
                let record = ImageRecord {
                    digest: *manifest,
                    created,
                };
                images.insert(reference.clone(), record);
            }
        }
        Ok(())
    })?
}

/// Every blob reachable from any record of `images` or held by a live lease.
fn mark(store: &ContentStore, index: &ImageIndex, images: &Images) -> Result<BTreeSet<Digest>> {
    let mut live = BTreeSet::new();
    for record in images.values() {
        reach(store, &record.digest, &mut live)?;
    }
    for lease in index.leases()?.live()? {
        for digest in &lease.digests {
            reach(store, digest, &mut live)?;
        }
    }
    Ok(live)
}

/// Adds `digest` and everything it references to `seen`.
fn reach(store: &ContentStore, digest: &Digest, seen: &mut BTreeSet<Digest>) -> Result<()> {
    let mut stack = vec![*digest];
    while let Some(next) = stack.pop() {
        if !seen.insert(next) {
            continue;
        }
        stack.extend(children(store, &next)?);
    }
    Ok(())
}

/// The digests a manifest or index blob references; nothing for other blobs.
fn children(store: &ContentStore, digest: &Digest) -> Result<Vec<Digest>> {
    // Layers can be large: only read small blobs as potential documents.
    const MAX_DOCUMENT: u64 = 4 << 20;
    match store.size(digest) {
        Ok(size) if size <= MAX_DOCUMENT => {}
        Ok(_) | Err(ImageError::BlobNotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    }
    let Ok(doc) = serde_json::from_slice::<Value>(&store.read_bytes(digest)?) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let descriptors = ["config"]
        .iter()
        .filter_map(|k| doc.get(*k))
        .chain(
            ["layers", "manifests", "blobs"]
                .iter()
                .flat_map(|k| doc.get(*k).and_then(Value::as_array).into_iter().flatten()),
        )
        .chain(doc.get("subject"));
    for desc in descriptors {
        if let Some(d) = desc.get("digest").and_then(Value::as_str) {
            if let Ok(d) = d.parse::<Digest>() {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Whether the blob's file was last modified before `cutoff`.
fn modified_before(store: &ContentStore, digest: &Digest, cutoff: SystemTime) -> Result<bool> {
    let path = store.blob_path(digest);
    match std::fs::metadata(&path).and_then(|m| m.modified()) {
        Ok(modified) => Ok(modified < cutoff),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ImageError::Io {
            op: "stat",
            path,
            source: e,
        }),
    }
}

/// Deletes one blob, recording it in `report`.
fn sweep_one(store: &ContentStore, digest: &Digest, report: &mut GcReport) -> Result<()> {
    let size = match store.size(digest) {
        Ok(size) => size,
        Err(ImageError::BlobNotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    if store.delete(digest)? {
        report.deleted.push(*digest);
        report.reclaimed += size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &ContentStore, bytes: &[u8]) -> Digest {
        store.ingest_bytes(bytes, None).unwrap().0
    }

    fn manifest(store: &ContentStore, config: &Digest, layers: &[Digest]) -> Digest {
        let layers: Vec<Value> = layers
            .iter()
            .map(|l| serde_json::json!({"digest": l.to_string(), "size": 1}))
            .collect();
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "config": {"digest": config.to_string(), "size": 2},
            "layers": layers,
        });
        put(store, doc.to_string().as_bytes())
    }

    fn setup() -> (tempfile::TempDir, ContentStore, ImageIndex) {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::new(dir.path()).unwrap();
        let index = ImageIndex::new(dir.path()).unwrap();
        (dir, store, index)
    }

    fn now() -> GcOptions {
        GcOptions {
            grace: Duration::ZERO,
        }
    }

    #[test]
    fn collect_keeps_reachable_and_sweeps_the_rest() {
        let (_dir, store, index) = setup();
        let (shared, only_a, orphan) =
            (put(&store, b"shared"), put(&store, b"a"), put(&store, b"x"));
        let config = put(&store, b"{}");
        let a = manifest(&store, &config, &[shared, only_a]);
        let b = manifest(&store, &config, &[shared]);
        let list = serde_json::json!({"manifests": [{"digest": b.to_string()}]});
        let list = put(&store, list.to_string().as_bytes());
        index.tag(&Reference::parse("a").unwrap(), &a).unwrap();
        index.tag(&Reference::parse("b").unwrap(), &list).unwrap();

        std::thread::sleep(Duration::from_millis(20));
        let report = collect(&store, &index, &now()).unwrap();
        assert_eq!(report.deleted, vec![orphan]);
        assert_eq!(report.reclaimed, 1);
        for d in [shared, only_a, config, a, b, list] {
            assert!(store.exists(&d).unwrap(), "{d}");
        }
    }

    #[test]
    fn collect_drops_member_entries_of_swept_blobs() {
        use crate::content::MemberRecord;
        let (_dir, store, index) = setup();
        let (kept, orphan) = (put(&store, b"kept layer"), put(&store, b"orphan"));
        let config = put(&store, b"{}");
        let m = manifest(&store, &config, &[kept]);
        index.tag(&Reference::parse("k").unwrap(), &m).unwrap();
        let record = |chunk: &[u8]| MemberRecord {
            chunk: Digest::of(chunk),
            uncompressed_len: chunk.len() as u64,
            offset: 0,
            len: 6,
        };
        let members = store.members();
        members.record("c", &kept, &[record(b"one")]).unwrap();
        members.record("c", &orphan, &[record(b"two")]).unwrap();

        std::thread::sleep(Duration::from_millis(20));
        collect(&store, &index, &now()).unwrap();
        assert!(members.lookup("c", &Digest::of(b"one"), 3).is_some());
        assert_eq!(members.lookup("c", &Digest::of(b"two"), 3), None);
        assert_eq!(members.sweep().unwrap(), 0, "collect already swept");
    }

    #[test]
    fn collect_spares_young_blobs() {
        let (_dir, store, index) = setup();
        let orphan = put(&store, b"just ingested");
        let report = collect(&store, &index, &GcOptions::default()).unwrap();
        assert!(report.deleted.is_empty());
        assert!(store.exists(&orphan).unwrap());
    }

    #[test]
    fn remove_unreferenced_deletes_only_what_nobody_else_uses() {
        let (_dir, store, index) = setup();
        let (shared, only_a, unrelated) = (put(&store, b"s"), put(&store, b"a"), put(&store, b"u"));
        let (config_a, config_b) = (put(&store, b"{\"a\":1}"), put(&store, b"{\"b\":1}"));
        let a = manifest(&store, &config_a, &[shared, only_a]);
        let b = manifest(&store, &config_b, &[shared]);
        index.tag(&Reference::parse("b").unwrap(), &b).unwrap();

        let report = remove_unreferenced(&store, &index, &[a]).unwrap();
        let mut expected = vec![a, config_a, only_a];
        expected.sort();
        let mut deleted = report.deleted.clone();
        deleted.sort();
        assert_eq!(deleted, expected);
        for d in [shared, config_b, b, unrelated] {
            assert!(store.exists(&d).unwrap());
        }
        // A root that is tagged again is kept entirely.
        let report = remove_unreferenced(&store, &index, &[b]).unwrap();
        assert!(report.deleted.is_empty());
    }

    #[test]
    fn closure_lists_manifest_config_and_layers() {
        let (_dir, store, _index) = setup();
        let (layer, config) = (put(&store, b"l"), put(&store, b"{}"));
        let m = manifest(&store, &config, &[layer]);
        let all = closure(&store, &m).unwrap();
        assert_eq!(all, BTreeSet::from([m, config, layer]));
    }

    #[test]
    fn a_live_lease_keeps_content_and_a_dead_holders_lease_does_not() {
        use crate::lease::{tests::dead_holder, LeaseStore};
        let (dir, store, index) = setup();
        let (layer, config) = (put(&store, b"leased layer"), put(&store, b"{\"c\":1}"));
        let m = manifest(&store, &config, &[layer]);
        let leases = LeaseStore::new(dir.path()).unwrap();
        let lease = leases.create().unwrap();
        lease.add_digests(&[m]).unwrap();

        std::thread::sleep(Duration::from_millis(20));
        assert!(collect(&store, &index, &now()).unwrap().deleted.is_empty());
        assert!(remove_unreferenced(&store, &index, &[m])
            .unwrap()
            .deleted
            .is_empty());
        for d in [m, config, layer] {
            assert!(store.exists(&d).unwrap(), "{d}");
        }

        // The same holdings under a lease whose holder died: collected.
        let stale = leases.create_with(dead_holder(), None).unwrap();
        stale.add_digests(&[m]).unwrap();
        std::mem::forget(stale); // its process "was killed": nobody released it
        lease.release().unwrap();
        let report = remove_unreferenced(&store, &index, &[m]).unwrap();
        assert_eq!(report.deleted.len(), 3);
        assert!(
            leases.live().unwrap().is_empty(),
            "the stale lease is removed"
        );
    }

    #[test]
    fn tag_complete_refuses_an_image_with_a_missing_blob() {
        let (_dir, store, index) = setup();
        let (layer, config) = (put(&store, b"layer"), put(&store, b"{}"));
        let m = manifest(&store, &config, &[layer]);
        let r = Reference::parse("out:x").unwrap();
        tag_complete(&store, &index, std::slice::from_ref(&r), &m).unwrap();
        assert_eq!(index.get(&r).unwrap().unwrap().digest, m);
        store.delete(&layer).unwrap();
        let r2 = Reference::parse("out:y").unwrap();
        let err = tag_complete(&store, &index, std::slice::from_ref(&r2), &m).unwrap_err();
        assert!(matches!(err, ImageError::BlobNotFound { digest } if digest == layer));
        assert!(index.get(&r2).unwrap().is_none());
    }

    #[test]
    fn a_pinned_view_holds_what_it_resolved() {
        use crate::lease::LeaseStore;
        use std::sync::Arc;
        let (dir, store, index) = setup();
        let (layer, config) = (put(&store, b"base layer"), put(&store, b"{\"b\":1}"));
        let m = manifest(&store, &config, &[layer]);
        let base = Reference::parse("base:1").unwrap();
        index.tag(&base, &m).unwrap();
        let lease = Arc::new(LeaseStore::new(dir.path()).unwrap().create().unwrap());
        let view = index.pinned(lease.clone());
        assert_eq!(view.get(&base).unwrap().unwrap().digest, m);

        // rmi base:1 while the build runs: the blobs stay, the view still resolves.
        index.untag(&base).unwrap();
        assert!(remove_unreferenced(&store, &index, &[m])
            .unwrap()
            .deleted
            .is_empty());
        assert_eq!(view.get(&base).unwrap().unwrap().digest, m);
        assert!(index.get(&base).unwrap().is_none());
        drop(view);
        Arc::try_unwrap(lease).unwrap().release().unwrap();
        assert_eq!(
            remove_unreferenced(&store, &index, &[m])
                .unwrap()
                .deleted
                .len(),
            3
        );
    }
}
