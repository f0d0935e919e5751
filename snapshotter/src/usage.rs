//! Disk usage of a tree: allocated bytes and distinct inodes, hard links counted once.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::{Error, Result, Usage};

/// Walks `root` (without following symlinks) and sums what its inodes occupy.
pub(crate) fn measure(root: &Path) -> Result<Usage> {
    let mut seen = HashSet::new();
    let mut usage = Usage::default();
    walk(root, &mut seen, &mut usage)?;
    Ok(usage)
}

fn walk(path: &Path, seen: &mut HashSet<(u64, u64)>, usage: &mut Usage) -> Result<()> {
    let md = fs::symlink_metadata(path).map_err(Error::io("stat", path))?;
    if seen.insert((md.dev(), md.ino())) {
        usage.inodes += 1;
        usage.bytes += md.blocks() * 512;
    }
    if md.is_dir() {
        let entries = fs::read_dir(path).map_err(Error::io("read directory", path))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("read directory", path))?;
            walk(&entry.path(), seen, usage)?;
        }
    }
    Ok(())
}
