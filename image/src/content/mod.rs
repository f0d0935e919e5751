//! [`ContentStore`]: content-addressed blobs under `<root>/content/`.
//!
//! Layout:
//!
//! ```text
//! <root>/content/blobs/sha256/<hex>   published blobs, read-only (0444), never rewritten
//! <root>/content/ingest/<unique>      blobs being written; renamed into blobs/ when complete
//! <root>/content/uncompressed/<hex>  cached diff_id and size of a compressed layer blob
//! <root>/content/members/<codec>/..   where compressed chunks sit in layer blobs (see [`MemberIndex`])
//! ```
//!
//! A blob appears under `blobs/` only via `rename(2)` of a fully written,
//! fsynced, digest-checked temp file, so a reader never sees a partial blob and
//! a crash leaves at most a stray file in `ingest/` (see
//! [`ContentStore::gc_ingest`]). Temp names are unique per process and call
//! (pid, time, counter, created with `O_EXCL`), so any number of processes may
//! ingest the same blob at once: each renames identical bytes to the same name,
//! and rename is atomic. Both directories live under one root, hence on one
//! filesystem, which `rename` needs. No lock is taken anywhere in the store.

mod ingest;
mod members;
#[cfg(test)]
mod tests;
mod uncompressed;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use ingest::BlobWriter;
pub use members::{MemberIndex, MemberRecord};

use crate::digest::{Digest, DigestWriter};
use crate::error::{io_err, ImageError, Result};
use crate::fsutil::{create_dir_all, fsync_dir};

/// The content store rooted at `<root>/content`.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
    blobs: PathBuf,
    ingest: PathBuf,
}

impl ContentStore {
    /// Opens the store under `<root>/content`, creating its directories if missing.
    pub fn new(root: &Path) -> Result<ContentStore> {
        let content = root.join("content");
        let store = ContentStore {
            blobs: content.join("blobs").join("sha256"),
            ingest: content.join("ingest"),
            root: content,
        };
        create_dir_all(&store.blobs)?;
        create_dir_all(&store.ingest)?;
        Ok(store)
    }

    /// `<root>/content`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/content/ingest`, where partial blobs live.
    pub fn ingest_dir(&self) -> &Path {
        &self.ingest
    }

    /// Where the blob for `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    /// Opens a blob for reading.
    pub fn open(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| self.blob_error(digest, "open", path, e))
    }

    /// Whether the blob is present.
    pub fn exists(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ImageError::io("stat", path, e)),
        }
    }

    /// The blob's size in bytes.
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| self.blob_error(digest, "stat", path, e))
    }

    /// Removes a blob (and its uncompressed-size record); returns whether it
    /// existed. Callers decide what is unreferenced (garbage collection is not
    /// this store's business).
    pub fn delete(&self, digest: &Digest) -> Result<bool> {
        self.forget_uncompressed(digest)?;
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(ImageError::io("remove", path, e)),
        }
        fsync_dir(&self.blobs)?;
        Ok(true)
    }

    /// Every blob in the store, sorted. Files whose names are not 64-hex
    /// digests (foreign files) are skipped.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let entries = fs::read_dir(&self.blobs).map_err(io_err("list", &self.blobs))?;
        let mut digests = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("list", &self.blobs))?;
            if let Some(d) = entry
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                digests.push(d);
            }
        }
        digests.sort();
        Ok(digests)
    }

    /// Re-hashes a blob (streaming); fails with [`ImageError::BlobCorrupt`] if
    /// its bytes no longer match its name.
    pub fn verify(&self, digest: &Digest) -> Result<()> {
        let mut file = self.open(digest)?;
        let mut hasher = DigestWriter::sink();
        io::copy(&mut file, &mut hasher).map_err(io_err("read", self.blob_path(digest)))?;
        check_same(digest, hasher.digest())
    }

    /// Reads a whole blob into memory, checking its digest on the way (meant
    /// for manifests and configs, not layers).
    pub fn read_bytes(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open(digest)?
            .read_to_end(&mut bytes)
            .map_err(io_err("read", self.blob_path(digest)))?;
        check_same(digest, Digest::of(&bytes))?;
        Ok(bytes)
    }

    /// Reads and decodes a JSON blob (manifest, index, config), digest-checked.
    pub fn read_json<T: DeserializeOwned>(&self, digest: &Digest) -> Result<T> {
        let bytes = self.read_bytes(digest)?;
        serde_json::from_slice(&bytes).map_err(|source| ImageError::BlobJson {
            digest: *digest,
            source,
        })
    }

    /// Maps a not-found error on a blob to [`ImageError::BlobNotFound`].
    fn blob_error(
        &self,
        digest: &Digest,
        op: &'static str,
        path: PathBuf,
        e: io::Error,
    ) -> ImageError {
        if e.kind() == io::ErrorKind::NotFound {
            ImageError::BlobNotFound { digest: *digest }
        } else {
            ImageError::io(op, path, e)
        }
    }
}

/// `Ok` if `actual` is `digest`, else [`ImageError::BlobCorrupt`].
fn check_same(digest: &Digest, actual: Digest) -> Result<()> {
    if actual == *digest {
        Ok(())
    } else {
        Err(ImageError::BlobCorrupt {
            digest: *digest,
            actual,
        })
    }
}
