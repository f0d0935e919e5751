//! Image archives: export to and import from OCI image layouts (directory or
//! tar) and docker-archives (`docker save` / `docker load`), plus
//! [`import_rootfs`] (`docker import`). Everything works against a
//! [`ContentStore`](crate::ContentStore) and an [`ImageIndex`](crate::ImageIndex).
//!
//! # API
//!
//! - [`save`]`(store, index, refs, format, out)`: one tar stream of the images
//!   as a [`ArchiveFormat::Docker`] archive or an [`ArchiveFormat::Oci`] layout.
//! - [`save_oci_dir`]: the same OCI layout as a directory.
//! - [`save_file`]: [`save`] to a path through [`SaveOutput`] (an anonymous
//!   temp file linked in when complete; devices and FIFOs written in place).
//! - [`load`], [`load_file`], [`load_dir`]: read any of: classic docker-archive
//!   (`<id>/layer.tar`), docker 25+ archive (manifest.json + OCI layout,
//!   `blobs/sha256/...`), OCI layout tar (e.g. skopeo, buildctl) or directory;
//!   tars may be gzip-compressed (sniffed by magic bytes).
//! - [`import_rootfs`], [`import_rootfs_with`]: a one-layer image from a
//!   rootfs tar, plain, gzip or zstd (sniffed), like `docker import`
//!   (optionally with a container config).
//!
//! # Design choices
//!
//! - **Stage, check, then tag.** Loading reads the archive once, streaming
//!   every member into the content store (memory use does not grow with
//!   member size; the member count is capped) except the three documents that say what the
//!   archive is (`manifest.json`, `index.json`, `oci-layout`), kept in memory
//!   because `docker save` writes `manifest.json` last; legacy v1 files are
//!   skipped. Then the archive is interpreted and every digest checked:
//!   `blobs/sha256/<hex>` members must hash to their name, docker configs to
//!   their `<hex>.json` name, every layer's uncompressed digest (docker-archive
//!   and OCI alike) must equal the config's diff_id, every OCI descriptor's blob
//!   must be present with its size. Only then are all references tagged, in one
//!   locked index update: a failed load leaves the index exactly as it was.
//!   Blobs ingested before the failure stay in the store unreferenced (garbage
//!   collection is someone else's job).
//! - **Bounded, whatever the archive says** (it is hostile input): an OCI
//!   tree is walked once per distinct blob (a seen-set, `walk`), and one
//!   budget per load or save caps index nesting, descriptors, JSON bytes read
//!   and buffered, tar header extensions and the member count (`budget`,
//!   `guard`); past a cap the load fails with one line naming it.
//! - **Unsafe paths are named**: a `Config`/`Layers` path or member name that
//!   is absolute or climbs out with `..` is [`ArchiveError::UnsafePath`];
//!   names from archives are printed with control characters escaped.
//! - **`import` checks its rootfs tar** while storing it: entries that could
//!   never be applied (`..`, a non-directory root...) and empty input fail.
//! - **Errors name the archive member** (`manifest.json`, `<id>/layer.tar`,
//!   `blobs/sha256/<hex>`), see [`ArchiveError`].
//! - **Docker layers are stored as they come** (normally uncompressed tar,
//!   media type `...layer.v1.tar`): no recompression on load, and the blob
//!   digest equals the diff_id. kiln writes an OCI manifest for each loaded
//!   docker image; the config is kept byte-for-byte, so the image id
//!   (config digest) is what Docker shows.
//! - **Docker-archive export decompresses** gzip layers, so the archive's
//!   layers are the plain tars `docker load` expects: one pass (hashing as it
//!   writes) when the uncompressed size is cached (recorded by `import` and by
//!   `load` of docker-archives, which decompress anyway to check diff_ids;
//!   dropped with the blob by GC), else two (one to check the diff_id and
//!   learn the size the tar header needs, one to write). zstd layers
//!   (`...tar+zstd`, or sniffed) are decompressed the same way.
//! - **Multi-platform images** (an OCI index in `index.json`) are stored and
//!   tagged by the index digest, with every platform's manifest; OCI export
//!   writes the whole tree, docker-archive export only the host platform's
//!   manifest ([`crate::resolve`]).
//! - **OCI archives carry a `manifest.json` too** (as docker 25+ writes), so
//!   docker before 25 loads them as well.
//! - **Deterministic output.** Members in a fixed order, tar headers with
//!   mtime 0, uid/gid 0, fixed modes; JSON from kiln's own structs with sorted
//!   annotations ([`docs`]). The same images give the same archive bytes.
//! - **Names**: docker-archives use familiar names (`busybox:latest`); OCI
//!   layouts get `io.containerd.image.name` (full name) and
//!   `org.opencontainers.image.ref.name` (tag), as docker 25+ and containerd
//!   write. On load, a bare `ref.name` tag without a repository leaves the
//!   image untagged (reported with `reference: None`).
//! - **Errors** are this module's own [`ArchiveError`] (wrapping
//!   [`ImageError`](crate::ImageError) for store/index failures).

mod budget;
pub mod docs;
mod error;
mod guard;
mod layer;
mod load;
mod load_docker;
mod load_oci;
mod output;
mod pipe;
mod rootfs;
mod rootfs_check;
mod save;
mod save_oci;
mod sink;
mod stage;
mod walk;

pub use error::{ArchiveError, ArchiveResult};
pub use load::{load, load_dir, load_file};
pub use output::{save_file, temp_name, SaveOutput};
pub use rootfs::{import_rootfs, import_rootfs_with, ImportOptions};
pub use save::{save, ArchiveFormat};
pub use save_oci::save_oci_dir;

use crate::digest::Digest;
use crate::reference::Reference;

/// An image found in a loaded archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The reference it was tagged with, if the archive named it.
    pub reference: Option<Reference>,
    /// Its manifest (or index) digest in the content store.
    pub digest: Digest,
}
