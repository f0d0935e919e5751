//! Small filesystem helpers shared by the stores: directory creation and
//! fsync with path-carrying errors, and crash-safe whole-file replacement.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{io_err, Result};

/// Creates `dir` and its parents if missing.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

/// fsyncs a directory so that renames and unlinks inside it are durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Replaces `path` with `bytes` crash-safely: write `tmp`, fsync, rename over
/// `path`, fsync the parent. A crash leaves either the old or the new file.
///
/// `tmp` must be in the same directory as `path`, and the caller must ensure
/// nobody else writes `tmp` at the same time (the image index holds its lock).
pub(crate) fn replace_file(path: &Path, tmp: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(io_err("create", tmp))?;
    file.write_all(bytes).map_err(io_err("write", tmp))?;
    file.sync_all().map_err(io_err("fsync", tmp))?;
    drop(file);
    fs::rename(tmp, path).map_err(io_err("rename into place", path))?;
    if let Some(parent) = path.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}
