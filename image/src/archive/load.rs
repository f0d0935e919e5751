//! Loading archives: stage all members, interpret them as an OCI layout or a
//! docker-archive, check every blob and digest, and only then tag.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::docs::{Desc, IndexDoc, LayoutDoc, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use super::error::{ArchiveError, ArchiveResult};
use super::load_docker::load_docker;
use super::stage::{stage_dir, stage_tar, Staged};
use super::LoadedImage;
use crate::content::ContentStore;
use crate::error::ImageError;
use crate::index::{ImageIndex, ImageRecord};
use crate::media;
use crate::reference::Reference;

/// How deep indexes may nest inside an OCI layout.
const MAX_DEPTH: usize = 8;

/// Loads a docker-archive or OCI archive (plain or gzip tar) from `reader`:
/// ingests its blobs into `store`, checks them, then tags its images in `index`.
///
/// Returns the images found, tagged ones with their reference. On error the
/// index is unchanged (blobs already ingested stay, unreferenced).
pub fn load<R: Read>(
    store: &ContentStore,
    index: &ImageIndex,
    reader: R,
) -> ArchiveResult<Vec<LoadedImage>> {
    let staged = stage_tar(store, reader)?;
    finish(store, index, &staged)
}

/// [`load`] from a tar (or tar.gz) file.
pub fn load_file(
    store: &ContentStore,
    index: &ImageIndex,
    path: &Path,
) -> ArchiveResult<Vec<LoadedImage>> {
    let file = File::open(path).map_err(|e| ImageError::io("open", path, e))?;
    load(store, index, file)
}

/// [`load`] from an OCI layout directory (or an unpacked docker-archive).
pub fn load_dir(
    store: &ContentStore,
    index: &ImageIndex,
    dir: &Path,
) -> ArchiveResult<Vec<LoadedImage>> {
    let staged = stage_dir(store, dir)?;
    finish(store, index, &staged)
}

/// Interprets the staged archive, then tags everything in one index update.
fn finish(
    store: &ContentStore,
    index: &ImageIndex,
    staged: &Staged,
) -> ArchiveResult<Vec<LoadedImage>> {
    let images = interpret(store, staged)?;
    tag_all(index, &images)?;
    Ok(images)
}

/// Chooses the format: an OCI layout wins when it names its images (docker
/// 25+ archives carry both and name them in both); otherwise `manifest.json`.
fn interpret(store: &ContentStore, staged: &Staged) -> ArchiveResult<Vec<LoadedImage>> {
    let is_oci = staged.contains("oci-layout") && staged.contains("index.json");
    let is_docker = staged.contains("manifest.json");
    match (is_oci, is_docker) {
        (true, true) => {
            let oci = load_oci(store, staged)?;
            if oci.iter().any(|i| i.reference.is_some()) {
                Ok(oci)
            } else {
                load_docker(store, staged)
            }
        }
        (true, false) => load_oci(store, staged),
        (false, true) => load_docker(store, staged),
        (false, false) => Err(ArchiveError::UnknownFormat),
    }
}

/// Reads `oci-layout` and `index.json`, checks every image's blob tree.
fn load_oci(store: &ContentStore, staged: &Staged) -> ArchiveResult<Vec<LoadedImage>> {
    let layout: LayoutDoc = staged.json(store, "oci-layout")?;
    if !layout.image_layout_version.starts_with("1.") {
        let reason = format!(
            "unsupported imageLayoutVersion {:?}",
            layout.image_layout_version
        );
        return Err(ArchiveError::invalid("oci-layout", reason));
    }
    let doc: IndexDoc = staged.json(store, "index.json")?;
    let mut images = Vec::new();
    for desc in &doc.manifests {
        check_tree(store, desc, 0)?;
        images.push(LoadedImage {
            reference: oci_reference(desc)?,
            digest: desc.digest,
        });
    }
    Ok(images)
}

/// Checks that the blob `desc` names, and everything it references, is in the
/// store with the announced size (blobs were digest-checked when staged).
fn check_tree(store: &ContentStore, desc: &Desc, depth: usize) -> ArchiveResult<()> {
    let member = format!("blobs/sha256/{}", desc.digest.hex());
    if !store.exists(&desc.digest)? {
        return Err(ArchiveError::MissingMember { member });
    }
    let size = store.size(&desc.digest)?;
    if size != desc.size {
        let reason = format!("size is {size}, its descriptor says {}", desc.size);
        return Err(ArchiveError::invalid(member, reason));
    }
    if depth > MAX_DEPTH {
        return Err(ArchiveError::invalid(member, "indexes nested too deeply"));
    }
    if media::is_manifest(&desc.media_type) {
        let manifest: super::docs::ManifestDoc = read_json(store, desc, &member)?;
        check_tree(store, &manifest.config, depth + 1)?;
        for layer in &manifest.layers {
            if !media::is_foreign_layer(&layer.media_type) {
                check_tree(store, layer, depth + 1)?;
            }
        }
    } else if media::is_index(&desc.media_type) {
        let index: IndexDoc = read_json(store, desc, &member)?;
        for child in &index.manifests {
            check_tree(store, child, depth + 1)?;
        }
    }
    Ok(())
}

/// Reads a JSON blob, naming `member` if it does not decode.
fn read_json<T: serde::de::DeserializeOwned>(
    store: &ContentStore,
    desc: &Desc,
    member: &str,
) -> ArchiveResult<T> {
    let bytes = store.read_bytes(&desc.digest)?;
    serde_json::from_slice(&bytes).map_err(ArchiveError::json(member))
}

/// The reference an `index.json` entry names: `io.containerd.image.name`, or
/// `org.opencontainers.image.ref.name` when that is a full reference (a bare
/// tag such as `latest` names no repository, so the image stays untagged).
fn oci_reference(desc: &Desc) -> ArchiveResult<Option<Reference>> {
    let Some(annotations) = &desc.annotations else {
        return Ok(None);
    };
    let name = annotations.get(ANNOTATION_IMAGE_NAME).or_else(|| {
        annotations
            .get(ANNOTATION_REF_NAME)
            .filter(|r| r.contains(':') || r.contains('/'))
    });
    name.map(|n| parse_reference("index.json", n)).transpose()
}

/// Parses a reference found in `member`, naming the member on failure.
pub(crate) fn parse_reference(member: &str, text: &str) -> ArchiveResult<Reference> {
    let reference = Reference::parse(text)
        .map_err(|e| ArchiveError::invalid(member, format!("bad image reference: {e}")))?;
    if reference.tag().is_none() {
        let reason = format!("image reference {text:?} has no tag");
        return Err(ArchiveError::invalid(member, reason));
    }
    Ok(reference)
}

/// Tags every named image in one locked index update (all or nothing).
fn tag_all(index: &ImageIndex, images: &[LoadedImage]) -> ArchiveResult<()> {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    index.update(|all| {
        for image in images {
            let Some(reference) = &image.reference else {
                continue;
            };
            if all.get(reference).map(|r| r.digest) != Some(image.digest) {
                let record = ImageRecord {
                    digest: image.digest,
                    created,
                };
                all.insert(reference.clone(), record);
            }
        }
    })?;
    Ok(())
}
