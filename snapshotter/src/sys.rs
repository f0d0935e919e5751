//! Thin, safe wrappers over the few libc calls std does not offer: `flock`, owner,
//! times and device nodes of an entry itself (never following symlinks), extended
//! attributes, and crash-safe file replacement.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Converts a path to a C string (paths from the filesystem never contain NUL).
pub(crate) fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Turns a libc return value into an `io::Result`, reading `errno` on `-1`.
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Retries `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Takes a `flock` on `file`: exclusive or shared, blocking or not. The lock lives
/// as long as the open file description (closing the `File` releases it).
pub(crate) fn flock(file: &File, exclusive: bool, block: bool) -> io::Result<()> {
    let mut op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    if !block {
        op |= libc::LOCK_NB;
    }
    // SAFETY: the fd is valid for the lifetime of `file`.
    retry(|| check(unsafe { libc::flock(file.as_raw_fd(), op) }))
}

/// Opens a directory read-only, for locking or fsync.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

/// Flushes a directory's entries (after a rename or create inside it).
pub(crate) fn fsync_dir(path: &Path) -> io::Result<()> {
    open_dir(path)?.sync_all()
}

/// Replaces `path` with `data` so that a crash leaves either the old or the new
/// content: write `<path>.tmp`, fsync it, rename over `path`, fsync the directory.
/// The caller must hold a lock that makes it the only writer of `path`.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)?;
    file.write_all(data)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    fsync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Sets the owner of `path` itself (not a symlink's target).
pub(crate) fn lchown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    check(unsafe { libc::lchown(c.as_ptr(), uid, gid) })
}

/// Sets access and modification times of `path` itself, from `md`.
pub(crate) fn set_times(path: &Path, md: &fs::Metadata) -> io::Result<()> {
    let c = cpath(path)?;
    let times = [
        libc::timespec {
            tv_sec: md.atime() as libc::time_t,
            tv_nsec: md.atime_nsec() as _,
        },
        libc::timespec {
            tv_sec: md.mtime() as libc::time_t,
            tv_nsec: md.mtime_nsec() as _,
        },
    ];
    let flags = libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: `c` is NUL-terminated and `times` has the two entries utimensat reads.
    check(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), flags) })
}

/// Creates a device node, FIFO or socket with the given raw mode and device number.
pub(crate) fn mknod(path: &Path, mode: u32, rdev: u64) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    check(unsafe { libc::mknod(c.as_ptr(), mode as libc::mode_t, rdev as libc::dev_t) })
}

/// Lists the extended attribute names of `path` itself.
pub(crate) fn list_xattrs(path: &Path) -> io::Result<Vec<CString>> {
    let c = cpath(path)?;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            break;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            _ => return Err(err),
        }
    }
    Ok(buf
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .filter_map(|name| CString::new(name).ok())
        .collect())
}

/// Reads one extended attribute of `path` itself.
pub(crate) fn get_xattr(path: &Path, name: &CString) -> io::Result<Vec<u8>> {
    let c = cpath(path)?;
    let mut buf = vec![0u8; 256];
    loop {
        let (ptr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // SAFETY: `buf` is writable for `len` bytes; both strings are NUL-terminated.
        let n = unsafe { libc::lgetxattr(c.as_ptr(), name.as_ptr(), ptr, len) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
        buf.resize(buf.len() * 4, 0);
    }
}

/// Sets one extended attribute of `path` itself.
pub(crate) fn set_xattr(path: &Path, name: &CString, value: &[u8]) -> io::Result<()> {
    let c = cpath(path)?;
    let (ptr, len) = (value.as_ptr().cast(), value.len());
    // SAFETY: `value` is readable for `len` bytes; both strings are NUL-terminated.
    check(unsafe { libc::lsetxattr(c.as_ptr(), name.as_ptr(), ptr, len, 0) })
}
