//! The Differ: filesystem changes -> OCI layer tar, and layer tar -> directory.
//!
//! # Diff
//!
//! [`diff_overlay`] reads an overlayfs upper dir: a whiteout (character device
//! 0/0) becomes an empty regular file `<dir>/.wh.<name>`; a directory marked
//! `trusted.overlay.opaque=y` is written, then `<dir>/.wh..wh..opq`, then its
//! children. Lower dirs are only used to drop whiteouts of paths no lower layer
//! has. Entries made by overlayfs's `redirect_dir` or `metacopy` features (off by
//! default on most kernels, and here) keep data in lower layers, so they are
//! refused with [`crate::Error::UnusablePath`] rather than turned into a layer
//! that silently loses it. [`diff_trees`] compares two plain trees (native
//! snapshotter): an entry is written when type, mode, owner, size, mtime (with
//! nanoseconds), device number, symlink target or xattrs differ, or, when the mtime
//! has no sub-second part (a copy may have truncated it), when the bytes differ;
//! paths only in the lower tree become whiteouts; unchanged parent directories of
//! written entries are written too, so parents always precede children.
//!
//! Format: entries in depth-first order with each directory's children sorted
//! bytewise by name (whiteouts sort under the name they delete), so the same tree
//! gives the same bytes. Ustar headers; PAX records for `path`/`linkpath` longer
//! than 100 bytes, ids above 0o7777777, and xattrs as `SCHILY.xattr.<name>`
//! (overlayfs's own `trusted.overlay.*` are skipped). The second and later paths
//! of a multiply-linked inode become tar hard links to the first. Directory names
//! end in `/`. Sockets are skipped. Mtimes are whole seconds, clamped to
//! [`DiffOptions::source_date_epoch`] when set; whiteout markers are root-owned,
//! mode 0644, mtime 0. gzip output is a series of members, one per
//! content-defined chunk of the tar (gear-hash cuts, 256 KiB to 4 MiB, about
//! 1 MiB on average: an edit changes the one or two chunks around it and later
//! cuts fall where they fell before), compressed in parallel on every core,
//! each with an empty header (no name, mtime 0); the bytes depend only on the
//! tar, not on the thread count. Readers must read all members
//! (`MultiGzDecoder`, Go's `gzip.Reader`, `gzip -d` all do).
//! The tar is hashed (diff_id) and then compressed and hashed again (digest)
//! while it streams to the caller's writer; nothing is buffered whole, and file
//! contents are read in chunks.
//!
//! # Member reuse
//!
//! [`diff_overlay_reusing`] and [`diff_trees_reusing`] take the content store's
//! [`MemberIndex`]: each chunk is hashed (sha256) and, when the index knows a
//! member of an existing blob holding that chunk (under [`GZIP_MEMBER_CODEC`])
//! and its gzip trailer matches the chunk, its bytes are copied instead of
//! compressed. The output is byte-identical to a diff without an index (a
//! member is a deterministic function of its chunk under that codec), so
//! re-exporting a big layer with one small change costs the tar, the hashing
//! and copying, plus compressing the one or two changed chunks. Contract for
//! the caller:
//!
//! ```text
//! let digests = diff_overlay_reusing(upper, lowers, out, &opts, Some(&content.members()))?;
//! let (blob, _) = content.ingest(/* the bytes written to out */)?;
//! content.members().record(GZIP_MEMBER_CODEC, &blob, &digests.members)?; // a cache: may be ignored on error
//! ```
//!
//! [`LayerDigests::members`] lists every member written with its offset in the
//! output (so `out` must receive nothing else, and be the whole blob) and is
//! filled only when an index is given and the compression is gzip; it is empty
//! for zstd and plain tar (no reuse there). Recording before the blob is in
//! the store fails; an index entry whose blob was deleted is a miss, and
//! garbage collection sweeps such entries.
//!
//! # Apply
//!
//! [`apply`] detects gzip, zstd or plain tar by magic bytes and applies entries in
//! order: `.wh.<name>` removes `<name>` (not if this layer created it),
//! `.wh..wh..opq` removes every child of its directory that this layer did not
//! add, other entries replace what is there (a directory entry over an existing
//! directory only updates its attributes). Ownership is set before the mode (so
//! setuid bits survive), then xattrs (ones the filesystem cannot store are
//! skipped), then mtimes; directory mtimes are set after all entries. Hard link
//! entries take nothing from their header but the link (the inode already has it
//! all). The diff_id covers every byte of the uncompressed stream, including
//! padding after the end marker.
//!
//! Safety (same as Docker: chroot-style resolution): entry names have leading
//! `/` stripped and `.` dropped; any `..` in a name refuses the entry. Parent
//! directories are resolved one component at a time inside the target with
//! `symlink_metadata`, and symlinks met on the way (relative and absolute) are
//! followed as in a chroot at the target: an absolute link target is resolved from
//! the target, and `..` never climbs above it (it stays at the target, like `/..`).
//! So `a -> /` then `a/etc/passwd` writes `<target>/etc/passwd`, and
//! `a -> ../../..` then `a/x` writes `<target>/x`: a layer can never write outside
//! the target. More than 40 symlinks on one path (a loop) refuses the entry
//! ([`crate::Error::UnsafeEntry`] names it). Missing parents are created (0755).
//! The final component is never followed (files are created with
//! `O_NOFOLLOW|O_EXCL`). Hard link targets go through the same resolution, may not
//! contain `..`, and must already exist inside the target (not as a directory).
//! Whiteouts of `.`, `..` or nothing are refused. Resolution is path based: the
//! target must not be modified by others while a layer is applied.
//!
//! Contract: apply into a freshly prepared (active) snapshot, either its mounted
//! target or its filesystem dir. On error, entries before the failing one have
//! been applied: the caller must remove that active snapshot
//! ([`crate::Snapshotter::remove`]) instead of committing it. `apply` itself
//! writes entries in place and creates no temporary files.
//!
//! [`testkit`] has the helpers the tests use (tree manifests, a tree with every
//! file type, raw tar entries), public so callers' tests can use them too.

mod apply;
mod cdc;
mod changes;
mod pargz;
#[cfg(test)]
#[path = "pargz_tests.rs"]
mod pargz_tests;
mod safe;
mod stream;
pub mod testkit;
mod write;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kiln_image::content::{MemberIndex, MemberRecord};

use crate::{Error, Result};

pub use pargz::GZIP_MEMBER_CODEC;

/// Name prefix of a whiteout entry.
const WHITEOUT_PREFIX: &str = ".wh.";
/// Name of the opaque-directory marker.
const OPAQUE: &str = ".wh..wh..opq";

/// How a layer is compressed on output: the image crate's enum, so a layer's
/// compression means the same everywhere (gzip at level 6 by default, zstd at
/// level 3).
pub use kiln_image::media::Compression;

/// Options for [`diff_overlay`] and [`diff_trees`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Output compression.
    pub compression: Compression,
    /// When set, mtimes later than this (seconds since the epoch) are clamped to it
    /// (reproducible builds' `SOURCE_DATE_EPOCH`).
    pub source_date_epoch: Option<i64>,
}

/// What a diff produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// `sha256:<hex>` of the uncompressed tar (the image config's diff_id).
    pub diff_id: String,
    /// `sha256:<hex>` of the bytes written (the layer descriptor's digest).
    pub digest: String,
    /// Number of bytes written (the descriptor's size).
    pub size: u64,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
    /// Every gzip member written, in order, with its offset in the output: what
    /// to pass to [`MemberIndex::record`] (with [`GZIP_MEMBER_CODEC`]) once the
    /// output is a blob of the store. Filled only by the `_reusing` entry points
    /// given an index, with gzip compression; empty otherwise.
    pub members: Vec<MemberRecord>,
    /// How many of `members` were copied from the index instead of compressed.
    pub members_reused: u64,
}

/// What an apply read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// Writes the changes recorded in overlayfs upper dir `upper` as a layer to `out`.
/// `lowers` are the snapshot's lower dirs (see the module docs for their use).
pub fn diff_overlay<W: Write>(
    upper: &Path,
    lowers: &[PathBuf],
    out: W,
    opts: &DiffOptions,
) -> Result<LayerDigests> {
    diff_overlay_reusing(upper, lowers, out, opts, None)
}

/// [`diff_overlay`], reusing gzip members from `members` (see the module docs
/// on member reuse: the output bytes are the same, and the result lists the
/// members to record once the output is a blob).
pub fn diff_overlay_reusing<W: Write>(
    upper: &Path,
    lowers: &[PathBuf],
    out: W,
    opts: &DiffOptions,
    members: Option<&MemberIndex>,
) -> Result<LayerDigests> {
    let mut tw = write::TarWriter::new(out, opts, members)?;
    changes::overlay(&mut tw, upper, lowers)?;
    tw.finish()
}

/// Writes the difference from tree `lower` (`None`: empty) to tree `upper` as a
/// layer to `out`.
pub fn diff_trees<W: Write>(
    lower: Option<&Path>,
    upper: &Path,
    out: W,
    opts: &DiffOptions,
) -> Result<LayerDigests> {
    diff_trees_reusing(lower, upper, out, opts, None)
}

/// [`diff_trees`], reusing gzip members from `members` (see the module docs on
/// member reuse).
pub fn diff_trees_reusing<W: Write>(
    lower: Option<&Path>,
    upper: &Path,
    out: W,
    opts: &DiffOptions,
    members: Option<&MemberIndex>,
) -> Result<LayerDigests> {
    let mut tw = write::TarWriter::new(out, opts, members)?;
    let mut walk = changes::TreeDiff {
        tw: &mut tw,
        lower,
        upper,
        pending: Vec::new(),
    };
    walk.dir(Path::new(""))?;
    tw.finish()
}

/// Applies the layer read from `layer` (gzip, zstd or plain) onto directory
/// `target`. See the module docs for the safety rules and the caller's duty to
/// discard the snapshot on error.
pub fn apply<R: Read>(layer: R, target: &Path) -> Result<Applied> {
    let stream_err = |op| move |source| Error::LayerStream { op, source };
    let decoder = stream::Decoder::detect(layer).map_err(stream_err("detect compression"))?;
    let mut archive = tar::Archive::new(stream::HashReader::new(decoder));
    let mut applier = apply::Applier {
        root: target,
        added: HashSet::new(),
        dir_times: Vec::new(),
    };
    for entry in archive.entries().map_err(stream_err("read layer"))? {
        let mut entry = entry.map_err(stream_err("read entry header"))?;
        applier.entry(&mut entry)?;
    }
    applier.finish()?;
    let (diff_id, uncompressed_size) = archive
        .into_inner()
        .drain_and_finish()
        .map_err(stream_err("read layer end"))?;
    Ok(Applied {
        diff_id,
        uncompressed_size,
    })
}
