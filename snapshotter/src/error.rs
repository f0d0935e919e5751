//! The crate's error type: one enum whose variants name the key or path they failed on.

use std::io;
use std::path::PathBuf;

use crate::Kind;

/// Everything that can go wrong in `kiln-snapshotter`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No snapshot has this key (or name).
    #[error("snapshot `{key}` not found")]
    NotFound {
        /// The key that was looked up.
        key: String,
    },
    /// A snapshot with this key (or committed name) already exists. When committing,
    /// this usually means another build produced the same layer first.
    #[error("snapshot `{key}` already exists")]
    AlreadyExists {
        /// The key that is taken.
        key: String,
    },
    /// The operation needs an active (prepared or view) snapshot, or for `commit`
    /// a writable active one, and this one is not.
    #[error("snapshot `{key}` is {kind}, not a writable active snapshot")]
    NotActive {
        /// The snapshot's key.
        key: String,
        /// What it actually is.
        kind: Kind,
    },
    /// Only committed snapshots can be parents.
    #[error("parent `{parent}` of `{key}` is {kind}; only committed snapshots can be parents")]
    ParentNotCommitted {
        /// The snapshot being created.
        key: String,
        /// The requested parent.
        parent: String,
        /// What the parent actually is.
        kind: Kind,
    },
    /// A snapshot that other snapshots are built on cannot be removed.
    #[error("snapshot `{key}` has children ({}); remove them first", .children.join(", "))]
    HasChildren {
        /// The snapshot that was to be removed.
        key: String,
        /// The keys of its children.
        children: Vec<String>,
    },
    /// Keys must be non-empty.
    #[error("invalid snapshot key `{key}`: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A filesystem operation on the snapshotter's own state failed.
    #[error("{op} {}: {source}", .path.display())]
    Io {
        /// What was being done ("create directory", "read", ...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `metadata.json` could not be parsed or serialised.
    #[error("snapshot metadata {}: {source}", .path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Copying a tree (native snapshotter) failed at this path.
    #[error("copy {} -> {}: {source}", .from.display(), .to.display())]
    Copy {
        /// The source entry.
        from: PathBuf,
        /// The destination entry.
        to: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A path cannot be used (not UTF-8, or contains characters overlayfs options
    /// cannot carry).
    #[error("unusable path {}: {reason}", .path.display())]
    UnusablePath {
        /// The offending path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Mounting onto `target` failed.
    #[error("mount {kind} {source_path} on {}: {source}", .target.display())]
    Mount {
        /// The mount point.
        target: PathBuf,
        /// The mount type ("overlay", "bind").
        kind: String,
        /// The mount source.
        source_path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Unmounting `target` failed.
    #[error("unmount {}: {source}", .target.display())]
    Unmount {
        /// The mount point.
        target: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A layer entry was refused because applying it could write outside the
    /// target directory (or it is malformed); nothing was written for it.
    #[error("refused layer entry `{}`: {reason}", .entry.display())]
    UnsafeEntry {
        /// The entry's path as written in the tar.
        entry: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Writing (diff) or applying (apply) one layer entry failed.
    #[error("layer entry `{}`: {op}: {source}", .entry.display())]
    LayerEntry {
        /// The entry's path inside the layer.
        entry: PathBuf,
        /// What was being done ("write", "create file", ...).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading, decompressing or finishing the layer stream failed outside any entry.
    #[error("layer stream: {op}: {source}")]
    LayerStream {
        /// What was being done ("read entry header", "finish compression", ...).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done and where.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}
