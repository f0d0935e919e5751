//! Mounting what a descriptor points at, so the resolved object — not a path
//! that could be swapped afterwards — is what gets mounted.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The `/proc/self/fd/N` path of a descriptor: a magic link the kernel
/// resolves to the very object the descriptor holds.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// What kind of mount point a source needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountTarget {
    /// The source is a directory: the mount point is a directory.
    Dir,
    /// Anything else (a file, a socket…): the mount point is an empty file.
    File,
}

impl MountTarget {
    /// The kind of mount point the object behind `fd` needs.
    ///
    /// # Errors
    ///
    /// `fstat` failing.
    pub fn of(fd: BorrowedFd<'_>) -> io::Result<MountTarget> {
        let file = File::from(fd.try_clone_to_owned()?);
        Ok(if file.metadata()?.is_dir() {
            MountTarget::Dir
        } else {
            MountTarget::File
        })
    }
}

/// Bind-mounts (recursively) the object behind `fd` on `target`, creating
/// `target` (a directory or an empty file, as the source needs). `target` is a
/// path kiln chose (a step's scratch folder), never one named by input.
///
/// # Errors
///
/// Creating the mount point or `mount(2)` failing.
pub fn bind_fd(fd: BorrowedFd<'_>, target: &Path) -> io::Result<()> {
    match MountTarget::of(fd)? {
        MountTarget::Dir => std::fs::create_dir_all(target)?,
        MountTarget::File => {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(target)?;
        }
    }
    let source = CString::new(fd_path(fd).as_os_str().as_bytes())?;
    let target_c = CString::new(target.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: valid NUL-terminated paths; no filesystem type or data.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target_c.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
