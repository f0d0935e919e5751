//! The few system calls the copy needs, on descriptors: `open`/`openat`,
//! `fstatat`, `readlinkat`, `mkdirat`, `symlinkat`, `mknodat`, `unlinkat`,
//! owner/mode/times and bind mounts. Each wrapper checks the return value and
//! turns it into an [`io::Error`]; nothing here resolves a path of a tree.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::CopyError;

/// `bytes` as a C string; a NUL inside is [`CopyError::Nul`].
pub(crate) fn cstring(bytes: &[u8]) -> Result<CString, CopyError> {
    CString::new(bytes).map_err(|_| CopyError::Nul {
        path: format!("{:?}", OsStr::from_bytes(bytes)),
    })
}

/// A negative return code as the last OS error.
pub(crate) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Wraps a descriptor just returned by a call (or its error).
fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    check(fd)?;
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open(2)` of a host path the user named, resolved by the host.
pub(crate) fn open_host(path: &CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: a valid NUL-terminated path.
    owned(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) })
}

/// `open(2)` of a host path.
pub(crate) fn open_plain(path: &Path, flags: i32) -> io::Result<OwnedFd> {
    let path = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    open_host(&path, flags)
}

/// `openat(2)` of `name` in the directory `dir`.
pub(crate) fn openat(dir: &OwnedFd, name: &CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: openat with a name and a directory descriptor we own.
    owned(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) })
}

/// `openat(2)` creating `name` in `dir` with mode 0600 (flags as given).
pub(crate) fn openat_create(dir: &OwnedFd, name: &CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: openat with a name and a directory descriptor we own.
    owned(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, 0o600) })
}

/// Opens the very inode an `O_PATH` descriptor names, for reading.
pub(crate) fn reopen(fd: &OwnedFd, flags: i32) -> io::Result<OwnedFd> {
    open_plain(&fd_path(fd), flags)
}

/// `/proc/self/fd/N` of a descriptor.
pub(crate) fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: an empty C string, a descriptor we own and a stat we own.
    let rc = unsafe {
        libc::fstatat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            &mut st,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    check(rc)?;
    Ok(st)
}

/// The file type bits of a stat.
pub(crate) fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

/// The target of the symlink an `O_PATH` descriptor names.
pub(crate) fn readlink(fd: &OwnedFd) -> io::Result<CString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat on an O_PATH symlink descriptor with an empty name.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    CString::new(buf).map_err(io::Error::other)
}

/// `mkdirat(2)`.
pub(crate) fn mkdirat(dir: &OwnedFd, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: mkdirat with a name and a directory descriptor we own.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

/// `symlinkat(2)`: `name` in `dir` pointing at `target`.
pub(crate) fn symlinkat(target: &CStr, dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: C strings and a directory descriptor the caller owns.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) })
}

/// `mknodat(2)`.
pub(crate) fn mknodat(dir: RawFd, name: &CStr, st: &libc::stat) -> io::Result<()> {
    // SAFETY: mknodat with a name and a directory descriptor the caller owns.
    check(unsafe { libc::mknodat(dir, name.as_ptr(), st.st_mode, st.st_rdev) })
}

/// `unlinkat(2)` of a non-directory.
pub(crate) fn unlinkat(dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: unlinkat with a name and a directory descriptor the caller owns.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) })
}

/// `fchownat(2)`.
pub(crate) fn fchownat(
    fd: &OwnedFd,
    name: &CStr,
    uid: u32,
    gid: u32,
    flags: i32,
) -> io::Result<()> {
    // SAFETY: *at call on a descriptor and a name we own.
    check(unsafe { libc::fchownat(fd.as_raw_fd(), name.as_ptr(), uid, gid, flags) })
}

/// `chmod(2)` of a host path (the `/proc/self/fd/N` of an `O_PATH` descriptor).
pub(crate) fn chmod(path: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: a valid NUL-terminated path.
    check(unsafe { libc::chmod(path.as_ptr(), mode) })
}

/// `utimensat(2)`, best effort (the result is ignored, as Docker's).
pub(crate) fn utimensat(dir: RawFd, name: &CStr, times: &[libc::timespec; 2], flags: i32) {
    // SAFETY: a name, two timespecs and a descriptor the caller owns.
    let _ = unsafe { libc::utimensat(dir, name.as_ptr(), times.as_ptr(), flags) };
}

/// A recursive bind mount of `source` on `target`, made read-only unless `rw`.
pub(crate) fn bind(source: &CStr, target: &CStr, rw: bool) -> io::Result<()> {
    let null = std::ptr::null();
    // SAFETY: mount with C strings we own; the null pointers are optional args.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            null.cast(),
        )
    };
    check(rc)?;
    if !rw {
        let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
        // SAFETY: as above; best effort, as before.
        let _ = unsafe { libc::mount(null, target.as_ptr(), null, flags, null.cast()) };
    }
    Ok(())
}
