//! [`FileLock`]: an exclusive `flock(2)` on a lock file, released on drop.
//!
//! `flock` locks belong to the open file description, so two threads of one
//! process that each open the lock file exclude each other just like two
//! processes do. The lock disappears with the process, so a crash never leaves
//! a stale lock behind (unlike lock files that exist-means-locked).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{ImageError, Result};

/// An exclusive lock on a file; held until dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Opens (creating if needed) `path` and blocks until the exclusive lock is held.
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| ImageError::io("open lock file", path, e))?;
        loop {
            // SAFETY: flock on a valid, owned file descriptor has no memory effects.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(ImageError::io("lock", path, err));
            }
        }
        Ok(FileLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock anyway; unlocking first makes
        // the release independent of any duplicated descriptors.
        // SAFETY: as above.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}
