//! [`ArchiveError`]: failures of archive import/export, each naming the
//! archive member (path inside the tar or layout directory) or image it failed on.
//!
//! Member names, references and reasons come from archives, which are hostile
//! input: every one is printed through [`escape`], so a control character
//! (an `ESC[2J` in a tar header, a newline in `manifest.json`) reaches the
//! terminal as `\u{1b}[2J` / `\n`, never raw, and the message stays one line.

use std::io;

use crate::digest::Digest;
use crate::error::ImageError;

/// Result alias of the archive module.
pub type ArchiveResult<T> = std::result::Result<T, ArchiveError>;

/// Everything that can go wrong reading or writing an image archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A content store, index or filesystem error (it names its own path/digest).
    #[error(transparent)]
    Image(#[from] ImageError),

    /// Reading the archive stream failed (truncated tar, bad gzip, I/O error).
    #[error("reading archive{}", at_member(.member))]
    Read {
        /// The member being read when it failed, if one was.
        member: Option<String>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Writing the archive stream failed.
    #[error("writing archive member {}", escape(.member))]
    Write {
        /// The member being written.
        member: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A member the archive needs is not in it.
    #[error("archive member {} is missing", escape(.member))]
    MissingMember {
        /// The member's path in the archive.
        member: String,
    },

    /// A JSON member could not be decoded.
    #[error("archive member {} is not valid JSON of the expected shape", escape(.member))]
    MemberJson {
        /// The member's path in the archive.
        member: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },

    /// A member's content does not hash to the digest its name or a descriptor claims.
    #[error("archive member {}: content has digest {actual}, expected {expected}", escape(.member))]
    MemberDigest {
        /// The member's path in the archive.
        member: String,
        /// The digest claimed.
        expected: Digest,
        /// The digest of the bytes found.
        actual: Digest,
    },

    /// A layer's uncompressed digest differs from the config's `rootfs.diff_ids` entry.
    #[error(
        "archive member {}: layer diff_id is {actual}, the config says {expected}",
        escape(.member)
    )]
    DiffIdMismatch {
        /// The layer's path in the archive (or `blobs/sha256/<hex>` on export).
        member: String,
        /// The config's diff_id.
        expected: Digest,
        /// The digest of the uncompressed layer.
        actual: Digest,
    },

    /// A member is malformed in some other way (bad path, layer count, reference...).
    #[error("archive member {}: {}", escape(.member), escape(.reason))]
    InvalidMember {
        /// The member's path in the archive.
        member: String,
        /// What is wrong.
        reason: String,
    },

    /// The archive is neither a docker-archive (`manifest.json`) nor an OCI
    /// layout (`oci-layout` + `index.json`).
    #[error("not an image archive: neither manifest.json nor oci-layout + index.json found")]
    UnknownFormat,

    /// A reference asked to be saved is not in the image index.
    #[error("image {} not found", escape(.reference))]
    ImageNotFound {
        /// The reference, fully qualified.
        reference: String,
    },

    /// A reference asked to be saved as a docker-archive names an index
    /// without a manifest for the host platform.
    #[error("image {} has no manifest for {}", escape(.reference), escape(.platform))]
    NoPlatformManifest {
        /// The reference, fully qualified.
        reference: String,
        /// The host platform, `os/arch[/variant]`.
        platform: String,
    },

    /// The file a save writes to could not be opened, created or written.
    #[error("cannot {action} {}", .path.display())]
    Output {
        /// "open", "create" or "write".
        action: &'static str,
        /// The output (or its temp name).
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The path a save is to write is a directory.
    #[error("cannot write {}: it is a directory", .path.display())]
    OutputIsDirectory {
        /// The output path.
        path: std::path::PathBuf,
    },

    /// A layer blob uses a compression kiln cannot decompress.
    #[error(
        "layer {digest} has media type {}, which kiln cannot decompress",
        escape(.media_type)
    )]
    UnsupportedLayer {
        /// The layer blob.
        digest: Digest,
        /// Its media type.
        media_type: String,
    },

    /// A path the archive names (a member, a link target, a `Config` or
    /// `Layers` entry of `manifest.json`) is absolute or climbs out of the
    /// archive with `..`.
    #[error("archive path {} is unsafe: it is absolute or leaves the archive", escape(.path))]
    UnsafePath {
        /// The path as the archive spells it.
        path: String,
    },

    /// The archive is bigger than kiln is willing to interpret in some
    /// dimension (index nesting, descriptors, JSON bytes, members).
    #[error("archive exceeds the cap of {cap} {what}")]
    Limit {
        /// What is counted (`"JSON bytes read"`, `"descriptors"`...).
        what: &'static str,
        /// The cap.
        cap: u64,
    },

    /// A docker-archive whose `manifest.json` lists no image, or an OCI
    /// layout whose `index.json` lists none.
    #[error("no images in archive ({} lists none)", escape(.member))]
    NoImages {
        /// `manifest.json` or `index.json`.
        member: String,
    },

    /// A root filesystem tar given to `import` that could never be applied.
    #[error("rootfs tar{}: {}", rootfs_entry(.entry), escape(.reason))]
    BadRootfs {
        /// The entry's name as the tar spells it (empty for the stream itself).
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `text` with control characters escaped (`\n`, `\u{1b}`...): what archives
/// name is printed through this, so nothing they carry drives the terminal.
pub(crate) fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `" entry X"` when the rootfs error is about one entry, else nothing.
fn rootfs_entry(entry: &str) -> String {
    if entry.is_empty() {
        String::new()
    } else {
        format!(" entry {}", escape(entry))
    }
}

/// `" at member X"` when a member is known, else nothing.
fn at_member(member: &Option<String>) -> String {
    member
        .as_ref()
        .map(|m| format!(" at member {}", escape(m)))
        .unwrap_or_default()
}

impl ArchiveError {
    /// A [`ArchiveError::InvalidMember`] for `member`.
    pub(crate) fn invalid(member: impl Into<String>, reason: impl Into<String>) -> Self {
        ArchiveError::InvalidMember {
            member: member.into(),
            reason: reason.into(),
        }
    }

    /// A [`ArchiveError::Limit`]: `cap` of `what` exceeded.
    pub(crate) fn limit(what: &'static str, cap: u64) -> Self {
        ArchiveError::Limit { what, cap }
    }

    /// A [`ArchiveError::MemberJson`] for `member`.
    pub(crate) fn json(member: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Self {
        let member = member.into();
        move |source| ArchiveError::MemberJson { member, source }
    }

    /// A [`ArchiveError::Write`] for `member`.
    pub(crate) fn write(member: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let member = member.into();
        move |source| ArchiveError::Write { member, source }
    }
}
