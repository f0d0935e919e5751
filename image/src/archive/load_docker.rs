//! Loading docker-archives (`docker save` output): `manifest.json` entries
//! become OCI manifests in the content store.
//!
//! The config is stored byte-for-byte (its digest is the image id Docker
//! shows). Layers are stored exactly as the archive carries them (normally an
//! uncompressed tar, media type `application/vnd.oci.image.layer.v1.tar`;
//! a gzip member keeps its bytes and gets the `+gzip` type): no recompression,
//! so loading is I/O-bound and a layer's blob digest is its diff_id. Every
//! layer's diff_id is checked against the config's `rootfs.diff_ids`.

use super::docs::{ConfigDoc, Desc, DockerEntry, ManifestDoc};
use super::error::{ArchiveError, ArchiveResult};
use super::layer::DiffIds;
use super::load::parse_reference;
use super::stage::{blob_name_digest, Member, Staged};
use super::LoadedImage;
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::media;

/// The member holding a docker-archive's image list.
pub(crate) const MANIFEST_JSON: &str = "manifest.json";

/// Interprets `manifest.json`: one image per entry, one [`LoadedImage`] per RepoTag.
pub(crate) fn load_docker(
    store: &ContentStore,
    staged: &Staged,
) -> ArchiveResult<Vec<LoadedImage>> {
    let entries: Vec<DockerEntry> = staged.json(store, MANIFEST_JSON)?;
    if entries.is_empty() {
        return Err(ArchiveError::NoImages {
            member: MANIFEST_JSON.to_string(),
        });
    }
    let mut diff_ids = DiffIds::default();
    let mut images = Vec::new();
    for entry in &entries {
        let digest = docker_image(store, staged, entry, &mut diff_ids)?;
        let tags = entry.repo_tags.as_deref().unwrap_or_default();
        if tags.is_empty() {
            images.push(LoadedImage {
                reference: None,
                digest,
            });
        }
        for tag in tags {
            let reference = Some(parse_reference(MANIFEST_JSON, tag)?);
            images.push(LoadedImage { reference, digest });
        }
    }
    Ok(images)
}

/// Stores one entry's config, checks its layers (each distinct blob
/// decompressed once per load, see [`DiffIds`]), writes its manifest;
/// returns the manifest digest.
fn docker_image(
    store: &ContentStore,
    staged: &Staged,
    entry: &DockerEntry,
    diff_ids: &mut DiffIds,
) -> ArchiveResult<Digest> {
    staged.budget().descriptors(1 + entry.layers.len())?;
    let config_bytes = staged.read(store, &entry.config)?;
    let config_digest = Digest::of(&config_bytes);
    if let Some(claimed) = claimed_digest(&entry.config) {
        if claimed != config_digest {
            return Err(ArchiveError::MemberDigest {
                member: entry.config.clone(),
                expected: claimed,
                actual: config_digest,
            });
        }
    }
    let config: ConfigDoc =
        serde_json::from_slice(&config_bytes).map_err(ArchiveError::json(&entry.config))?;
    let expected = &config.rootfs.diff_ids;
    if expected.len() != entry.layers.len() {
        let reason = format!(
            "config has {} diff_ids but manifest.json lists {} layers",
            expected.len(),
            entry.layers.len()
        );
        return Err(ArchiveError::invalid(&entry.config, reason));
    }
    let mut layers = Vec::with_capacity(expected.len());
    for (member, expected) in entry.layers.iter().zip(expected) {
        layers.push(docker_layer(store, staged, member, expected, diff_ids)?);
    }
    store.ingest_bytes(&config_bytes, Some(&config_digest))?;
    let config = plain_desc(media::OCI_CONFIG, config_digest, config_bytes.len() as u64);
    write_manifest(store, config, layers)
}

/// Checks one layer member against its diff_id; returns its descriptor.
fn docker_layer(
    store: &ContentStore,
    staged: &Staged,
    member: &str,
    expected: &Digest,
    diff_ids: &mut DiffIds,
) -> ArchiveResult<Desc> {
    let (digest, size) = match staged.resolve(member)? {
        Member::Blob(digest, size) => (*digest, *size),
        _ => return Err(ArchiveError::invalid(member, "not a layer tar")),
    };
    let compression = diff_ids.check(store, member, &digest, expected)?;
    Ok(plain_desc(
        media::oci_layer_media_type(compression),
        digest,
        size,
    ))
}

/// Writes an OCI manifest for `config` and `layers`; returns its digest.
pub(crate) fn write_manifest(
    store: &ContentStore,
    config: Desc,
    layers: Vec<Desc>,
) -> ArchiveResult<Digest> {
    let manifest = ManifestDoc {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.to_string()),
        config,
        layers,
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifests always serialise");
    Ok(store.ingest_bytes(&bytes, None)?.0)
}

/// A descriptor without platform or annotations.
pub(crate) fn plain_desc(media_type: &str, digest: Digest, size: u64) -> Desc {
    Desc {
        media_type: media_type.to_string(),
        digest,
        size,
        platform: None,
        annotations: None,
    }
}

/// The digest a config member's name claims: `<hex>.json` or `blobs/sha256/<hex>`.
fn claimed_digest(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.strip_suffix(".json")
        .and_then(|hex| Digest::from_hex(hex).ok())
        .or_else(|| blob_name_digest(name))
}
