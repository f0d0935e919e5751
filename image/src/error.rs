//! [`ImageError`]: every failure of this crate, with the input, path, digest or
//! reference it happened on, so a caller can print it without adding context.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

/// Result alias used throughout `kiln-image`.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// Everything that can go wrong in `kiln-image`.
///
/// Parse errors name the input and what is wrong with it; storage errors name
/// the file or blob they failed on and keep the underlying cause as `source`.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A digest string is not `sha256:<64 lowercase hex>`.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// The text that failed to parse.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A platform string is not `os[/arch[/variant]]`.
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform {
        /// The text that failed to parse.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An image reference does not follow the distribution reference grammar.
    #[error("invalid reference {input:?}: {reason}")]
    InvalidReference {
        /// The text that failed to parse.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Content did not hash to the digest the caller expected; nothing was stored.
    #[error("digest mismatch: expected {expected}, got {actual} ({size} bytes)")]
    DigestMismatch {
        /// The digest the caller announced.
        expected: Digest,
        /// The digest of the bytes actually read.
        actual: Digest,
        /// How many bytes were read.
        size: u64,
    },

    /// No blob with this digest is in the content store.
    #[error("blob {digest} not found in the content store")]
    BlobNotFound {
        /// The missing blob.
        digest: Digest,
    },

    /// A stored blob no longer hashes to its name (disk corruption or tampering).
    #[error("blob {digest} is corrupt: its content hashes to {actual}")]
    BlobCorrupt {
        /// The blob's name.
        digest: Digest,
        /// What its bytes hash to now.
        actual: Digest,
    },

    /// A JSON blob in the content store could not be decoded.
    #[error("blob {digest} is not the expected JSON document")]
    BlobJson {
        /// The blob that failed to decode.
        digest: Digest,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },

    /// A JSON state file (such as `images.json`) could not be decoded or encoded.
    #[error("{path}: invalid JSON state file")]
    StateJson {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },

    /// A state file was written by a newer (or unknown) kiln format version.
    #[error("{path}: unsupported format version {version}")]
    UnsupportedStateVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },

    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        /// What was being done, e.g. "create", "rename", "fsync".
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// An image index has no manifest for the platform asked for.
    #[error("image {image} has no manifest for {platform}")]
    NoPlatformManifest {
        /// The index (as stored in the image index).
        image: Digest,
        /// The platform, `os/arch[/variant]`.
        platform: String,
    },

    /// No image in the index has this name, ID or ID prefix.
    #[error("No such image: {name}")]
    NoSuchImage {
        /// The argument as given.
        name: String,
    },

    /// An image ID prefix matches images with different IDs.
    #[error("ambiguous image ID prefix {prefix:?}: matches {count} images")]
    AmbiguousImageId {
        /// The prefix as given.
        prefix: String,
        /// How many image IDs it matches.
        count: usize,
    },

    /// `run`/`create` named an image that is not stored here (Docker would pull).
    #[error("Unable to find image '{reference}' locally (kiln does not pull from registries yet)")]
    NotFoundLocally {
        /// The reference, normalised when it parses.
        reference: String,
    },

    /// Reading the caller's stream failed while ingesting into the given temp file.
    #[error("reading content to ingest into {path}")]
    IngestRead {
        /// The temporary ingest file (removed again).
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
}

impl ImageError {
    /// Builds an [`ImageError::Io`]; used as `.map_err(io_err("open", &path))`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ImageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Returns a closure turning an `io::Error` into [`ImageError::Io`] for `path`.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> ImageError {
    let path = path.into();
    move |source| ImageError::io(op, path, source)
}
