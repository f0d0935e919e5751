//! Files of the OCI layout a cache directory is: blobs written to a temp
//! name, checked, fsynced and renamed; `index.json` replaced the same way.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kiln_image::DigestWriter;

use super::LocalCacheError;
use crate::Digest;

/// `DIR/blobs/sha256/<hex>`.
pub fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs/sha256").join(digest.hex())
}

/// Creates `DIR/blobs/sha256/` and `DIR/oci-layout` when missing.
pub fn ensure(dir: &Path) -> Result<(), LocalCacheError> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(LocalCacheError::io("create", &blobs))?;
    let header = dir.join("oci-layout");
    if !header.exists() {
        replace(&header, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    }
    Ok(())
}

/// Whether `DIR` already holds the blob `digest` of `size` bytes.
pub fn has_blob(dir: &Path, digest: &Digest, size: u64) -> bool {
    std::fs::metadata(blob_path(dir, digest)).is_ok_and(|m| m.len() == size)
}

/// Copies `reader` into `DIR` as the blob `digest` (skipped when a blob of
/// that size is there); the bytes must hash to `digest` and count `size`.
pub fn put_blob(
    dir: &Path,
    digest: &Digest,
    size: u64,
    reader: &mut dyn Read,
) -> Result<(), LocalCacheError> {
    if has_blob(dir, digest, size) {
        return Ok(());
    }
    let path = blob_path(dir, digest);
    let tmp = temp_name(&path);
    let result = write_checked(&tmp, digest, size, reader).and_then(|()| {
        std::fs::rename(&tmp, &path).map_err(LocalCacheError::io("rename into place", &path))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_checked(
    tmp: &Path,
    digest: &Digest,
    size: u64,
    reader: &mut dyn Read,
) -> Result<(), LocalCacheError> {
    let file = File::create(tmp).map_err(LocalCacheError::io("create", tmp))?;
    let mut out = DigestWriter::new(file);
    std::io::copy(reader, &mut out).map_err(LocalCacheError::io("write", tmp))?;
    let (file, actual, written) = out.finish();
    if actual != *digest || written != size {
        return Err(LocalCacheError::Export {
            dir: tmp.parent().map(Path::to_path_buf).unwrap_or_default(),
            why: format!(
                "blob {digest}: read {written} bytes hashing to {actual}, expected {size}"
            ),
        });
    }
    file.sync_all().map_err(LocalCacheError::io("fsync", tmp))
}

/// Writes `bytes` as a blob of `DIR`; returns its digest and size.
pub fn put_bytes(dir: &Path, bytes: &[u8]) -> Result<(Digest, u64), LocalCacheError> {
    let digest = Digest::of(bytes);
    put_blob(dir, &digest, bytes.len() as u64, &mut &bytes[..])?;
    Ok((digest, bytes.len() as u64))
}

/// Replaces `path` with `bytes`: temp file, fsync, rename, fsync of the
/// directory.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), LocalCacheError> {
    let tmp = temp_name(path);
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(LocalCacheError::io("write", &tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(LocalCacheError::io("rename into place", path))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// A temp name next to `path`, unique to this process and thread.
fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    path.with_file_name(format!(
        ".{name}.tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}
