//! Faithful tree copy for the native snapshotter: file contents, modes (including
//! setuid/setgid/sticky), ownership, symlinks, hard links (within the tree), device
//! nodes, FIFOs and sockets, extended attributes where the destination accepts
//! them, and access/modification times (directories' after their children).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{sys, Error, Result};

/// Copies the tree at `from` to `to`, which must not exist yet.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut copier = Copier {
        links: HashMap::new(),
    };
    copier.entry(from, to)
}

struct Copier {
    /// First destination of each multiply-linked source inode, by (dev, ino).
    links: HashMap<(u64, u64), PathBuf>,
}

impl Copier {
    fn entry(&mut self, from: &Path, to: &Path) -> Result<()> {
        let err = |source| Error::Copy {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        };
        let md = fs::symlink_metadata(from).map_err(err)?;
        let ft = md.file_type();
        if !ft.is_dir() && md.nlink() > 1 {
            if let Some(first) = self.links.get(&(md.dev(), md.ino())) {
                return fs::hard_link(first, to).map_err(err);
            }
            self.links.insert((md.dev(), md.ino()), to.to_path_buf());
        }
        if ft.is_dir() {
            fs::create_dir(to).map_err(err)?;
            self.children(from, to)?;
        } else if ft.is_file() {
            copy_contents(from, to).map_err(err)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(from).map_err(err)?;
            std::os::unix::fs::symlink(target, to).map_err(err)?;
        } else {
            sys::mknod(to, md.mode(), md.rdev()).map_err(err)?;
        }
        copy_attributes(from, to, &md).map_err(err)
    }

    fn children(&mut self, from: &Path, to: &Path) -> Result<()> {
        let err = |source| Error::Copy {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(from).map_err(err)? {
            names.push(entry.map_err(err)?.file_name());
        }
        names.sort(); // deterministic hard-link choice and error order
        for name in names {
            self.entry(&from.join(&name), &to.join(&name))?;
        }
        Ok(())
    }
}

/// Copies a regular file's bytes (std uses `copy_file_range` where it can).
fn copy_contents(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)?;
    io::copy(&mut src, &mut dst)?;
    Ok(())
}

/// Owner, then mode (chown clears setuid bits), then xattrs (chown clears file
/// capabilities), then times (last, since the others change nothing they record).
fn copy_attributes(from: &Path, to: &Path, md: &fs::Metadata) -> io::Result<()> {
    sys::lchown(to, md.uid(), md.gid())?;
    if !md.file_type().is_symlink() {
        fs::set_permissions(to, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    copy_xattrs(from, to)?;
    sys::set_times(to, md)
}

/// Copies every extended attribute the destination accepts; those it refuses
/// (unsupported namespaces, `user.*` on symlinks, ...) are skipped.
fn copy_xattrs(from: &Path, to: &Path) -> io::Result<()> {
    for name in sys::list_xattrs(from)? {
        let value = match sys::get_xattr(from, &name) {
            Ok(value) => value,
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
            Err(e) => return Err(e),
        };
        if let Err(e) = sys::set_xattr(to, &name, &value) {
            match e.raw_os_error() {
                Some(libc::ENOTSUP) | Some(libc::EPERM) | Some(libc::EACCES) => {}
                _ => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn copies_modes_links_symlinks_fifos_xattrs_and_times() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("file"), b"hello").unwrap();
        sys::lchown(&src.join("file"), 1234, 5678).unwrap();
        fs::set_permissions(src.join("file"), fs::Permissions::from_mode(0o4751)).unwrap();
        fs::hard_link(src.join("file"), src.join("link")).unwrap();
        symlink("file", src.join("sym")).unwrap();
        sys::mknod(&src.join("fifo"), libc::S_IFIFO | 0o640, 0).unwrap();
        sys::mknod(
            &src.join("null"),
            libc::S_IFCHR | 0o666,
            libc::makedev(1, 3),
        )
        .unwrap();
        let name = std::ffi::CString::new("user.kiln").unwrap();
        sys::set_xattr(&src.join("file"), &name, b"v").unwrap();
        fs::create_dir(src.join("dir")).unwrap();
        let old = fs::symlink_metadata(&src).unwrap();

        let dst = tmp.path().join("dst");
        copy_tree(&src, &dst).unwrap();

        let file = fs::symlink_metadata(dst.join("file")).unwrap();
        assert_eq!(fs::read(dst.join("file")).unwrap(), b"hello");
        assert_eq!(file.mode() & 0o7777, 0o4751);
        assert_eq!((file.uid(), file.gid()), (1234, 5678));
        assert_eq!(
            fs::symlink_metadata(dst.join("link")).unwrap().ino(),
            file.ino()
        );
        assert_eq!(fs::read_link(dst.join("sym")).unwrap(), Path::new("file"));
        let fifo = fs::symlink_metadata(dst.join("fifo")).unwrap();
        assert_eq!(fifo.mode(), libc::S_IFIFO | 0o640);
        let null = fs::symlink_metadata(dst.join("null")).unwrap();
        assert_eq!(
            (null.mode() & libc::S_IFMT, null.rdev()),
            (libc::S_IFCHR, libc::makedev(1, 3))
        );
        assert_eq!(sys::get_xattr(&dst.join("file"), &name).unwrap(), b"v");
        let root = fs::symlink_metadata(&dst).unwrap();
        assert_eq!(
            (root.mtime(), root.mtime_nsec()),
            (old.mtime(), old.mtime_nsec())
        );
    }

    #[test]
    fn errors_name_the_failing_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let err = copy_tree(&tmp.path().join("missing"), &tmp.path().join("d")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
