//! The uncompressed-size cache of compressed layer blobs:
//! `<root>/content/uncompressed/<blob hex>`, one line `<diff_id> <size>`.
//!
//! A docker-archive export needs a layer's uncompressed size before its bytes
//! (the tar header comes first); with this record it decompresses once
//! instead of twice. It is a cache: writes are best effort (temp file and
//! rename, no fsync), every use is checked against the diff_id while
//! streaming, and a missing or torn record only costs the second pass.
//! [`ContentStore::delete`] drops a blob's record; [`ContentStore::sweep_uncompressed`]
//! drops records whose blob is gone (e.g. deleted by an older kiln).

use std::fs;
use std::io;
use std::path::PathBuf;

use super::ContentStore;
use crate::digest::Digest;
use crate::error::{io_err, ImageError, Result};

/// The cache directory's name under the content root.
const DIR: &str = "uncompressed";

impl ContentStore {
    /// The record path of blob `digest`.
    fn uncompressed_record(&self, digest: &Digest) -> PathBuf {
        self.root().join(DIR).join(digest.hex())
    }

    /// Records the diff_id and uncompressed size of compressed blob `digest` (best effort).
    pub(crate) fn remember_uncompressed(&self, digest: &Digest, diff_id: &Digest, size: u64) {
        let path = self.uncompressed_record(digest);
        let Some(dir) = path.parent() else { return };
        let temp = dir.join(format!(".{}.{}", digest.hex(), std::process::id()));
        let written = fs::create_dir_all(dir)
            .and_then(|()| fs::write(&temp, format!("{diff_id} {size}\n")))
            .and_then(|()| fs::rename(&temp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
    }

    /// The recorded (diff_id, uncompressed size) of compressed blob `digest`, if any.
    pub(crate) fn known_uncompressed(&self, digest: &Digest) -> Option<(Digest, u64)> {
        let text = fs::read_to_string(self.uncompressed_record(digest)).ok()?;
        let (diff_id, size) = text.trim_end().split_once(' ')?;
        Some((diff_id.parse().ok()?, size.parse().ok()?))
    }

    /// Drops the record of blob `digest`, if any.
    pub(crate) fn forget_uncompressed(&self, digest: &Digest) -> Result<()> {
        let path = self.uncompressed_record(digest);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(ImageError::io("remove cache record", path, e))
            }
            _ => Ok(()),
        }
    }

    /// Removes the records (and stray temp files) whose blob no longer
    /// exists; returns how many were removed.
    pub fn sweep_uncompressed(&self) -> Result<usize> {
        let dir = self.root().join(DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(ImageError::io("list", dir, e)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // `.<hex>.<pid>` temp files belong to their blob too.
            let hex = name.trim_start_matches('.').split('.').next().unwrap_or("");
            let live = match Digest::from_hex(hex) {
                Ok(digest) => self.exists(&digest)?,
                Err(_) => true, // not ours: leave it alone
            };
            if !live {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ImageError::io("remove cache record", entry.path(), e)),
                }
            }
        }
        Ok(removed)
    }
}
