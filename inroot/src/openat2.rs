//! The `openat2(2)` system call in its two resolution modes (the only copy in
//! kiln: every crate that opens a path named by input calls this one).

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `struct open_how` of `openat2(2)`.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// How many times [`openat2`] retries `EAGAIN`/`EINTR` before giving up.
pub const RETRIES: usize = 128;

/// How [`openat2`] resolves a path relative to its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// Below the directory, following no symlink at all (sources whose links
    /// are data, not directions).
    Beneath,
    /// As if the directory were `/`: symlinks are followed but never leave
    /// it, and `..` stops at it (chroot-style, BuildKit's rule).
    InRoot,
}

impl Resolve {
    fn bits(self) -> u64 {
        RESOLVE_NO_MAGICLINKS
            | match self {
                Resolve::Beneath => RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
                Resolve::InRoot => RESOLVE_IN_ROOT,
            }
    }
}

/// Opens `path` relative to the directory `dir` with open `flags` (and
/// `O_CLOEXEC`), resolved as `resolve` says; an empty path opens `dir` itself.
/// `EAGAIN` (a concurrent rename during resolution) and `EINTR` are retried,
/// a bounded number of times ([`RETRIES`]), so a process renaming in a loop
/// cannot keep kiln spinning.
///
/// # Errors
///
/// The system error: `ENOENT` when the path does not exist inside the root,
/// `ELOOP`/`EXDEV` when [`Resolve::Beneath`] meets a symlink or `..` that
/// leaves, `ENOSYS` on kernels before 5.6.
pub fn openat2(
    dir: RawFd,
    path: &str,
    flags: libc::c_int,
    resolve: Resolve,
) -> io::Result<OwnedFd> {
    let path = if path.is_empty() { "." } else { path };
    let c = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: resolve.bits(),
    };
    for _ in 0..RETRIES {
        // SAFETY: valid NUL-terminated path, `open_how` of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: a fresh descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let err = io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::EINTR)) {
            return Err(err);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}
