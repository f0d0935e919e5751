//! COPY and ADD into a stage's mounted root filesystem, with BuildKit's
//! semantics.
//!
//! - Sources: the build context ([`FileInput::Context`], `.dockerignore`
//!   already applied by [`Context`]; symlinks are always copied as symlinks,
//!   never followed, so nothing outside the context is read) or another
//!   stage's or image's root ([`FileInput::Tree`], `--from`: the named source
//!   is resolved chroot-style, links below it are copied as links). Wildcards
//!   are Go `filepath.Match`; a wildcard matching nothing copies nothing (as
//!   BuildKit) but the directory it lists must exist; a missing source fails
//!   with BuildKit's `"/missing": not found`. `..` never climbs out of a root.
//! - Destination rules: see `copy`. Everything below the destination root is
//!   resolved inside it (`openat2(RESOLVE_IN_ROOT)`), the created names are
//!   never followed (see `write`).
//! - Ownership: 0:0 from the context, the source's own from a tree,
//!   `--chown` (resolved in the destination's /etc/passwd and /etc/group)
//!   for everything copied and every parent directory created. Modes are kept,
//!   `--chmod` (octal or symbolic) applies to files and directories. Mtimes
//!   are kept; created parents are 0755. Hard links within one COPY stay
//!   linked. xattrs are not copied.
//! - `--link` gives the same result as without it (kiln applies the copy onto
//!   the stage's filesystem; the layer it produces holds the same files).
//! - ADD: local archives (tar, plain or gzip/bzip2/xz/zstd, detected by
//!   content) are extracted into dest unless `--unpack=false` (see `archive`);
//!   `http://` and `https://` URLs are downloaded (see `remote`), verified against
//!   `--checksum`, never unpacked.
//!
//! [`content_digest`]'s encoding is documented in `digest`.

mod archive;
mod connection;
mod copy;
mod digest;
mod owner;
mod remote;
mod resolve;
mod source;
pub(crate) mod sys;
mod write;

use std::fmt::Display;
use std::path::Path;

use crate::context::Context;
use crate::graph::FileAction;
use crate::Digest;

/// Where a COPY/ADD reads its path sources from.
pub enum FileInput<'a> {
    /// The build context.
    Context(&'a Context),
    /// A mounted root filesystem of another stage or an image (`--from`).
    Tree(&'a Path),
}

/// Why a COPY/ADD failed (one line, naming the source or destination).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

impl FileError {
    /// An I/O failure of `op` on `path`.
    pub(crate) fn io(op: &str, path: impl Display, e: std::io::Error) -> FileError {
        FileError(format!("{op} {path}: {e}"))
    }
}

/// What a regular file copied from the build context was written with: its
/// content digest and the attributes the copy gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// sha256 of the content.
    pub digest: Digest,
    /// Permission bits (with setuid, setgid, sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Size in bytes.
    pub size: u64,
}

/// Every destination path a copy wrote (root-relative), with the stamp of
/// regular files copied from the build context.
pub type Produced = Vec<(String, Option<FileStamp>)>;

/// A previous build's copy to start from (see `executor::rebase`): its
/// files are under the destination already (hard links).
pub struct Reuse<'a> {
    /// What the previous build wrote, by destination path.
    pub previous: &'a std::collections::HashMap<String, Option<FileStamp>>,
}

/// Performs `action` into `dest_root` (the stage's mounted, writable root),
/// relative destinations taken from `workdir`.
///
/// # Errors
///
/// A missing source, a bad `--chown`/`--chmod`, an unsafe archive entry, a
/// failed download or checksum, or an I/O failure (each naming its path).
pub fn apply(
    action: &FileAction,
    input: Option<FileInput<'_>>,
    dest_root: &Path,
    workdir: &str,
) -> Result<(), FileError> {
    copy::run(action, input, dest_root, workdir, None).map(|_| ())
}

/// [`apply`], keeping the regular files of `reuse` that the copy would
/// write with the same content and attributes; returns what it wrote.
///
/// # Errors
///
/// As [`apply`].
pub fn apply_reusing(
    action: &FileAction,
    input: Option<FileInput<'_>>,
    dest_root: &Path,
    workdir: &str,
    reuse: Option<&Reuse<'_>>,
) -> Result<Produced, FileError> {
    copy::run(action, input, dest_root, workdir, Some(reuse))
}

/// The content digest of what `action` selects from `input`, for its cache
/// key (`None` when it reads nothing, or a URL without `--checksum`).
///
/// # Errors
///
/// A missing source or an unreadable file.
pub fn content_digest(
    action: &FileAction,
    input: Option<FileInput<'_>>,
) -> Result<Option<Digest>, FileError> {
    digest::compute(action, input)
}
