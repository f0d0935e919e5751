//! `kiln-image`: the vocabulary and storage of images.
//!
//! Owns digests, descriptors, platforms, image references (with Docker's
//! `docker.io/library` normalisation), the content store (`<root>/content/blobs/sha256`,
//! atomic ingest), the image index (name:tag -> manifest digest), OCI layout and
//! docker-archive import/export, and the registry client (distribution spec).
//!
//! Status: vocabulary ([`Digest`], [`DigestWriter`], [`media`] types and
//! [`mod@descriptor`] helpers, [`Platform`], [`Reference`]), the [`ContentStore`],
//! the [`ImageIndex`] and [`mod@archive`] (OCI layout and docker-archive
//! save/load, `import_rootfs`), [`mod@resolve`] (an image's manifest for a
//! platform, for multi-platform indexes) and [`gc`] (content garbage
//! collection) are built, and [`catalog`] (the images of a root as commands
//! see them: lookup by name/ID/prefix, untagged-image records); the registry
//! client is not yet.
//! Depends on no other kiln crate.
//!
//! # Design choices
//!
//! - **sha256 only.** [`Digest`] is 32 raw bytes; other algorithms are parse
//!   errors. Everything kiln meets (registries, Docker, OCI) uses sha256.
//! - **oci-spec for documents.** Manifests, indexes, configs and descriptors are
//!   `oci_spec::image` types (re-exported in [`oci`]); kiln adds only
//!   conversions ([`DescriptorExt`], [`Platform::to_oci`]). Media types are
//!   `&str` constants so Docker's schema2 types compare like OCI's.
//! - **Docker's reference rules**, not a stricter or looser variant: see
//!   [`mod@reference`] for the grammar and normalisation.
//! - **Lock-free content store.** Blobs are immutable and named by content;
//!   writers race only on `rename`, which is atomic and idempotent here.
//! - **One lock for the image index.** Tag changes are rare and small; a single
//!   `flock` + rewrite of `images.json` is simpler and safer than finer schemes.
//! - **Crash safety.** Every published file is temp + fsync + rename + fsync(dir).
//!
//! # Layout under `--root`
//!
//! ```text
//! content/blobs/sha256/<hex>   ContentStore blobs
//! content/ingest/              partial blobs (ContentStore::gc_ingest cleans)
//! images.json                  ImageIndex
//! images.lock                  flock guarding images.json
//! ```

#![warn(missing_docs)]

pub mod archive;
pub mod catalog;
pub mod content;
pub mod descriptor;
pub mod digest;
pub mod error;
pub mod gc;
pub mod index;
pub mod lease;
pub mod lock;
pub mod media;
pub mod platform;
pub mod reference;
pub mod resolve;
pub mod time;

mod fsutil;
#[cfg(test)]
mod test_alloc;

pub use archive::{
    import_rootfs, import_rootfs_with, load, load_dir, load_file, save, save_oci_dir, ArchiveError,
    ArchiveFormat, ArchiveResult, ImportOptions, LoadedImage,
};
pub use content::ContentStore;
pub use descriptor::{descriptor, Descriptor, DescriptorExt};
pub use digest::{Digest, DigestWriter};
pub use error::{ImageError, Result};
pub use index::{ImageIndex, ImageRecord, Images};
pub use lease::{Holder, Lease, LeaseRecord, LeaseStore};
pub use lock::FileLock;
pub use platform::Platform;
pub use reference::Reference;
pub use resolve::{host_manifest, platform_manifest};

/// The OCI image-spec document types kiln reads and writes, re-exported from
/// `oci_spec::image` so other crates need not depend on oci-spec directly.
/// (`oci::ImageIndex` is the OCI multi-platform index document, not to be
/// confused with kiln's tag store [`ImageIndex`].)
pub mod oci {
    pub use oci_spec::image::{
        Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType,
        Platform as OciPlatform,
    };
}
