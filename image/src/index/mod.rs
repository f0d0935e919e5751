//! [`ImageIndex`]: which manifest each image reference points to, in
//! `<root>/images.json`.
//!
//! ```json
//! {"version": 1, "images": {"docker.io/library/busybox:latest":
//!     {"digest": "sha256:...", "created": 1700000000}}}
//! ```
//!
//! Keys are fully qualified references ([`Reference`]'s `Display`), usually
//! `name:tag`; `name@digest` keys record images pulled by digest. `created` is
//! when the reference started pointing at this digest (Unix seconds).
//!
//! Concurrency: every read-modify-write takes an exclusive `flock` on
//! `<root>/images.lock` ([`FileLock`]), re-reads the file, applies the change
//! and writes `images.json.tmp` + fsync + rename + fsync(dir) before unlocking.
//! Any number of kiln processes (and threads) can therefore tag at once without
//! losing an update, and a crash leaves the old or the new file, never a torn
//! one. Plain reads take no lock: the rename makes every read see one complete
//! version.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::fsutil::{create_dir_all, replace_file};
use crate::lease::{Lease, LeaseStore};
use crate::lock::FileLock;
use crate::reference::Reference;

/// The `images.json` format version this code reads and writes.
pub const INDEX_VERSION: u32 = 1;

/// What a reference points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Digest of the image's manifest (or index) in the content store.
    pub digest: Digest,
    /// When the reference was pointed at this digest, in seconds since the Unix epoch.
    pub created: u64,
}

/// The whole index: reference -> record, ordered by reference.
pub type Images = BTreeMap<Reference, ImageRecord>;

/// On-disk shape of `images.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    images: Images,
}

/// The image index stored at `<root>/images.json`.
#[derive(Debug, Clone)]
pub struct ImageIndex {
    root: PathBuf,
    path: PathBuf,
    tmp: PathBuf,
    lock: PathBuf,
    pins: Option<Arc<Pins>>,
}

/// The references a pinned view resolved, and the lease holding their content.
#[derive(Debug)]
struct Pins {
    lease: Arc<Lease>,
    resolved: Mutex<Images>,
}

impl ImageIndex {
    /// Opens the index under `root` (creating `root` if missing; the file
    /// itself appears on the first write).
    pub fn new(root: &Path) -> Result<ImageIndex> {
        create_dir_all(root)?;
        Ok(ImageIndex {
            root: root.to_path_buf(),
            path: root.join("images.json"),
            tmp: root.join("images.json.tmp"),
            lock: root.join("images.lock"),
            pins: None,
        })
    }

    /// A view of this index whose [`get`](ImageIndex::get) resolves each
    /// reference once and holds its digest in `lease` (see the module docs).
    /// Other methods behave as on the plain index.
    pub fn pinned(&self, lease: Arc<Lease>) -> ImageIndex {
        let pins = Pins {
            lease,
            resolved: Mutex::new(Images::new()),
        };
        ImageIndex {
            pins: Some(Arc::new(pins)),
            ..self.clone()
        }
    }

    /// The leases of this index's root (GC roots besides the records).
    pub fn leases(&self) -> Result<LeaseStore> {
        LeaseStore::new(&self.root)
    }

    /// `<root>/images.json`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record for `reference`, if it is in the index (in a pinned view:
    /// as it was when the view first resolved it).
    pub fn get(&self, reference: &Reference) -> Result<Option<ImageRecord>> {
        let Some(pins) = &self.pins else {
            return Ok(self.load()?.remove(reference));
        };
        let mut resolved = pins.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(record) = resolved.get(reference) {
            return Ok(Some(record.clone()));
        }
        let found = self.update(|images| {
            let record = images.get(reference).cloned();
            if let Some(record) = &record {
                pins.lease.add_digests(&[record.digest])?;
            }
            Ok::<_, ImageError>(record)
        })??;
        if let Some(record) = &found {
            resolved.insert(reference.clone(), record.clone());
        }
        Ok(found)
    }

    /// Every reference and its record, ordered by reference.
    pub fn list(&self) -> Result<Vec<(Reference, ImageRecord)>> {
        Ok(self.load()?.into_iter().collect())
    }

    /// The references pointing at `digest` (to refuse deleting a used image,
    /// or to show all names of an image).
    pub fn references_to(&self, digest: &Digest) -> Result<Vec<Reference>> {
        let images = self.load()?;
        Ok(images
            .into_iter()
            .filter(|(_, rec)| rec.digest == *digest)
            .map(|(r, _)| r)
            .collect())
    }

    /// Points `reference` at `digest`; returns the digest it pointed to before.
    /// Re-tagging with the same digest keeps the original `created` time.
    pub fn tag(&self, reference: &Reference, digest: &Digest) -> Result<Option<Digest>> {
        let created = unix_now();
        self.update(|images| {
            let previous = images.get(reference).map(|rec| rec.digest);
            if previous != Some(*digest) {
                let record = ImageRecord {
                    digest: *digest,
                    created,
                };
                images.insert(reference.clone(), record);
            }
            previous
        })
    }

    /// Removes `reference`; returns its record if it was present.
    pub fn untag(&self, reference: &Reference) -> Result<Option<ImageRecord>> {
        self.update(|images| images.remove(reference))
    }

    /// Runs `change` on the current index under the lock and persists the
    /// result if it changed. Use it to apply several changes atomically.
    pub fn update<T>(&self, change: impl FnOnce(&mut Images) -> T) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock)?;
        let mut images = self.load()?;
        let before = images.clone();
        let out = change(&mut images);
        if images != before {
            self.store(images)?;
        }
        Ok(out)
    }

    /// Reads the current index; a missing file is an empty index.
    fn load(&self) -> Result<Images> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Images::new()),
            Err(e) => return Err(ImageError::io("read", &self.path, e)),
        };
        let file: IndexFile =
            serde_json::from_slice(&bytes).map_err(|source| ImageError::StateJson {
                path: self.path.clone(),
                source,
            })?;
        if file.version != INDEX_VERSION {
            let (path, version) = (self.path.clone(), file.version);
            return Err(ImageError::UnsupportedStateVersion { path, version });
        }
        Ok(file.images)
    }

    /// Writes the index crash-safely. Caller holds the lock.
    fn store(&self, images: Images) -> Result<()> {
        let file = IndexFile {
            version: INDEX_VERSION,
            images,
        };
        let mut bytes =
            serde_json::to_vec_pretty(&file).map_err(|source| ImageError::StateJson {
                path: self.path.clone(),
                source,
            })?;
        bytes.push(b'\n');
        replace_file(&self.path, &self.tmp, &bytes)
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
