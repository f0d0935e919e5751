//! Descriptor-relative file operations inside a root filesystem.
//!
//! Everything here works on a directory descriptor and one plain name (no
//! `/`, no `..`), with `AT_SYMLINK_NOFOLLOW`/`O_NOFOLLOW`: a symlink in an
//! image is an object to look at or remove, never a path to follow. The only
//! host path ever resolved is the root filesystem's own directory, which kiln
//! made.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// What a name in a directory is (from `fstatat(AT_SYMLINK_NOFOLLOW)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing by that name.
    Missing,
    /// A directory.
    Dir,
    /// A regular file of this size.
    File(u64),
    /// A symbolic link.
    Symlink,
    /// A device, fifo or socket.
    Other,
}

fn cname(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Opens the root filesystem directory `path` (a kiln-made host path).
pub(crate) fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    open_dir_raw(libc::AT_FDCWD, &c)
}

fn open_dir_raw(dir: RawFd, name: &CString) -> io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: openat with a valid C string; the new descriptor is owned below.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens directory `name` in `dir`, refusing a symlink (`ELOOP`/`ENOTDIR`).
pub(crate) fn open_dir(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    open_dir_raw(dir.as_raw_fd(), &cname(name)?)
}

/// What `name` in `dir` is, without following a symlink.
pub(crate) fn lookup(dir: &OwnedFd, name: &str) -> io::Result<Found> {
    let c = cname(name)?;
    // SAFETY: an all-zero `stat` is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat on a valid descriptor and C string.
    let ret = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if ret < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOENT) => Ok(Found::Missing),
            _ => Err(err),
        };
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Found::Dir,
        libc::S_IFREG => Found::File(st.st_size as u64),
        libc::S_IFLNK => Found::Symlink,
        _ => Found::Other,
    })
}

/// The target of symlink `name` in `dir`.
pub(crate) fn read_link(dir: &OwnedFd, name: &str) -> io::Result<Vec<u8>> {
    let c = cname(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat into a buffer of the given length.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Makes directory `name` (mode 0755) in `dir`.
pub(crate) fn mkdir(dir: &OwnedFd, name: &str) -> io::Result<()> {
    let c = cname(name)?;
    // SAFETY: mkdirat on a valid descriptor and C string.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) })
}

/// Makes the empty regular file `name` (mode 0644) in `dir`; fails if
/// anything by that name exists (`O_EXCL` never follows a symlink).
pub(crate) fn create_file(dir: &OwnedFd, name: &str) -> io::Result<()> {
    let c = cname(name)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: openat on a valid descriptor and C string.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, 0o644) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is fresh and owned here; closing it is all we do.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// Makes symlink `name` -> `target` in `dir`.
pub(crate) fn symlink(dir: &OwnedFd, name: &str, target: &str) -> io::Result<()> {
    let (c, t) = (cname(name)?, cname(target)?);
    // SAFETY: symlinkat on a valid descriptor and C strings.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) })
}

/// Removes `name` from `dir`: a file or link, or an empty directory when
/// `is_dir`.
pub(crate) fn unlink(dir: &OwnedFd, name: &str, is_dir: bool) -> io::Result<()> {
    let c = cname(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: unlinkat on a valid descriptor and C string.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) })
}

/// Removes `name` from `dir` whatever it is, a directory with its contents
/// included (std's `remove_dir_all` opens each level with `O_NOFOLLOW`; the
/// `/proc/self/fd` link names `dir` itself, not a path in the image).
pub(crate) fn remove_all(dir: &OwnedFd, name: &str) -> io::Result<()> {
    match lookup(dir, name)? {
        Found::Missing => Ok(()),
        Found::Dir => std::fs::remove_dir_all(
            Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name),
        ),
        _ => unlink(dir, name, false),
    }
}

/// Renames `from` to `to`, both in `dir`, failing if `to` exists.
pub(crate) fn rename_noreplace(dir: &OwnedFd, from: &str, to: &str) -> io::Result<()> {
    let (f, t) = (cname(from)?, cname(to)?);
    // SAFETY: renameat2 on valid descriptors and C strings.
    check(unsafe {
        libc::renameat2(
            dir.as_raw_fd(),
            f.as_ptr(),
            dir.as_raw_fd(),
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    })
}
