//! What the image commands share: one image as the index and content store
//! know it ([`Image`]), finding images by name or ID prefix, and the records
//! that keep untagged ("dangling") images.
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

use anyhow::{bail, Result};
use kiln_image::index::{ImageRecord, Images};
use kiln_image::oci::ImageManifest;
use kiln_image::{ContentStore, Digest, ImageIndex, Reference};
use serde_json::Value;
use std::collections::BTreeMap;

/// Repository name of the records that keep untagged images.
pub const UNTAGGED_NAME: &str = "kiln.invalid/untagged";

/// Whether `reference` is a record that only keeps an untagged image.
pub fn is_untagged(reference: &Reference) -> bool {
    reference.name() == UNTAGGED_NAME
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
        let target = kiln_image::host_manifest(content, &manifest)?;
        Image::read_target(content, manifest, target)
    }

    /// Like [`Image::read`], but an index without a host manifest is shown as
    /// its first manifest (for listings).
    pub fn read_any(content: &ContentStore, manifest: Digest) -> Result<Image> {
        let target = kiln_image::resolve::display_manifest(content, &manifest)?;
        Image::read_target(content, manifest, target)
    }

    /// Reads `target`'s manifest and config as the image stored as `manifest`.
    fn read_target(content: &ContentStore, manifest: Digest, target: Digest) -> Result<Image> {
        let doc: ImageManifest = content.read_json(&target)?;
        let id: Digest = doc.config().digest().to_string().parse()?;
        let config = serde_json::from_slice(&content.read_bytes(&id)?)?;
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

/// How an image argument was matched.
pub enum Found {
    /// By a reference that is in the index.
    Name(Reference, Box<Image>),
    /// By (a prefix of) its ID: every manifest with that config.
    Id(Vec<Image>),
}

/// Finds `arg`: a reference in the index, or an image ID (`sha256:` optional)
/// or a unique prefix of at least 4 hex digits. Fails with `No such image`.
pub fn find(content: &ContentStore, index: &ImageIndex, arg: &str) -> Result<Found> {
    if let Ok(reference) = Reference::parse(arg) {
        if let Some(record) = index.get(&reference)? {
            let image = all_images(content, index)?
                .into_iter()
                .find(|i| i.manifest == record.digest);
            if let Some(image) = image {
                return Ok(Found::Name(reference, Box::new(image)));
            }
        }
    }
    let hex = arg.strip_prefix("sha256:").unwrap_or(arg);
    if hex.len() >= 4 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_lowercase();
        let matches: Vec<Image> = all_images(content, index)?
            .into_iter()
            .filter(|i| i.id.hex().starts_with(&hex))
            .collect();
        let mut ids: Vec<&Digest> = matches.iter().map(|i| &i.id).collect();
        ids.dedup();
        if ids.len() > 1 {
            bail!(
                "ambiguous image ID prefix {arg:?}: matches {} images",
                ids.len()
            );
        }
        if !matches.is_empty() {
            return Ok(Found::Id(matches));
        }
    }
    bail!("No such image: {arg}")
}

/// Finds `arg` and returns one image (the first manifest for an ID).
pub fn find_one(content: &ContentStore, index: &ImageIndex, arg: &str) -> Result<Image> {
    match find(content, index, arg)? {
        Found::Name(_, image) => Ok(*image),
        Found::Id(mut images) => Ok(images.remove(0)),
    }
}

/// The marker record key for the untagged image `manifest`.
pub fn untagged_reference(manifest: &Digest) -> Result<Reference> {
    Ok(Reference::parse(&format!("{UNTAGGED_NAME}@{manifest}"))?)
}

/// Keeps `manifest` findable if no record points at it any more.
pub fn keep_if_orphaned(index: &ImageIndex, manifest: &Digest) -> Result<()> {
    let marker = untagged_reference(manifest)?;
    let now = unix_now();
    index.update(|images| {
        if !images.values().any(|r| r.digest == *manifest) {
            let record = ImageRecord {
                digest: *manifest,
                created: now,
            };
            images.insert(marker, record);
        }
    })?;
    Ok(())
}

/// Points `reference` at `manifest` (dropping its untagged marker) and keeps
/// the image the reference pointed to before if that leaves it nameless.
pub fn tag_image(index: &ImageIndex, reference: &Reference, manifest: &Digest) -> Result<()> {
    let marker = untagged_reference(manifest)?;
    let now = unix_now();
    let previous = index.update(|images: &mut Images| {
        images.remove(&marker);
        let previous = images.get(reference).map(|r| r.digest);
        if previous != Some(*manifest) {
            let record = ImageRecord {
                digest: *manifest,
                created: now,
            };
            images.insert(reference.clone(), record);
        }
        previous
    })?;
    match previous {
        Some(old) if old != *manifest => keep_if_orphaned(index, &old),
        _ => Ok(()),
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
