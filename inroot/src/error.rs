//! The crate's error: what was being done, to which path, in which root.

use std::io;
use std::path::PathBuf;

/// A failure resolving or using a path inside a root.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on `path` (inside `root`) failed.
    #[error("{what} {path:?} in {root}: {source}", root = root.display())]
    Io {
        /// What was attempted ("open", "read", "bind").
        what: &'static str,
        /// The root directory.
        root: PathBuf,
        /// The path as named by the input, relative to the root.
        path: String,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// A file read whole (a Dockerfile, an ignore file) is larger than allowed.
    #[error("{path:?} in {root}: larger than {limit} bytes", root = root.display())]
    TooLarge {
        /// The root directory.
        root: PathBuf,
        /// The path inside it.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The path names something of the wrong type (a directory for a file…).
    #[error("{path:?} in {root}: {why}", root = root.display())]
    WrongType {
        /// The root directory.
        root: PathBuf,
        /// The path inside it.
        path: String,
        /// What it is and what was wanted.
        why: &'static str,
    },
}

impl Error {
    /// The underlying system error code, if any (`ENOENT` for "not found").
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the path does not exist inside the root.
    pub fn is_not_found(&self) -> bool {
        self.raw_os_error() == Some(libc::ENOENT)
    }
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, Error>;
