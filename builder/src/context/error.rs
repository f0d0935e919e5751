//! [`ContextError`]: everything that can go wrong reading a build context.

use std::io;
use std::path::PathBuf;

use kiln_parser::dockerignore::DockerignoreError;

/// A failure to open, walk, select from or hash a build context.
///
/// Every variant names the path (or pattern) it failed on, so the message alone
/// tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A filesystem operation on a path of the context failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"open"`, `"read directory"`, ...).
        op: &'static str,
        /// The path, as the user would recognise it.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A file inside the context could not be read inside its root.
    #[error(transparent)]
    InRoot(#[from] kiln_inroot::Error),
    /// The context directory is not a directory.
    #[error("build context {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The ignore file has a bad line.
    #[error("{}", .source.display_in(&.path.display().to_string()))]
    Dockerignore {
        /// The ignore file that was read.
        path: PathBuf,
        /// The parser's error (with its line).
        #[source]
        source: DockerignoreError,
    },
    /// A name in the context is not UTF-8 (kiln keeps context paths as strings).
    #[error("build context path {0:?} is not valid UTF-8")]
    NonUtf8Path(PathBuf),
    /// A COPY/ADD source or `--exclude` pattern is malformed.
    #[error("invalid pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A COPY/ADD source without wildcards names nothing in the context.
    #[error("{0:?}: not found in the build context")]
    NotFound(String),
    /// A file kept changing while it was being hashed.
    #[error("{0}: the file kept changing while it was hashed")]
    Unstable(String),
}

impl ContextError {
    /// An [`ContextError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ContextError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = ContextError> = std::result::Result<T, E>;
