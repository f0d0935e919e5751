//! `rmi` and `image prune` rules on real stores: conflicts with the
//! containers that use an image, what a forced removal keeps, Docker's
//! order of what is reported, and prune's dangling/all choice.

use std::collections::BTreeMap;

use kiln_builder::image_remove::{image_users, prune, remove, ImageRemoveError, Removal};
use kiln_image::catalog::{tag_image, Stores};
use kiln_image::{Digest, Reference};
use kiln_runtime::container::{new_id, ContainerRecord, ContainerStore};

/// Stores an image with one layer, marked `marker`; returns (manifest, config, layer).
fn image(stores: &Stores, marker: &str) -> (Digest, Digest, Digest) {
    let (layer, layer_size) = stores
        .content
        .ingest_bytes(format!("layer {marker}").as_bytes(), None)
        .unwrap();
    let platform = kiln_image::Platform::host();
    let config = serde_json::json!({
        "architecture": platform.architecture, "os": platform.os,
        "config": {"Env": [format!("MARKER={marker}")]},
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    })
    .to_string();
    let (config_digest, config_size) = stores
        .content
        .ingest_bytes(config.as_bytes(), None)
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.to_string(),
            "size": config_size,
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer.to_string(),
            "size": layer_size,
        }],
    })
    .to_string();
    let (manifest, _) = stores
        .content
        .ingest_bytes(manifest.as_bytes(), None)
        .unwrap();
    (manifest, config_digest, layer)
}

/// A stopped container using the image.
fn container_of(root: &std::path::Path, manifest: &Digest, config: &Digest) -> String {
    let id = new_id().unwrap();
    let store = ContainerStore::open(root).unwrap();
    store
        .create(&ContainerRecord {
            id: id.clone(),
            name: "user".into(),
            created: kiln_image::time::format_rfc3339_nanos(1, 0),
            image_id: config.to_string(),
            manifest: manifest.to_string(),
            path: "true".into(),
            args: vec![],
            config: Default::default(),
            host_config: Default::default(),
            mounts: vec![],
            runtime: "kiln".into(),
            snapshotter: "overlay".into(),
            snapshot_key: String::new(),
            endpoints_config: Default::default(),
        })
        .unwrap();
    id
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

#[test]
fn an_image_a_stopped_container_uses_needs_force_and_keeps_its_blobs() {
    let root = tempfile::tempdir().unwrap();
    let stores = Stores::open(root.path()).unwrap();
    let (manifest, config, layer) = image(&stores, "used");
    tag_image(&stores.index, &reference("app:1"), &manifest).unwrap();
    let id = container_of(root.path(), &manifest, &config);
    let users = image_users(root.path()).unwrap();
    let short = &config.hex()[..12];
    let err = remove(&stores, "app:1", false, &users).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to remove repository reference \"app:1\" (must force) - container {} is using its referenced image {short}", &id[..12])
    );
    let err = remove(&stores, short, false, &users).err().unwrap();
    assert!(
        matches!(err, ImageRemoveError::UsedByStopped { .. }),
        "{err}"
    );
    let done = remove(&stores, short, true, &users).unwrap();
    assert_eq!(done, [Removal::Untagged(reference("app:1"))]);
    for blob in [manifest, config, layer] {
        assert!(
            stores.content.exists(&blob).unwrap(),
            "{blob} is kept for the container"
        );
    }
}

#[test]
fn an_unused_image_goes_with_its_blobs_id_first() {
    let root = tempfile::tempdir().unwrap();
    let stores = Stores::open(root.path()).unwrap();
    let (manifest, config, layer) = image(&stores, "free");
    tag_image(&stores.index, &reference("app:1"), &manifest).unwrap();
    tag_image(&stores.index, &reference("app:2"), &manifest).unwrap();
    let users = image_users(root.path()).unwrap();
    let err = remove(&stores, &config.hex(), false, &users).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", &config.hex()[..12])
    );
    // One name of two: only untagged.
    assert_eq!(
        remove(&stores, "app:2", false, &users).unwrap(),
        [Removal::Untagged(reference("app:2"))]
    );
    let done = remove(&stores, "app:1", false, &users).unwrap();
    assert_eq!(
        done,
        [
            Removal::Untagged(reference("app:1")),
            Removal::Deleted(config),
            Removal::Deleted(layer),
        ]
    );
    assert!(!stores.content.exists(&manifest).unwrap());
    let err = remove(&stores, "app:1", false, &users).err().unwrap();
    assert_eq!(err.to_string(), "No such image: app:1");
}

#[test]
fn prune_takes_dangling_images_or_all_unused() {
    let root = tempfile::tempdir().unwrap();
    let stores = Stores::open(root.path()).unwrap();
    let (old, old_config, _) = image(&stores, "old");
    let (new, _, _) = image(&stores, "new");
    let (kept, kept_config, _) = image(&stores, "kept");
    tag_image(&stores.index, &reference("app:1"), &old).unwrap();
    tag_image(&stores.index, &reference("app:1"), &new).unwrap(); // old is now dangling
    tag_image(&stores.index, &reference("db:1"), &kept).unwrap();
    container_of(root.path(), &kept, &kept_config);
    let pruned = prune(root.path(), false).unwrap();
    assert_eq!(pruned.removals.first(), Some(&Removal::Deleted(old_config)));
    assert!(pruned.reclaimed > 0);
    assert!(!stores.content.exists(&old).unwrap());
    let pruned = prune(root.path(), true).unwrap();
    assert_eq!(pruned.removals[0], Removal::Untagged(reference("app:1")));
    let left: BTreeMap<String, Digest> = stores
        .index
        .list()
        .unwrap()
        .into_iter()
        .map(|(r, rec)| (r.to_string(), rec.digest))
        .collect();
    assert_eq!(
        left,
        BTreeMap::from([(reference("db:1").to_string(), kept)])
    );
}
