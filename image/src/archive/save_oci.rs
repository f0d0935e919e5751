//! Saving images as an OCI image layout (tar stream or directory).
//!
//! ```text
//! oci-layout               {"imageLayoutVersion":"1.0.0"}
//! blobs/sha256/<hex>       every blob reachable from the images, once, as stored
//! index.json               one descriptor per reference, annotated with
//!                          io.containerd.image.name = docker.io/library/busybox:latest
//!                          org.opencontainers.image.ref.name = latest
//! manifest.json            [{"Config": "blobs/sha256/<hex>", "RepoTags", "Layers"}]
//! ```
//!
//! These are the annotations docker 25+ and containerd write; skopeo and
//! buildctl read them. `manifest.json` is what docker 25+ writes next to the
//! layout, so docker versions before 25 (which know only `manifest.json`) can
//! `docker load` the archive too; it lists the host-platform manifest of each
//! image (layers as stored: `docker load` decompresses gzip itself) and is
//! left out for images with foreign (not included) layers or without a
//! manifest for the host platform. Manifests and layers are written exactly as stored
//! (compressed or not), so digests are preserved. A multi-platform index is
//! written with all its children, which must all be in the store. The tree is
//! walked as load walks it ([`Walk`]): each blob once, within the caps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::budget::Budget;
use super::docs::{
    Desc, DockerEntry, IndexDoc, LayoutDoc, ManifestDoc, ANNOTATION_IMAGE_NAME,
    ANNOTATION_REF_NAME, LAYOUT_VERSION,
};
use super::error::{ArchiveError, ArchiveResult};
use super::save::{host_manifest_of, resolve};
use super::sink::{DirSink, Sink};
use super::walk::{blob_member, Walk};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::index::ImageIndex;
use crate::media;
use crate::reference::Reference;

/// Writes the images `references` name into the OCI layout directory `dir`
/// (created if missing). Blobs already there are kept; `index.json` is
/// replaced, so it lists exactly these images.
pub fn save_oci_dir(
    store: &ContentStore,
    index: &ImageIndex,
    references: &[Reference],
    dir: &Path,
) -> ArchiveResult<()> {
    let images = resolve(index, references)?;
    let mut sink = DirSink::new(dir)?;
    write_oci(store, &images, &mut sink)
}

/// Writes `oci-layout`, the blobs of every image, then `index.json`.
pub(crate) fn write_oci(
    store: &ContentStore,
    images: &[(Reference, Digest)],
    sink: &mut dyn Sink,
) -> ArchiveResult<()> {
    let layout = LayoutDoc {
        image_layout_version: LAYOUT_VERSION.to_string(),
    };
    sink.bytes("oci-layout", &to_json(&layout))?;
    let mut written = BTreeSet::new();
    let budget = Budget::default();
    let no_check = |_: &Desc, _: &str| Ok(());
    let mut walk = Walk::new(store, &budget, &no_check);
    let mut manifests = Vec::new();
    for (reference, digest) in images {
        let media_type = write_tree(store, digest, sink, &mut walk, &mut written)?;
        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOTATION_IMAGE_NAME.to_string(), reference.to_string());
        if let Some(tag) = reference.tag() {
            annotations.insert(ANNOTATION_REF_NAME.to_string(), tag.to_string());
        }
        manifests.push(Desc {
            media_type,
            digest: *digest,
            size: store.size(digest)?,
            platform: None,
            annotations: Some(annotations),
        });
    }
    let index = IndexDoc {
        schema_version: 2,
        media_type: Some(media::OCI_INDEX.to_string()),
        manifests,
    };
    sink.bytes("manifest.json", &to_json(&docker_entries(store, images)?))?;
    sink.bytes("index.json", &to_json(&index))
}

/// The `manifest.json` entries (docker 25+ style) of the images, one per
/// manifest, tags merged; images with foreign layers are left out.
fn docker_entries(
    store: &ContentStore,
    images: &[(Reference, Digest)],
) -> ArchiveResult<Vec<DockerEntry>> {
    let member = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    let mut entries: Vec<(Digest, DockerEntry)> = Vec::new();
    for (reference, digest) in images {
        let manifest_digest = match host_manifest_of(store, reference, digest) {
            Ok(digest) => digest,
            // Not runnable here: in the layout, but not in `manifest.json`.
            Err(ArchiveError::NoPlatformManifest { .. }) => continue,
            Err(e) => return Err(e),
        };
        let pos = match entries.iter().position(|(d, _)| *d == manifest_digest) {
            Some(pos) => pos,
            None => {
                let manifest: ManifestDoc = store.read_json(&manifest_digest)?;
                if manifest
                    .layers
                    .iter()
                    .any(|l| media::is_foreign_layer(&l.media_type))
                {
                    continue;
                }
                let entry = DockerEntry {
                    config: member(&manifest.config.digest),
                    repo_tags: None,
                    layers: manifest.layers.iter().map(|l| member(&l.digest)).collect(),
                };
                entries.push((manifest_digest, entry));
                entries.len() - 1
            }
        };
        if let Some(tag) = reference.tag() {
            let tags = entries[pos].1.repo_tags.get_or_insert_with(Vec::new);
            tags.push(format!("{}:{tag}", reference.familiar_name()));
        }
    }
    Ok(entries.into_iter().map(|(_, e)| e).collect())
}

/// Writes a manifest or index and everything below it (children first,
/// each blob once, within the caps of `budget`: see [`Walk`]); returns its
/// media type (as the document declares it, else by its shape).
fn write_tree(
    store: &ContentStore,
    digest: &Digest,
    sink: &mut dyn Sink,
    walk: &mut Walk<'_>,
    written: &mut BTreeSet<Digest>,
) -> ArchiveResult<String> {
    let root = root_desc(store, walk.budget(), digest)?;
    for desc in walk.tree(&root)? {
        write_blob(store, &desc.digest, sink, written)?;
    }
    // Already walked (an image saved under two names): still written once.
    write_blob(store, digest, sink, written)?;
    Ok(root.media_type)
}

/// A descriptor for the stored manifest or index `digest`: its declared
/// media type, else an index when it has `manifests`, else a manifest.
fn root_desc(store: &ContentStore, budget: &Budget, digest: &Digest) -> ArchiveResult<Desc> {
    let member = blob_member(digest);
    let doc: serde_json::Value = budget.read_blob(store, digest, &member)?;
    let declared = doc.get("mediaType").and_then(|m| m.as_str());
    let media_type = match declared {
        Some(declared) => declared.to_string(),
        None if doc.get("manifests").is_some() => media::OCI_INDEX.to_string(),
        None => media::OCI_MANIFEST.to_string(),
    };
    Ok(Desc {
        media_type,
        digest: *digest,
        size: store.size(digest)?,
        platform: None,
        annotations: None,
    })
}

/// Writes one blob unless it was written already.
fn write_blob(
    store: &ContentStore,
    digest: &Digest,
    sink: &mut dyn Sink,
    written: &mut BTreeSet<Digest>,
) -> ArchiveResult<()> {
    if written.insert(*digest) {
        sink.blob(&format!("blobs/sha256/{}", digest.hex()), store, digest)?;
    }
    Ok(())
}

/// Serialises a document kiln builds (cannot fail).
fn to_json<T: serde::Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).expect("archive documents always serialise")
}
