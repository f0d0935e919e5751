//! Descriptor-relative filesystem calls that cannot leave the context root.
//!
//! Every access below the root goes through a directory descriptor and a single
//! name with `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`, or through `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (falling back to a component-by-
//! component `openat` walk on kernels without it). A symlink is therefore never
//! followed, and a directory swapped for a symlink mid-walk makes the call fail
//! rather than read outside the root.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::entry::Stat;

/// `O_*` flags for opening directories we walk.
const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

fn cstring(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Opens the context root itself (following symlinks: the user named it).
pub fn open_root(dir: &Path) -> io::Result<OwnedFd> {
    let c = cstring(dir.as_os_str().as_bytes())?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string; the fd returned is owned here.
    let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the directory `name` inside `dir`, refusing symlinks.
pub fn open_dir_at(dir: RawFd, name: &[u8]) -> io::Result<OwnedFd> {
    let c = cstring(name)?;
    // SAFETY: valid dirfd and NUL-terminated name; the fd returned is owned here.
    let fd = check(unsafe { libc::openat(dir, c.as_ptr(), DIR_FLAGS) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `lstat` of `name` inside `dir`.
pub fn stat_at(dir: RawFd, name: &[u8]) -> io::Result<Stat> {
    let c = cstring(name)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointers; the kernel fills `st` on success.
    check(unsafe { libc::fstatat(dir, c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) })?;
    // SAFETY: fstatat succeeded, so `st` is initialised.
    Ok(Stat::from_libc(unsafe { &st.assume_init() }))
}

/// `fstat` of an open descriptor.
pub fn stat_fd(fd: RawFd) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointer; the kernel fills `st` on success.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded.
    Ok(Stat::from_libc(unsafe { &st.assume_init() }))
}

/// The target of the symlink `name` inside `dir`, as stored (never resolved).
pub fn read_link_at(dir: RawFd, name: &[u8]) -> io::Result<Vec<u8>> {
    let c = cstring(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// The names in the directory `fd` (without `.` and `..`), sorted byte-wise.
/// `fd` stays open and owned by the caller.
pub fn read_dir_names(fd: RawFd) -> io::Result<Vec<Vec<u8>>> {
    // fdopendir takes ownership of the descriptor it is given: hand it a dup.
    // SAFETY: dup of a valid descriptor.
    let dup = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `dup` is a valid directory descriptor owned by the DIR from now on.
    let dirp = unsafe { libc::fdopendir(dup) };
    if dirp.is_null() {
        let err = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `dup` is still ours to close.
        unsafe { libc::close(dup) };
        return Err(err);
    }
    // The dup shares the file offset with `fd`: start from the beginning.
    // SAFETY: valid DIR pointer.
    unsafe { libc::rewinddir(dirp) };
    let mut names = Vec::new();
    let result = loop {
        // readdir signals errors only through errno.
        // SAFETY: errno location is thread-local and writable.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: valid DIR pointer; the returned dirent lives until the next call.
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            let err = io::Error::last_os_error();
            break if err.raw_os_error() == Some(0) {
                Ok(())
            } else {
                Err(err)
            };
        }
        // SAFETY: d_name is NUL-terminated within the dirent.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    };
    // SAFETY: closes the DIR and its (dup'ed) descriptor exactly once.
    unsafe { libc::closedir(dirp) };
    result?;
    names.sort_unstable();
    Ok(names)
}

/// Opens the regular file at context path `rel` for reading, beneath `root`,
/// following no symlink on the way (so it cannot reach outside the root).
pub fn open_file_beneath(root: RawFd, rel: &str) -> io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY;
    match kiln_inroot::openat2(root, rel, flags, kiln_inroot::Resolve::Beneath) {
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {
            open_by_components(root, rel, flags)
        }
        other => other,
    }
}

/// The fallback of [`open_file_beneath`]: one `openat(O_NOFOLLOW)` per component.
fn open_by_components(root: RawFd, rel: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    let mut held: Option<OwnedFd> = None;
    for part in parts {
        let at = held.as_ref().map_or(root, |fd| fd.as_raw_fd());
        held = Some(open_dir_at(at, OsStr::new(part).as_bytes())?);
    }
    let at = held.as_ref().map_or(root, |fd| fd.as_raw_fd());
    let c = cstring(last.as_bytes())?;
    // SAFETY: valid dirfd and name.
    let fd = check(unsafe { libc::openat(at, c.as_ptr(), flags) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
