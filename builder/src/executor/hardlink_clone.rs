//! Cloning a directory tree with hard links: the start of a COPY rebuilt
//! from its previous build (see `rebase`).
//!
//! Directories are made afresh, with the owner, mode, xattrs (overlayfs's
//! opaque marker included) and times of the originals; everything else
//! (files, symlinks, device nodes, overlayfs whiteouts) is hard-linked, so
//! the clone costs one `linkat` per entry and no data. The directories are
//! made first, walking the tree on the calling thread; the links are then
//! made by [`CLONE_THREADS`] threads, a directory at a time; attributes and
//! times come last, innermost directory first (making entries changes a
//! directory's times). Paths must be UTF-8 (the build context's are).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::file::sys::{self, Resolve};

/// Threads making hard links while cloning a tree.
const CLONE_THREADS: usize = 2;

/// Clones the tree `from` into the empty directory `to` (see the module docs).
pub fn clone_tree(from: &Path, to: &Path) -> io::Result<()> {
    let mut dirs = Vec::new();
    collect_dirs(from, to, PathBuf::new(), &mut dirs)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let link_all = || -> io::Result<()> {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(dir) = dirs.get(i) else {
                return Ok(());
            };
            link_files(from, to, dir)?;
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..CLONE_THREADS).map(|_| scope.spawn(link_all)).collect();
        let mut result = link_all();
        for helper in helpers {
            let joined = helper
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("clone thread panicked")));
            result = result.and(joined);
        }
        result
    })?;
    let (src, dst) = (sys::open_root(from)?, sys::open_root(to)?);
    for dir in dirs.iter().rev() {
        copy_dir_attrs(&src, &dst, utf8(&dir.rel)?)?;
    }
    Ok(())
}

/// One directory of a tree being cloned: its path below the root and the
/// names of its non-directory entries.
struct CloneDir {
    rel: PathBuf,
    others: Vec<std::ffi::OsString>,
}

fn utf8(path: &Path) -> io::Result<&str> {
    path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not UTF-8", path.display()),
        )
    })
}

/// Creates every directory of `from` below `to` (parents first) and lists
/// what each holds, depth first in listing order. A loop over an explicit
/// stack: a tree thousands of directories deep must not overflow a worker
/// thread's stack.
fn collect_dirs(from: &Path, to: &Path, rel: PathBuf, dirs: &mut Vec<CloneDir>) -> io::Result<()> {
    let mut stack = vec![rel];
    while let Some(rel) = stack.pop() {
        let mut others = Vec::new();
        let mut subdirs = Vec::new();
        for entry in std::fs::read_dir(from.join(&rel))? {
            let entry = entry?;
            // The type comes from the directory listing (no stat per entry).
            if entry.file_type()?.is_dir() {
                subdirs.push(entry.file_name());
            } else {
                others.push(entry.file_name());
            }
        }
        for name in subdirs.iter().rev() {
            let child = rel.join(name);
            stack.push(child);
        }
        for name in &subdirs {
            std::fs::create_dir(to.join(rel.join(name)))?;
        }
        dirs.push(CloneDir { rel, others });
    }
    Ok(())
}

/// Hard-links the non-directory entries of one directory (a symlink is
/// linked itself, never followed).
fn link_files(from: &Path, to: &Path, dir: &CloneDir) -> io::Result<()> {
    if dir.others.is_empty() {
        return Ok(());
    }
    let src = sys::open_root(&from.join(&dir.rel))?;
    let dst = sys::open_root(&to.join(&dir.rel))?;
    for name in &dir.others {
        let name = utf8(Path::new(name))?;
        sys::link_at(src.as_raw_fd(), name, dst.as_raw_fd(), name)?;
    }
    Ok(())
}

/// Owner, mode, xattrs and times of directory `rel` below `src` onto `rel`
/// below `dst` (`""`: the roots themselves).
fn copy_dir_attrs(src: &OwnedFd, dst: &OwnedFd, rel: &str) -> io::Result<()> {
    let rel = if rel.is_empty() { "." } else { rel };
    let st = sys::lstat_at(src.as_raw_fd(), rel)?
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
    let d = dst.as_raw_fd();
    sys::chown_at(d, rel, st.st_uid, st.st_gid)?;
    sys::chmod_at(d, rel, st.st_mode & 0o7777)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let from = sys::open(src.as_raw_fd(), rel, flags, Resolve::Beneath)?;
    let onto = sys::open(d, rel, flags, Resolve::Beneath)?;
    copy_xattrs(from.as_fd(), onto.as_fd())?;
    let atime = (st.st_atime, st.st_atime_nsec);
    let mtime = (st.st_mtime, st.st_mtime_nsec);
    sys::utimes_at(d, rel, atime, mtime)
}

/// Every xattr of `src` onto `dst`.
fn copy_xattrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    for name in list_xattrs(src)? {
        let value = get_xattr(src, &name)?;
        // SAFETY: valid descriptor, C string and a buffer of the given length.
        let rc = unsafe {
            libc::fsetxattr(
                dst.as_raw_fd(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn list_xattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            break;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            _ => return Err(e),
        }
    }
    Ok(buf
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

fn get_xattr(fd: BorrowedFd<'_>, name: &CString) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe {
            libc::fgetxattr(
                fd.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) || buf.len() > 1 << 20 {
            return Err(e);
        }
        buf.resize(buf.len() * 4, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::clone_tree;

    /// A tree 1000 directories deep clones on a thread with a 128 KiB
    /// stack (the walk is a loop, not a recursion).
    #[test]
    fn deep_trees_clone_on_a_small_stack() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
        let deep = "d/".repeat(1000);
        std::fs::create_dir_all(from.join(&deep)).unwrap();
        std::fs::write(from.join(format!("{deep}f")), "bottom").unwrap();
        std::fs::create_dir(&to).unwrap();
        let (f, t) = (from.clone(), to.clone());
        std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || clone_tree(&f, &t))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        let copied = std::fs::read_to_string(to.join(format!("{deep}f"))).unwrap();
        assert_eq!(copied, "bottom");
    }
}
