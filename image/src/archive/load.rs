//! Loading archives: stage all members, interpret them as an OCI layout or a
//! docker-archive, check every blob and digest, and only then tag.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{ArchiveError, ArchiveResult};
use super::load_docker::load_docker;
use super::load_oci::load_oci;
use super::stage::{stage_dir, stage_tar, Staged};
use super::LoadedImage;
use crate::content::ContentStore;
use crate::error::ImageError;
use crate::index::{ImageIndex, ImageRecord};
use crate::reference::Reference;

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

/// Parses a reference found in `member`, naming the member on failure.
pub(crate) fn parse_reference(member: &str, text: &str) -> ArchiveResult<Reference> {
    let reference = Reference::parse(text)
        .map_err(|e| ArchiveError::invalid(member, format!("bad image reference: {e}")))?;
    if reference.digest().is_some() {
        // Docker refuses to tag by digest; a digest names content, it does not point at it.
        let reason = format!("image reference {text:?} has a digest: refusing to tag by digest");
        return Err(ArchiveError::invalid(member, reason));
    }
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
