//! [`tree_listing`]: a tree as comparable text.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// One line per entry below `dir` (the root itself excluded), sorted by path:
/// `<path> <type> <mode> <uid>:<gid>` then, for files, `<size> sha256:<hex>`, for
/// symlinks `-> <target>`, for devices `<major>,<minor>`. Directory sizes and all
/// times are left out, so trees unpacked by different tools compare equal.
pub fn tree_listing(dir: &Path) -> Result<String> {
    let mut lines = Vec::new();
    walk(dir, Path::new(""), &mut lines)?;
    lines.sort();
    Ok(lines.concat())
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) -> Result<()> {
    let dir = root.join(rel);
    for entry in fs::read_dir(&dir).map_err(Error::io("read directory", &dir))? {
        let entry = entry.map_err(Error::io("read directory", &dir))?;
        let rel = rel.join(entry.file_name());
        let path = root.join(&rel);
        let md = fs::symlink_metadata(&path).map_err(Error::io("inspect", &path))?;
        out.push(line(&rel, &path, &md)?);
        if md.is_dir() {
            walk(root, &rel, out)?;
        }
    }
    Ok(())
}

fn line(rel: &Path, path: &Path, md: &fs::Metadata) -> Result<String> {
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_symlink() {
        "symlink"
    } else if md.mode() & libc::S_IFMT == libc::S_IFCHR {
        "char"
    } else if md.mode() & libc::S_IFMT == libc::S_IFBLK {
        "block"
    } else if md.mode() & libc::S_IFMT == libc::S_IFIFO {
        "fifo"
    } else {
        "socket"
    };
    let mut s = format!(
        "{} {kind} {:04o} {}:{}",
        rel.display(),
        md.mode() & 0o7777,
        md.uid(),
        md.gid()
    );
    if ft.is_file() {
        let mut hasher = Sha256::new();
        let mut file = File::open(path).map_err(Error::io("open", path))?;
        io::copy(&mut file, &mut hasher).map_err(Error::io("read", path))?;
        let _ = write!(s, " {} sha256:{}", md.len(), hex::encode(hasher.finalize()));
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(Error::io("read link", path))?;
        let _ = write!(s, " -> {}", target.display());
    } else if matches!(kind, "char" | "block") {
        let rdev = md.rdev();
        let _ = write!(s, " {},{}", libc::major(rdev), libc::minor(rdev));
    }
    s.push('\n');
    Ok(s)
}
