//! Caps on what interpreting an archive may cost, whatever the archive says.
//!
//! An archive is hostile input: a 2 MB OCI layout whose indexes list the same
//! child a hundred times, nested four deep, names 10^8 descriptors; a 1.6 MB
//! gzip of JSON-named members inflates to gigabytes. Everything that reads a
//! document of an archive (staged `manifest.json`/`index.json`, configs,
//! manifests and indexes in the store) goes through one [`Budget`] per load or
//! save, which fails with [`ArchiveError::Limit`] (one line naming the cap)
//! instead of running away:
//!
//! - [`MAX_DEPTH`] levels of nested indexes (what `resolve` follows too);
//! - [`MAX_DOCUMENT`] bytes per JSON document;
//! - [`MAX_JSON_BYTES`] bytes of JSON read (or buffered) in all;
//! - [`MAX_DESCRIPTORS`] descriptors (and docker-archive layer entries) in all,
//!   duplicates counted each time they are listed.
//!
//! Docker and containerd have no such caps in their loaders; registries cap a
//! manifest at 4 MiB (distribution spec). These caps are far above anything
//! `docker save`, skopeo or buildctl write (an image has at most 127 layers).

use std::cell::Cell;

use serde::de::DeserializeOwned;

use super::error::{ArchiveError, ArchiveResult};
use crate::content::ContentStore;
use crate::digest::Digest;

/// How deep image indexes may nest inside an archive.
pub(crate) const MAX_DEPTH: usize = 8;
/// The largest JSON document (member or blob) read into memory.
pub(crate) const MAX_DOCUMENT: u64 = 16 << 20;
/// How many bytes of JSON one load or save may read (or buffer) in all.
pub(crate) const MAX_JSON_BYTES: u64 = 64 << 20;
/// How many descriptors one load or save may meet in all.
pub(crate) const MAX_DESCRIPTORS: u64 = 200_000;

/// Running totals of one load or save, checked against the caps.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    json_bytes: Cell<u64>,
    descriptors: Cell<u64>,
}

impl Budget {
    /// Accounts for a JSON document of `size` bytes about to be read from `member`.
    pub(crate) fn json(&self, member: &str, size: u64) -> ArchiveResult<()> {
        if size > MAX_DOCUMENT {
            let reason = format!("JSON document of {size} bytes, over the cap of {MAX_DOCUMENT}");
            return Err(ArchiveError::invalid(member, reason));
        }
        let total = self.json_bytes.get().saturating_add(size);
        if total > MAX_JSON_BYTES {
            return Err(ArchiveError::limit("JSON bytes read", MAX_JSON_BYTES));
        }
        self.json_bytes.set(total);
        Ok(())
    }

    /// Accounts for `count` more descriptors met.
    pub(crate) fn descriptors(&self, count: usize) -> ArchiveResult<()> {
        let total = self.descriptors.get().saturating_add(count as u64);
        if total > MAX_DESCRIPTORS {
            return Err(ArchiveError::limit("descriptors", MAX_DESCRIPTORS));
        }
        self.descriptors.set(total);
        Ok(())
    }

    /// Reads and decodes the JSON blob `digest` from the store (accounted,
    /// size checked before reading); errors name `member`.
    pub(crate) fn read_blob<T: DeserializeOwned>(
        &self,
        store: &ContentStore,
        digest: &Digest,
        member: &str,
    ) -> ArchiveResult<T> {
        let bytes = self.read_blob_bytes(store, digest, member)?;
        serde_json::from_slice(&bytes).map_err(ArchiveError::json(member))
    }

    /// Reads the bytes of the JSON blob `digest` (accounted, size checked first).
    pub(crate) fn read_blob_bytes(
        &self,
        store: &ContentStore,
        digest: &Digest,
        member: &str,
    ) -> ArchiveResult<Vec<u8>> {
        self.json(member, store.size(digest)?)?;
        Ok(store.read_bytes(digest)?)
    }
}

/// Fails with [`ArchiveError::Limit`] when `depth` is past [`MAX_DEPTH`].
pub(crate) fn check_depth(depth: usize) -> ArchiveResult<()> {
    if depth > MAX_DEPTH {
        return Err(ArchiveError::limit(
            "levels of nested image indexes",
            MAX_DEPTH as u64,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_fail_with_one_line_naming_the_cap() {
        let budget = Budget::default();
        budget.descriptors(MAX_DESCRIPTORS as usize).unwrap();
        let err = budget.descriptors(1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("archive exceeds the cap of {MAX_DESCRIPTORS} descriptors")
        );
        for _ in 0..4 {
            budget.json("m", MAX_DOCUMENT).unwrap();
        }
        let err = budget.json("m", 1).unwrap_err();
        assert!(err.to_string().contains("JSON bytes read"), "{err}");
        let err = Budget::default()
            .json("big.json", MAX_DOCUMENT + 1)
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("archive member big.json: JSON document"));
        assert!(check_depth(MAX_DEPTH).is_ok() && check_depth(MAX_DEPTH + 1).is_err());
    }
}
