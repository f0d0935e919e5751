//! The images of a root as commands and a Compose engine see them: one
//! [`Image`] per stored manifest with every name pointing at it, lookup by
//! name, ID or ID prefix ([`find`], [`resolve_local`]), and the records that
//! keep untagged ("dangling") images ([`keep_if_orphaned`], [`tag_image`]).
//!
//! Dangling images: the index maps references to manifests, so an image with
//! no tag has no record and would be invisible (and swept by garbage
//! collection). kiln keeps such images findable by ID with a record under a
//! reserved name, `kiln.invalid/untagged@<manifest digest>` ([`UNTAGGED_NAME`]),
//! shown as `<none>`. Such a record is written when `load` brings an image
//! without a name, and when `tag`/`import` move a tag away from an image that
//! then has no other name (Docker's `<none>:<none>` after a rebuild). It is
//! removed when the image is tagged again, by `rmi` and by `image prune`.
//!
//! Multi-platform images: a record may point at an image index (a `kiln load`
//! of a multi-platform OCI archive). The image is then the index ([`Image::manifest`],
//! the digest in RepoDigests, listed once), shown as the host platform's
//! manifest: its config gives the ID (the config digest, as
//! Docker's classic store shows), Architecture/Os and sizes, and `run` unpacks
//! it. An index without a host manifest is shown as its first manifest by
//! `images` and `inspect`; `run` and `save --format docker` fail with
//! "image X has no manifest for os/arch".

mod lookup;
mod untagged;

pub use lookup::{find, find_one, resolve_local, Found};
pub use untagged::{is_untagged, keep_if_orphaned, tag_image, untagged_reference, UNTAGGED_NAME};

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{ImageError, Result};
use crate::index::ImageRecord;
use crate::oci::ImageManifest;
use crate::{ContentStore, Digest, ImageIndex, Reference};

/// The image stores under `--root`: blobs and tags.
pub struct Stores {
    /// Blobs.
    pub content: ContentStore,
    /// Tags.
    pub index: ImageIndex,
}

impl Stores {
    /// Opens (creating if needed) the stores under `root`.
    pub fn open(root: &Path) -> Result<Stores> {
        Ok(Stores {
            content: ContentStore::new(root)?,
            index: ImageIndex::new(root)?,
        })
    }
}

/// One image: a manifest, its config and every reference to it.
pub struct Image {
    /// The manifest (or multi-platform index) digest the index records point at.
    pub manifest: Digest,
    /// The config digest of `target`: Docker's image ID.
    pub id: Digest,
    /// The image config document.
    pub config: Value,
    /// The manifest's layer sizes, in order.
    pub layer_sizes: Vec<u64>,
    /// The config blob's size.
    pub config_size: u64,
    /// The real (not untagged-marker) references, ordered.
    pub references: Vec<Reference>,
    /// When a reference was last pointed at it (Unix seconds, 0 if never).
    pub last_tagged: u64,
}

impl Image {
    /// Reads the manifest (the host platform's, for an index) and config of
    /// `manifest`; an index without a host manifest is an error.
    pub fn read(content: &ContentStore, manifest: Digest) -> Result<Image> {
        let target = crate::host_manifest(content, &manifest)?;
        Image::read_target(content, manifest, target)
    }

    /// Like [`Image::read`], but an index without a host manifest is shown as
    /// its first manifest (for listings).
    pub fn read_any(content: &ContentStore, manifest: Digest) -> Result<Image> {
        let target = crate::resolve::display_manifest(content, &manifest)?;
        Image::read_target(content, manifest, target)
    }

    /// Reads `target`'s manifest and config as the image stored as `manifest`.
    fn read_target(content: &ContentStore, manifest: Digest, target: Digest) -> Result<Image> {
        let doc: ImageManifest = content.read_json(&target)?;
        let id: Digest = doc.config().digest().to_string().parse()?;
        let config = serde_json::from_slice(&content.read_bytes(&id)?)
            .map_err(|source| ImageError::BlobJson { digest: id, source })?;
        Ok(Image {
            manifest,
            id,
            config,
            layer_sizes: doc.layers().iter().map(|l| l.size()).collect(),
            config_size: doc.config().size(),
            references: Vec::new(),
            last_tagged: 0,
        })
    }

    /// Docker's short ID: 12 hex digits of the config digest.
    pub fn short_id(&self) -> String {
        self.id.hex()[..12].to_string()
    }

    /// Whether no real reference names it.
    pub fn dangling(&self) -> bool {
        self.references.is_empty()
    }

    /// The sum of the layer sizes (stored, so usually compressed).
    pub fn layers_size(&self) -> u64 {
        self.layer_sizes.iter().sum()
    }

    /// A string field of the config, or "".
    pub fn config_str(&self, key: &str) -> &str {
        self.config.get(key).and_then(Value::as_str).unwrap_or("")
    }
}

/// Every image in the index, one per manifest digest, ordered by manifest.
pub fn all_images(content: &ContentStore, index: &ImageIndex) -> Result<Vec<Image>> {
    let mut by_manifest: BTreeMap<Digest, Vec<(Reference, ImageRecord)>> = BTreeMap::new();
    for (reference, record) in index.list()? {
        by_manifest
            .entry(record.digest)
            .or_default()
            .push((reference, record));
    }
    let mut images = Vec::new();
    for (manifest, records) in by_manifest {
        let mut image = Image::read_any(content, manifest)?;
        for (reference, record) in records {
            image.last_tagged = image.last_tagged.max(record.created);
            if !is_untagged(&reference) {
                image.references.push(reference);
            }
        }
        images.push(image);
    }
    Ok(images)
}
