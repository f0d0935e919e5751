//! `kiln-snapshotter`: filesystem snapshots and layers.
//!
//! Owns the [`Snapshotter`] trait (containerd's model: prepare/view/commit/remove/
//! mounts; mounts are returned as data, never mounted here; where a snapshot's
//! files live on disk is data too, a [`Layout`]), its overlayfs
//! ([`OverlaySnapshotter`]) and native-copy ([`NativeSnapshotter`]) implementations
//! with a shared [`conformance`] suite, and the [`mount`] helpers callers use to
//! perform the returned [`Mount`]s, and the [`differ`] (upper dir or tree pair ->
//! OCI layer tar with whiteouts, and safe extraction of a layer tar into a snapshot).
//!
//! Model: keys (active and view snapshots) and committed names (kiln uses layer
//! chain IDs) share one namespace of plain strings. `prepare` makes a writable
//! active snapshot over an optional committed parent, `view` a read-only one,
//! `commit` turns an active snapshot into a committed one (failing with
//! [`Error::AlreadyExists`] when another process made that name first), `remove`
//! refuses snapshots with children. Only committed snapshots can be parents.
//! Every snapshot records the process that prepared it; `collect` (the
//! garbage collector's sweep) removes whatever the caller's roots, a running
//! owner or a kept child do not need, under the exclusive table lock.
//!
//! State lives in `<root>/snapshots/<impl>/`: `metadata.json` (written to a temp
//! file, fsynced and renamed under an exclusive `flock` on `lock`; read under a
//! shared one) and one directory per snapshot, so several threads and kiln
//! processes can share a root. The `store` module docs describe staging and crash
//! recovery; `overlay` and `native` describe their layouts and mounts.
//!
//! [`unpack()`] turns an image's layers (from `kiln-image`'s content store) into
//! committed snapshots named by their chain IDs.
//!
//! Status: trait, overlay and native snapshotters, mount helpers and the
//! conformance suite, the differ (diff and apply) and unpack are done.
//! Snapshotters identify snapshots by strings only; `unpack` is the one part that
//! depends on `kiln-image`.

#![warn(missing_docs)]

pub mod conformance;
mod copy;
pub mod differ;
mod error;
pub mod mount;
mod native;
mod overlay;
mod overlay_mount;
mod snapshot;
pub(crate) mod store;
mod sys;
pub mod unpack;
mod usage;

pub use differ::{
    apply, diff_overlay, diff_overlay_reusing, diff_trees, diff_trees_reusing, Applied,
    Compression, DiffOptions, LayerDigests, GZIP_MEMBER_CODEC,
};
pub use error::{Error, Result};
pub use native::NativeSnapshotter;
pub use overlay::OverlaySnapshotter;
pub use snapshot::{Contents, Info, Kind, Labels, Layout, Mount, Snapshotter, Usage};
pub use store::Collected;
pub use unpack::{chain_ids, tree_listing, unpack, UnpackError};
