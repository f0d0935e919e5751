//! Saving images: resolving references, and the docker-archive writer.
//!
//! A docker-archive written by kiln is the classic `docker save` layout that
//! every docker version and skopeo read:
//!
//! ```text
//! <config-hex>.json          the image config, byte-for-byte (its digest is the image id)
//! <diff_id-hex>/layer.tar    each layer, uncompressed (gzip blobs are decompressed)
//! manifest.json              [{"Config", "RepoTags", "Layers"}], one entry per image
//! repositories               {"busybox": {"latest": "<top layer dir>"}}
//! ```
//!
//! Legacy v1 files (`<dir>/VERSION`, `<dir>/json`) are not written: loaders
//! since docker 1.10 read `manifest.json` only. A layer shared by several
//! images is written once. Every layer's diff_id is checked against the config.
//! An image stored as a multi-platform index is written as its host
//! platform's manifest only, as `docker save` does (no such manifest:
//! [`ArchiveError::NoPlatformManifest`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::docs::{ConfigDoc, Desc, DockerEntry, ManifestDoc};
use super::error::{ArchiveError, ArchiveResult};
use super::layer::{check_diff_id, diff_id, open_uncompressed, sniff_blob, HashingReader};
use super::pipe::read_ahead;
use super::save_oci::write_oci;
use super::sink::{Sink, TarSink};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::index::ImageIndex;
use crate::media::{self, Compression};
use crate::reference::Reference;

/// The archive formats kiln writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `docker save`'s format (`docker load`, `skopeo ... docker-archive:`).
    Docker,
    /// A tar of an OCI image layout (`skopeo ... oci-archive:`, `buildctl --output type=oci`).
    Oci,
}

/// Writes the images `references` name (looked up in `index`) as one archive
/// to `out`; returns `out` after the end-of-archive marker.
///
/// Fails with [`ArchiveError::ImageNotFound`] before writing anything if a
/// reference is not in the index.
pub fn save<W: Write>(
    store: &ContentStore,
    index: &ImageIndex,
    references: &[Reference],
    format: ArchiveFormat,
    out: W,
) -> ArchiveResult<W> {
    let images = resolve(index, references)?;
    let mut sink = TarSink::new(out);
    match format {
        ArchiveFormat::Docker => write_docker(store, &images, &mut sink)?,
        ArchiveFormat::Oci => write_oci(store, &images, &mut sink)?,
    }
    sink.finish()
}

/// Looks every reference up in the index.
pub(crate) fn resolve(
    index: &ImageIndex,
    references: &[Reference],
) -> ArchiveResult<Vec<(Reference, Digest)>> {
    references
        .iter()
        .map(|r| match index.get(r)? {
            Some(record) => Ok((r.clone(), record.digest)),
            None => Err(ArchiveError::ImageNotFound {
                reference: r.to_string(),
            }),
        })
        .collect()
}

/// Writes configs and layers of every image, then `manifest.json` and `repositories`.
fn write_docker(
    store: &ContentStore,
    images: &[(Reference, Digest)],
    sink: &mut dyn Sink,
) -> ArchiveResult<()> {
    let mut entries: Vec<(Digest, DockerEntry)> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written = BTreeSet::new();
    for (reference, digest) in images {
        let manifest_digest = host_manifest_of(store, reference, digest)?;
        let pos = match entries.iter().position(|(d, _)| *d == manifest_digest) {
            Some(pos) => pos,
            None => {
                let entry = write_docker_image(store, &manifest_digest, sink, &mut written)?;
                entries.push((manifest_digest, entry));
                entries.len() - 1
            }
        };
        // Docker's RepoTags are name:tag only; a digest-only reference
        // (name@sha256:...) leaves the image untagged in the archive.
        let Some(tag) = reference.tag() else { continue };
        let entry = &mut entries[pos].1;
        let name = reference.familiar_name();
        let tags = entry.repo_tags.get_or_insert_with(Vec::new);
        tags.push(format!("{name}:{tag}"));
        if let Some(top) = entry.layers.last() {
            let top_dir = top.trim_end_matches("/layer.tar").to_string();
            repositories
                .entry(name)
                .or_default()
                .insert(tag.to_string(), top_dir);
        }
    }
    let entries: Vec<DockerEntry> = entries.into_iter().map(|(_, e)| e).collect();
    let manifest = serde_json::to_vec(&entries).expect("manifest.json always serialises");
    sink.bytes("manifest.json", &manifest)?;
    let repositories = serde_json::to_vec(&repositories).expect("repositories always serialises");
    sink.bytes("repositories", &repositories)
}

/// Writes one image's config and (not yet written) layers; returns its entry.
fn write_docker_image(
    store: &ContentStore,
    manifest_digest: &Digest,
    sink: &mut dyn Sink,
    written: &mut BTreeSet<String>,
) -> ArchiveResult<DockerEntry> {
    let manifest: ManifestDoc = store.read_json(manifest_digest)?;
    let config_digest = manifest.config.digest;
    let config_bytes = store.read_bytes(&config_digest)?;
    let config: ConfigDoc = serde_json::from_slice(&config_bytes).map_err(|source| {
        crate::error::ImageError::BlobJson {
            digest: config_digest,
            source,
        }
    })?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        let reason = "config diff_ids and manifest layers differ in number";
        return Err(ArchiveError::invalid(blob_member(&config_digest), reason));
    }
    let config_member = format!("{}.json", config_digest.hex());
    if written.insert(config_member.clone()) {
        sink.bytes(&config_member, &config_bytes)?;
    }
    let mut layers = Vec::new();
    for (layer, expected) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
        layers.push(write_docker_layer(store, layer, expected, sink, written)?);
    }
    Ok(DockerEntry {
        config: config_member,
        repo_tags: None,
        layers,
    })
}

/// Writes a layer as `<diff_id-hex>/layer.tar` (uncompressed) unless it was
/// written already, checking its diff_id; returns the member name.
fn write_docker_layer(
    store: &ContentStore,
    layer: &Desc,
    expected: &Digest,
    sink: &mut dyn Sink,
    written: &mut BTreeSet<String>,
) -> ArchiveResult<String> {
    let member = format!("{}/layer.tar", expected.hex());
    if !written.insert(member.clone()) {
        return Ok(member);
    }
    let compression = match media::layer_compression(&layer.media_type) {
        Some(c) => c,
        None => sniff_blob(store, &layer.digest)?,
    };
    let blob = blob_member(&layer.digest);
    let cached = store
        .known_uncompressed(&layer.digest)
        .filter(|(diff_id, _)| diff_id == expected);
    if let Some((_, size)) = cached {
        // One pass: the diff_id is checked as the bytes go by. A mismatch fails
        // after the member was written; `kiln save` then discards its output.
        // Decompressing and hashing run on a worker thread, ahead of the writes.
        let reader = open_uncompressed(store, &layer.digest, compression, &layer.media_type)?;
        let (written, hashing) = read_ahead(HashingReader::new(reader), |r| {
            sink.stream(&member, size, r)
        });
        written?;
        // The worker reads to the end: a stream longer than the cached size
        // (whose tar member was cut at that size) shows up in the count.
        let (actual, count) = hashing.digest();
        if count != size {
            let reason = format!("uncompressed size is {count}, not the cached {size}");
            return Err(ArchiveError::invalid(blob, reason));
        }
        check_diff_id(&blob, expected, &actual)?;
        return Ok(member);
    }
    let (actual, size) = diff_id(store, &layer.digest, compression, &layer.media_type)?;
    check_diff_id(&blob, expected, &actual)?;
    if compression != Compression::None {
        store.remember_uncompressed(&layer.digest, &actual, size);
    }
    let reader = open_uncompressed(store, &layer.digest, compression, &layer.media_type)?;
    read_ahead(reader, |r| sink.stream(&member, size, r)).0?;
    Ok(member)
}

/// The archive member name of a blob in an OCI layout (used in errors).
fn blob_member(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// The host platform's manifest of the image `reference` names (stored as
/// `digest`, a manifest or an index); an index without one is
/// [`ArchiveError::NoPlatformManifest`] naming the reference.
pub(crate) fn host_manifest_of(
    store: &ContentStore,
    reference: &Reference,
    digest: &Digest,
) -> ArchiveResult<Digest> {
    crate::resolve::host_manifest(store, digest).map_err(|e| match e {
        ImageError::NoPlatformManifest { platform, .. } => ArchiveError::NoPlatformManifest {
            reference: reference.familiar(),
            platform,
        },
        other => other.into(),
    })
}
