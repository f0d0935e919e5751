//! Loading OCI layouts (skopeo/buildctl `oci-archive`, docker 25+ archives):
//! `index.json` names the images; every blob of their trees is checked (in
//! the store, announced size) in one bounded, deduplicating walk
//! ([`Walk`]), then every image manifest's layers are checked against its
//! config's `rootfs.diff_ids`, as the docker-archive path does, so an archive
//! that could never be unpacked fails at load, not at the first `run`.
//! (containerd checks diff_ids at unpack time; kiln checks at load so a failed
//! load leaves nothing tagged.) Each distinct layer blob is decompressed once.

use super::docs::{ConfigDoc, Desc, IndexDoc, LayoutDoc, ManifestDoc};
use super::docs::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use super::error::{ArchiveError, ArchiveResult};
use super::layer::DiffIds;
use super::load::parse_reference;
use super::stage::Staged;
use super::walk::{blob_member, Walk};
use super::LoadedImage;
use crate::content::ContentStore;
use crate::media;
use crate::reference::Reference;

/// Reads `oci-layout` and `index.json`, checks every image's blob tree and
/// layers; returns the images `index.json` lists.
pub(crate) fn load_oci(store: &ContentStore, staged: &Staged) -> ArchiveResult<Vec<LoadedImage>> {
    let layout: LayoutDoc = staged.json(store, "oci-layout")?;
    if !layout.image_layout_version.starts_with("1.") {
        let reason = format!(
            "unsupported imageLayoutVersion {:?}",
            layout.image_layout_version
        );
        return Err(ArchiveError::invalid("oci-layout", reason));
    }
    let doc: IndexDoc = staged.json(store, "index.json")?;
    if doc.manifests.is_empty() {
        return Err(ArchiveError::NoImages {
            member: "index.json".to_string(),
        });
    }
    let check = |desc: &Desc, member: &str| check_blob(store, desc, member);
    let mut walk = Walk::new(store, staged.budget(), &check);
    let mut images = Vec::new();
    for desc in &doc.manifests {
        walk.tree(desc)?;
        images.push(LoadedImage {
            reference: oci_reference(desc)?,
            digest: desc.digest,
        });
    }
    let mut diff_ids = DiffIds::default();
    for (desc, manifest) in walk.manifests() {
        check_layers(store, staged, desc, manifest, &mut diff_ids)?;
    }
    Ok(images)
}

/// Checks that the blob `desc` names is in the store (blobs were
/// digest-checked when staged) with the announced size.
fn check_blob(store: &ContentStore, desc: &Desc, member: &str) -> ArchiveResult<()> {
    if !store.exists(&desc.digest)? {
        return Err(ArchiveError::MissingMember {
            member: member.to_string(),
        });
    }
    let size = store.size(&desc.digest)?;
    if size != desc.size {
        let reason = format!("size is {size}, its descriptor says {}", desc.size);
        return Err(ArchiveError::invalid(member, reason));
    }
    Ok(())
}

/// Checks an image manifest's layers against its config's diff_ids (other
/// artifacts, whose config is not an image config, are left alone).
fn check_layers(
    store: &ContentStore,
    staged: &Staged,
    desc: &Desc,
    manifest: &ManifestDoc,
    diff_ids: &mut DiffIds,
) -> ArchiveResult<()> {
    if !media::is_config(&manifest.config.media_type) {
        return Ok(());
    }
    let config_member = blob_member(&manifest.config.digest);
    let config: ConfigDoc =
        staged
            .budget()
            .read_blob(store, &manifest.config.digest, &config_member)?;
    let expected = &config.rootfs.diff_ids;
    if expected.len() != manifest.layers.len() {
        let reason = format!(
            "config has {} diff_ids but manifest {} lists {} layers",
            expected.len(),
            desc.digest,
            manifest.layers.len()
        );
        return Err(ArchiveError::invalid(config_member, reason));
    }
    for (layer, expected) in manifest.layers.iter().zip(expected) {
        if !media::is_foreign_layer(&layer.media_type) {
            diff_ids.check(store, &blob_member(&layer.digest), &layer.digest, expected)?;
        }
    }
    Ok(())
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
