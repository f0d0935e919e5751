//! Finding what a layer must contain: walking an overlay upper dir (whiteouts and
//! opaque dirs are overlayfs's own markers) or comparing two plain trees. Both
//! walks visit children in byte order of their names, depth first, so output is
//! deterministic and parents come before children.

use std::collections::BTreeSet;
use std::ffi::{CString, OsString};
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::write::{xattrs_pax, TarWriter};
use crate::{sys, Error, Result};

/// Names in `dir`, sorted bytewise.
fn sorted_children(dir: &Path) -> Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        names.push(entry.map_err(Error::io("read directory", dir))?.file_name());
    }
    names.sort();
    Ok(names)
}

/// `symlink_metadata`, with "does not exist" as `None`.
fn lstat(path: &Path) -> Result<Option<Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(md) => Ok(Some(md)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

/// Overlay upper dir -> layer entries. `lowers` (any order) are only consulted to
/// drop whiteouts of paths no lower layer has; with no lowers every whiteout is kept.
pub(crate) fn overlay<W: Write>(
    tw: &mut TarWriter<W>,
    upper: &Path,
    lowers: &[PathBuf],
) -> Result<()> {
    walk_overlay(tw, upper, lowers, Path::new(""))
}

/// Depth first over `upper` below `rel`, children in byte order, parents
/// before children. A loop over an explicit stack of directory listings: an
/// upper dir thousands of directories deep (a hostile RUN makes one in a
/// second) must not overflow the stack.
fn walk_overlay<W: Write>(
    tw: &mut TarWriter<W>,
    upper: &Path,
    lowers: &[PathBuf],
    rel: &Path,
) -> Result<()> {
    let top = sorted_children(&upper.join(rel))?.into_iter();
    let mut stack = vec![(rel.to_path_buf(), top)];
    while let Some((dir, names)) = stack.last_mut() {
        let Some(name) = names.next() else {
            stack.pop();
            continue;
        };
        let child = dir.join(&name);
        if let Some(below) = overlay_entry(tw, upper, lowers, &child)? {
            stack.push((child, below.into_iter()));
        }
    }
    Ok(())
}

/// Writes the entry `child` of the upper dir; for a directory to descend
/// into, returns its children.
fn overlay_entry<W: Write>(
    tw: &mut TarWriter<W>,
    upper: &Path,
    lowers: &[PathBuf],
    child: &Path,
) -> Result<Option<Vec<OsString>>> {
    let disk = upper.join(child);
    let md = fs::symlink_metadata(&disk).map_err(Error::io("inspect", &disk))?;
    if md.file_type().is_char_device() && md.rdev() == 0 {
        if lowers.is_empty() || in_any_lower(lowers, child)? {
            tw.whiteout(child)?;
        }
        return Ok(None);
    }
    let names = sys::list_xattrs(&disk).map_err(Error::io("list xattrs", &disk))?;
    let has = |name: &[u8]| names.iter().any(|n| n.as_bytes() == name);
    if has(b"trusted.overlay.redirect") || has(b"trusted.overlay.metacopy") {
        return Err(refused(&disk));
    }
    let opaque = md.is_dir() && has(b"trusted.overlay.opaque") && is_opaque(&disk)?;
    tw.add_inspected(child, &disk, &md, names)?;
    if !md.is_dir() {
        return Ok(None);
    }
    if opaque {
        tw.opaque(child)?;
    }
    sorted_children(&disk).map(Some)
}

fn in_any_lower(lowers: &[PathBuf], rel: &Path) -> Result<bool> {
    for lower in lowers {
        if lstat(&lower.join(rel))?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The value of overlayfs xattr `name` on `path` itself, `None` when unset.
fn overlay_xattr(path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let name = CString::new(name).unwrap_or_default();
    match sys::get_xattr(path, &name) {
        Ok(value) => Ok(Some(value)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODATA) | Some(libc::ENOTSUP)) => Ok(None),
        Err(e) => Err(Error::io("read xattr", path)(e)),
    }
}

/// Whether overlayfs marked the directory opaque (`trusted.overlay.opaque=y`).
fn is_opaque(dir: &Path) -> Result<bool> {
    Ok(overlay_xattr(dir, "trusted.overlay.opaque")?.is_some_and(|v| v == b"y"))
}

/// The xattrs of `path` as PAX records (overlayfs's own left out).
fn entry_xattrs(path: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let names = sys::list_xattrs(path).map_err(Error::io("list xattrs", path))?;
    xattrs_pax(path, names)
}

/// The refusal of an entry made by overlayfs's `redirect_dir` (renamed
/// directories) or `metacopy` (metadata-only copy-up), found by its xattrs:
/// their data lives in a lower layer, so a layer built from the upper dir
/// alone would lose it.
fn refused(path: &Path) -> Error {
    Error::UnusablePath {
        path: path.to_path_buf(),
        reason: "made by overlayfs redirect_dir or metacopy, which the differ \
                 cannot read; mount with redirect_dir=off,metacopy=off",
    }
}

/// Compares two plain trees (native snapshotter) and writes what changed.
pub(crate) struct TreeDiff<'a, W: Write> {
    pub(crate) tw: &'a mut TarWriter<W>,
    /// `None`: diff against an empty tree.
    pub(crate) lower: Option<&'a Path>,
    pub(crate) upper: &'a Path,
    /// Unchanged directories entered but not yet written: written (outermost
    /// first) as soon as something below them is, so parents precede children.
    pub(crate) pending: Vec<PathBuf>,
}

impl<W: Write> TreeDiff<'_, W> {
    /// Walks directory `rel`, present in `upper` (and maybe in `lower`).
    pub(crate) fn dir(&mut self, rel: &Path) -> Result<()> {
        let mut names: BTreeSet<OsString> = sorted_children(&self.upper.join(rel))?
            .into_iter()
            .collect();
        if let Some(lower) = self.lower {
            let lower_dir = lower.join(rel);
            if lstat(&lower_dir)?.is_some_and(|md| md.is_dir()) {
                names.extend(sorted_children(&lower_dir)?);
            }
        }
        for name in names {
            self.entry(&rel.join(name))?;
        }
        Ok(())
    }

    fn entry(&mut self, rel: &Path) -> Result<()> {
        let up_path = self.upper.join(rel);
        let Some(low_path) = self.lower.map(|l| l.join(rel)) else {
            return match lstat(&up_path)? {
                Some(up) => self.add_all(rel, &up),
                None => Ok(()),
            };
        };
        match (lstat(&low_path)?, lstat(&up_path)?) {
            (None, None) => Ok(()),
            (Some(_), None) => {
                self.flush_pending()?;
                self.tw.whiteout(rel)
            }
            (None, Some(up)) => self.add_all(rel, &up),
            (Some(low), Some(up)) if up.is_dir() && low.is_dir() => {
                if changed(&low, &up, &low_path, &up_path)? {
                    self.flush_pending()?;
                    self.tw.add(rel, &up_path)?;
                } else {
                    self.pending.push(rel.to_path_buf());
                }
                self.dir(rel)?;
                if self.pending.last().is_some_and(|p| p == rel) {
                    self.pending.pop();
                }
                Ok(())
            }
            (Some(_), Some(up)) if up.is_dir() => self.add_all(rel, &up),
            (Some(low), Some(up)) => {
                if changed(&low, &up, &low_path, &up_path)? {
                    self.flush_pending()?;
                    self.tw.add(rel, &up_path)?;
                }
                Ok(())
            }
        }
    }

    /// Writes `rel` and, for a directory, everything below it.
    fn add_all(&mut self, rel: &Path, md: &Metadata) -> Result<()> {
        self.flush_pending()?;
        let disk = self.upper.join(rel);
        self.tw.add(rel, &disk)?;
        if md.is_dir() {
            for name in sorted_children(&disk)? {
                let child = rel.join(name);
                let child_md = fs::symlink_metadata(self.upper.join(&child))
                    .map_err(Error::io("inspect", self.upper.join(&child)))?;
                self.add_all(&child, &child_md)?;
            }
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        for rel in std::mem::take(&mut self.pending) {
            self.tw.add(&rel, &self.upper.join(&rel))?;
        }
        Ok(())
    }
}

/// Whether `up` differs from `low`: type, mode, owner, size, mtime, device,
/// symlink target, xattrs; and for regular files whose mtime has no sub-second
/// part (a copy may have truncated it), the content.
fn changed(low: &Metadata, up: &Metadata, low_path: &Path, up_path: &Path) -> Result<bool> {
    let meta_differs = low.file_type() != up.file_type()
        || low.mode() != up.mode()
        || low.uid() != up.uid()
        || low.gid() != up.gid()
        || low.rdev() != up.rdev()
        || (!up.is_dir() && low.size() != up.size())
        || low.mtime() != up.mtime()
        || low.mtime_nsec() != up.mtime_nsec();
    if meta_differs || entry_xattrs(low_path)? != entry_xattrs(up_path)? {
        return Ok(true);
    }
    if up.file_type().is_symlink() {
        let read = |p: &Path| fs::read_link(p).map_err(Error::io("read link", p));
        return Ok(read(low_path)? != read(up_path)?);
    }
    if up.is_file() && up.mtime_nsec() == 0 {
        return contents_differ(low_path, up_path);
    }
    Ok(false)
}

/// Compares two files' bytes in fixed-size chunks.
fn contents_differ(a: &Path, b: &Path) -> Result<bool> {
    let open = |p: &Path| fs::File::open(p).map_err(Error::io("open", p));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(Error::io("read", a))?;
        let nb = read_full(&mut fb, &mut bb).map_err(Error::io("read", b))?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(true);
        }
        if na == 0 {
            return Ok(false);
        }
    }
}

/// Fills `buf` as far as the file allows; returns how much was read.
fn read_full(file: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
