//! The extraction side: one layer tar applied onto a directory, entry by entry,
//! with whiteouts, and every path kept inside the target (see `safe`).

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::safe::{entry_err, normalize, refuse, resolve_dir};
use super::{OPAQUE, WHITEOUT_PREFIX};
use crate::{sys, Result};

/// Ownership, mode, mtime and xattrs of one entry, PAX overrides applied.
struct Attrs {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    xattrs: Vec<(CString, Vec<u8>)>,
}

/// State of one `apply` call.
pub(crate) struct Applier<'a> {
    pub(crate) root: &'a Path,
    /// Normalised paths this layer created (opaque markers keep these).
    pub(crate) added: HashSet<PathBuf>,
    /// Directories whose mtime is set after all entries: (disk path, mtime).
    pub(crate) dir_times: Vec<(PathBuf, i64)>,
}

impl Applier<'_> {
    /// Applies one tar entry.
    pub(crate) fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry
            .path()
            .map_err(|e| crate::Error::LayerStream {
                op: "read entry name",
                source: e,
            })?
            .into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            return Ok(());
        }
        let rel = normalize(&raw)?;
        let Some(name) = rel.file_name().map(OsStr::to_os_string) else {
            return self.root_entry(entry, &raw);
        };
        if name.as_bytes().starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(&rel, &name, &raw);
        }
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let parent = resolve_dir(self.root, parent_rel, &raw, true)?.unwrap_or_default();
        let path = parent.join(&name);
        let attrs = read_attrs(entry, &raw)?;
        self.clear_way(&path, kind, &raw)?;
        self.create(entry, kind, &path, &attrs, &raw)?;
        match kind {
            // The linked inode already has its owner, mode, xattrs and times.
            tar::EntryType::Link => {}
            tar::EntryType::Directory => {
                set_attrs(&path, kind, &attrs, &raw)?;
                self.dir_times.push((path, attrs.mtime));
            }
            _ => {
                set_attrs(&path, kind, &attrs, &raw)?;
                set_mtime(&path, attrs.mtime).map_err(entry_err(&raw, "set mtime"))?;
            }
        }
        self.added.insert(rel);
        Ok(())
    }

    /// Sets directory mtimes, last, so creating children does not disturb them.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for (path, mtime) in self.dir_times.drain(..).rev() {
            match set_mtime(&path, mtime) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(entry_err(&path, "set mtime")(e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `./` itself: only a directory, whose attributes go on the target root.
    fn root_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, raw: &Path) -> Result<()> {
        if entry.header().entry_type() != tar::EntryType::Directory {
            return Err(refuse(raw, "the root of the layer must be a directory"));
        }
        let attrs = read_attrs(entry, raw)?;
        set_attrs(self.root, tar::EntryType::Directory, &attrs, raw)?;
        self.dir_times.push((self.root.to_path_buf(), attrs.mtime));
        Ok(())
    }

    /// `.wh..wh..opq` clears the directory of what lower layers put there;
    /// `.wh.<name>` removes `<name>`. Missing targets are fine.
    fn whiteout(&mut self, rel: &Path, name: &OsStr, raw: &Path) -> Result<()> {
        let dir_rel = rel.parent().unwrap_or(Path::new(""));
        let Some(dir) = resolve_dir(self.root, dir_rel, raw, false)? else {
            return Ok(());
        };
        if name == OPAQUE {
            for child in fs::read_dir(&dir).map_err(entry_err(raw, "read directory"))? {
                let child = child.map_err(entry_err(raw, "read directory"))?.file_name();
                if !self.added.contains(&dir_rel.join(&child)) {
                    remove_any(&dir.join(&child)).map_err(entry_err(raw, "remove"))?;
                }
            }
            return Ok(());
        }
        let target = &name.as_bytes()[WHITEOUT_PREFIX.len()..];
        if target.is_empty() || target == b"." || target == b".." {
            return Err(refuse(raw, "whiteout of `.`, `..` or nothing"));
        }
        let target = OsStr::from_bytes(target);
        if self.added.contains(&dir_rel.join(target)) {
            return Ok(());
        }
        match remove_any(&dir.join(target)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(entry_err(raw, "remove")(e)),
            _ => Ok(()),
        }
    }

    /// Removes whatever is at `path` unless it is a directory and so is the entry.
    fn clear_way(&self, path: &Path, kind: tar::EntryType, raw: &Path) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(md) if md.is_dir() && kind == tar::EntryType::Directory => Ok(()),
            Ok(_) => remove_any(path).map_err(entry_err(raw, "replace existing")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(entry_err(raw, "inspect existing")(e)),
        }
    }

    fn create<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        kind: tar::EntryType,
        path: &Path,
        attrs: &Attrs,
        raw: &Path,
    ) -> Result<()> {
        use tar::EntryType as T;
        let link_name = || -> Result<PathBuf> {
            match entry.link_name() {
                Ok(Some(target)) => Ok(target.into_owned()),
                _ => Err(refuse(raw, "link entry without a valid link name")),
            }
        };
        match kind {
            T::Regular | T::Continuous => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                    .open(path)
                    .map_err(entry_err(raw, "create file"))?;
                io::copy(entry, &mut file).map_err(entry_err(raw, "write file"))?;
                Ok(())
            }
            T::Directory if path.is_dir() => Ok(()),
            T::Directory => fs::create_dir(path).map_err(entry_err(raw, "create directory")),
            T::Symlink => std::os::unix::fs::symlink(link_name()?, path)
                .map_err(entry_err(raw, "create symlink")),
            T::Link => {
                let source = self.link_source(&link_name()?, raw)?;
                fs::hard_link(source, path).map_err(entry_err(raw, "create hard link"))
            }
            T::Char | T::Block | T::Fifo => make_node(entry.header(), kind, path, attrs, raw),
            _ => Err(refuse(raw, "unsupported tar entry type")),
        }
    }

    /// Where a hard link's target is: inside the target, existing, not a directory.
    fn link_source(&self, link: &Path, raw: &Path) -> Result<PathBuf> {
        let rel = normalize(link).map_err(|_| refuse(raw, "hard link target contains `..`"))?;
        let (Some(name), Some(dir_rel)) = (rel.file_name(), rel.parent()) else {
            return Err(refuse(raw, "hard link to the root"));
        };
        let dir = resolve_dir(self.root, dir_rel, raw, false)?;
        let source = dir.map(|d| d.join(name));
        match source.as_deref().map(fs::symlink_metadata) {
            Some(Ok(md)) if !md.is_dir() => Ok(source.unwrap_or_default()),
            _ => Err(refuse(
                raw,
                "hard link target is missing from the target or a directory",
            )),
        }
    }
}

/// Removes a file, symlink, node or whole directory tree (never following symlinks).
fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn make_node(
    header: &tar::Header,
    kind: tar::EntryType,
    path: &Path,
    attrs: &Attrs,
    raw: &Path,
) -> Result<()> {
    let ifmt = match kind {
        tar::EntryType::Char => libc::S_IFCHR,
        tar::EntryType::Block => libc::S_IFBLK,
        _ => libc::S_IFIFO,
    };
    let num = |r: io::Result<Option<u32>>| {
        r.map(Option::unwrap_or_default)
            .map_err(entry_err(raw, "read device number"))
    };
    let rdev = if ifmt == libc::S_IFIFO {
        0
    } else {
        libc::makedev(num(header.device_major())?, num(header.device_minor())?)
    };
    sys::mknod(path, ifmt | (attrs.mode & 0o7777), rdev).map_err(entry_err(raw, "create node"))
}

/// Header fields with PAX `uid`, `gid` and `SCHILY.xattr.*` records applied.
fn read_attrs<R: Read>(entry: &mut tar::Entry<'_, R>, raw: &Path) -> Result<Attrs> {
    let h = entry.header();
    let field = |r: io::Result<u64>| r.map_err(entry_err(raw, "read header"));
    let mut attrs = Attrs {
        uid: field(h.uid())? as u32,
        gid: field(h.gid())? as u32,
        mode: field(h.mode().map(u64::from))? as u32,
        mtime: field(h.mtime())? as i64,
        xattrs: Vec::new(),
    };
    let Some(exts) = entry
        .pax_extensions()
        .map_err(entry_err(raw, "read PAX records"))?
    else {
        return Ok(attrs);
    };
    for ext in exts {
        let ext = ext.map_err(entry_err(raw, "read PAX records"))?;
        let Ok(key) = ext.key() else { continue };
        let number = || {
            std::str::from_utf8(ext.value_bytes())
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
        };
        match key {
            "uid" => attrs.uid = number().ok_or_else(|| refuse(raw, "bad PAX uid"))?,
            "gid" => attrs.gid = number().ok_or_else(|| refuse(raw, "bad PAX gid"))?,
            _ => {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    let name =
                        CString::new(name).map_err(|_| refuse(raw, "xattr name contains NUL"))?;
                    attrs.xattrs.push((name, ext.value_bytes().to_vec()));
                }
            }
        }
    }
    Ok(attrs)
}

/// Owner first (chown clears setuid), then mode (not for symlinks), then xattrs.
/// Xattrs a filesystem or a symlink cannot hold (`ENOTSUP`, `EPERM` on symlinks)
/// are skipped.
fn set_attrs(path: &Path, kind: tar::EntryType, attrs: &Attrs, raw: &Path) -> Result<()> {
    sys::lchown(path, attrs.uid, attrs.gid).map_err(entry_err(raw, "set owner"))?;
    let is_symlink = kind == tar::EntryType::Symlink;
    if !is_symlink {
        let perms = fs::Permissions::from_mode(attrs.mode & 0o7777);
        fs::set_permissions(path, perms).map_err(entry_err(raw, "set mode"))?;
    }
    for (name, value) in &attrs.xattrs {
        match sys::set_xattr(path, name, value) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            Err(e) if is_symlink && e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(entry_err(raw, "set xattr")(e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Sets access and modification time of `path` itself (never a symlink's target).
pub(crate) fn set_mtime(path: &Path, mtime: i64) -> io::Result<()> {
    let c = sys::cpath(path)?;
    let ts = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [ts, ts];
    // SAFETY: `c` is NUL-terminated and `times` has the two entries utimensat reads.
    let ret = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
