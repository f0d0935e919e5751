//! Descriptor-relative system calls for COPY/ADD: `openat2` (kiln-inroot's) in its two
//! resolution modes (beneath a source root without following any symlink, and
//! inside a destination root as in a chroot), and the `*at` calls that create
//! and adjust one name inside an open directory.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

fn cstring(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// How `openat2` resolves a path: kiln-inroot's two modes (the one copy of
/// `openat2` in kiln).
pub(crate) use kiln_inroot::Resolve;

/// Opens `path` below `dir` with `flags` (see [`Resolve`]).
pub(crate) fn open(
    dir: RawFd,
    path: &str,
    flags: libc::c_int,
    resolve: Resolve,
) -> io::Result<OwnedFd> {
    kiln_inroot::openat2(dir, path, flags, resolve)
}

/// Opens a directory by absolute host path (the roots the caller names).
pub(crate) fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: valid NUL-terminated path.
    let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat` of a descriptor (an `O_PATH` one included).
pub(crate) fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointer; filled on success.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded.
    Ok(unsafe { st.assume_init() })
}

/// `lstat` of `name` inside `dir`; `None` when it does not exist.
pub(crate) fn lstat_at(dir: RawFd, name: &str) -> io::Result<Option<libc::stat>> {
    let c = cstring(name)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointers; filled on success.
    let rc = unsafe { libc::fstatat(dir, c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOENT) => Ok(None),
            _ => Err(err),
        };
    }
    // SAFETY: fstatat succeeded.
    Ok(Some(unsafe { st.assume_init() }))
}

/// The target of a symlink opened with `O_PATH|O_NOFOLLOW`.
pub(crate) fn readlink_fd(fd: RawFd) -> io::Result<String> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: empty path on an O_PATH descriptor reads the link itself.
    let n = unsafe { libc::readlinkat(fd, c"".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    String::from_utf8(buf)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "symlink target is not UTF-8"))
}

/// The names in directory `fd`, without `.` and `..`, sorted byte-wise;
/// a name that is not UTF-8 is an error.
pub(crate) fn read_dir(fd: RawFd) -> io::Result<Vec<String>> {
    crate::context::fs::read_dir_names(fd)?
        .into_iter()
        .map(|name| {
            String::from_utf8(name)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "name is not UTF-8"))
        })
        .collect()
}

/// `mkdirat(dir, name, mode)`; `Ok(false)` when it already exists.
pub(crate) fn mkdir_at(dir: RawFd, name: &str, mode: u32) -> io::Result<bool> {
    let c = cstring(name)?;
    // SAFETY: valid dirfd and name.
    let rc = unsafe { libc::mkdirat(dir, c.as_ptr(), mode as libc::mode_t) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::EEXIST) {
            Ok(false)
        } else {
            Err(err)
        };
    }
    Ok(true)
}

/// Creates the new regular file `name` in `dir` for writing (never follows).
pub(crate) fn create_at(dir: RawFd, name: &str) -> io::Result<std::fs::File> {
    let c = cstring(name)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid dirfd and name.
    let fd = check(unsafe { libc::openat(dir, c.as_ptr(), flags, 0o600 as libc::c_uint) })?;
    // SAFETY: fresh descriptor.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `symlinkat(target, dir, name)`.
pub(crate) fn symlink_at(target: &str, dir: RawFd, name: &str) -> io::Result<()> {
    let (t, n) = (cstring(target)?, cstring(name)?);
    // SAFETY: valid strings and dirfd.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir, n.as_ptr()) }).map(drop)
}

/// `linkat(from_dir, from, dir, name)` (no symlink following).
pub(crate) fn link_at(from_dir: RawFd, from: &str, dir: RawFd, name: &str) -> io::Result<()> {
    let (f, n) = (cstring(from)?, cstring(name)?);
    // SAFETY: valid strings and dirfds.
    check(unsafe { libc::linkat(from_dir, f.as_ptr(), dir, n.as_ptr(), 0) }).map(drop)
}

/// `mknodat(dir, name, mode, rdev)` for fifos and device nodes.
pub(crate) fn mknod_at(dir: RawFd, name: &str, mode: u32, rdev: u64) -> io::Result<()> {
    let c = cstring(name)?;
    // SAFETY: valid dirfd and name.
    check(unsafe { libc::mknodat(dir, c.as_ptr(), mode as libc::mode_t, rdev as libc::dev_t) })
        .map(drop)
}

/// Removes the non-directory `name` in `dir`, or the directory when `dir_too`.
pub(crate) fn unlink_at(dir: RawFd, name: &str, is_dir: bool) -> io::Result<()> {
    let c = cstring(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid dirfd and name.
    check(unsafe { libc::unlinkat(dir, c.as_ptr(), flags) }).map(drop)
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn chown_at(dir: RawFd, name: &str, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstring(name)?;
    // SAFETY: valid dirfd and name.
    check(unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

/// `fchmodat(dir, name, mode)` (never called on symlinks).
pub(crate) fn chmod_at(dir: RawFd, name: &str, mode: u32) -> io::Result<()> {
    let c = cstring(name)?;
    // SAFETY: valid dirfd and name.
    check(unsafe { libc::fchmodat(dir, c.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
}

/// A timestamp: seconds and nanoseconds since the epoch.
pub(crate) type Time = (i64, i64);

/// Sets atime and mtime of `name` in `dir` without following it.
pub(crate) fn utimes_at(dir: RawFd, name: &str, atime: Time, mtime: Time) -> io::Result<()> {
    let c = cstring(name)?;
    let ts = [
        libc::timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        libc::timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    ];
    // SAFETY: valid dirfd, name and two timespecs.
    check(unsafe { libc::utimensat(dir, c.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

/// The current time.
pub(crate) fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, i64::from(d.subsec_nanos()))
}
