//! The image catalog on a real content store and index: lookup by name, ID,
//! ID prefix (unique, ambiguous, unknown), `run`'s local resolution, and the
//! records that keep untagged images findable.

use kiln_image::catalog::{
    all_images, find, find_one, is_untagged, keep_if_orphaned, resolve_local, tag_image, Found,
    Stores,
};
use kiln_image::{Digest, ImageError, Reference};

/// Stores an image whose config carries `marker`; returns (manifest, config).
/// The config document of the image marked `marker`.
fn config_text(marker: &str) -> String {
    let platform = kiln_image::Platform::host();
    serde_json::json!({
        "architecture": platform.architecture, "os": platform.os,
        "config": {"Env": [format!("MARKER={marker}")]},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
    .to_string()
}

fn image(stores: &Stores, marker: &str) -> (Digest, Digest) {
    let config = config_text(marker);
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
        "layers": [],
    });
    let (manifest, _) = stores
        .content
        .ingest_bytes(manifest.to_string().as_bytes(), None)
        .unwrap();
    (manifest, config_digest)
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

#[test]
fn finds_by_name_id_and_unique_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path()).unwrap();
    let (manifest, id) = image(&stores, "a");
    tag_image(&stores.index, &reference("app:1"), &manifest).unwrap();
    match find(&stores.content, &stores.index, "app:1").unwrap() {
        Found::Name(name, image) => {
            assert_eq!(name, reference("app:1"));
            assert_eq!(image.id, id);
            assert_eq!(image.references, vec![reference("app:1")]);
        }
        Found::Id(_) => panic!("expected a match by name"),
    }
    for arg in [
        id.to_string(),
        id.hex().to_string(),
        id.hex()[..4].to_string(),
    ] {
        let found = find_one(&stores.content, &stores.index, &arg).unwrap();
        assert_eq!(found.manifest, manifest, "{arg}");
    }
    let upper = id.hex()[..12].to_ascii_uppercase();
    assert_eq!(
        find_one(&stores.content, &stores.index, &upper).unwrap().id,
        id
    );
}

#[test]
fn unknown_and_short_arguments_are_no_such_image() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path()).unwrap();
    let (manifest, id) = image(&stores, "a");
    tag_image(&stores.index, &reference("app:1"), &manifest).unwrap();
    for arg in ["other:1", &id.hex()[..3], "zzzz"] {
        let err = find(&stores.content, &stores.index, arg).err().unwrap();
        assert!(
            matches!(err, ImageError::NoSuchImage { .. }),
            "{arg}: {err}"
        );
        assert_eq!(err.to_string(), format!("No such image: {arg}"));
    }
}

#[test]
fn a_prefix_of_two_ids_is_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path()).unwrap();
    // Deterministically find two markers whose configs share 4 hex digits.
    let mut seen = std::collections::HashMap::new();
    let (first, second) = (0..20_000)
        .find_map(|n: u32| {
            let prefix = Digest::of(config_text(&n.to_string()).as_bytes()).hex()[..4].to_string();
            seen.insert(prefix, n).map(|m| (m, n))
        })
        .expect("a 4-digit collision among 20000 hashes");
    for (tag, n) in [("a", first), ("b", second)] {
        let (manifest, _) = image(&stores, &n.to_string());
        tag_image(&stores.index, &reference(&format!("app:{tag}")), &manifest).unwrap();
    }
    let prefix = Digest::of(config_text(&first.to_string()).as_bytes()).hex()[..4].to_string();
    let err = find(&stores.content, &stores.index, &prefix).err().unwrap();
    assert!(
        matches!(err, ImageError::AmbiguousImageId { count: 2, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("ambiguous image ID prefix {prefix:?}: matches 2 images")
    );
    // One more digit (where they differ) finds exactly one.
    let longer = Digest::of(config_text(&first.to_string()).as_bytes()).hex()[..12].to_string();
    assert!(
        matches!(find(&stores.content, &stores.index, &longer).unwrap(), Found::Id(ids) if ids.len() == 1)
    );
}

#[test]
fn run_resolution_names_the_normalised_reference() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path()).unwrap();
    let (manifest, id) = image(&stores, "a");
    tag_image(&stores.index, &reference("app:1"), &manifest).unwrap();
    assert_eq!(
        resolve_local(&stores.content, &stores.index, "app:1")
            .unwrap()
            .id,
        id
    );
    assert_eq!(
        resolve_local(&stores.content, &stores.index, &id.hex()[..8])
            .unwrap()
            .id,
        id
    );
    let err = resolve_local(&stores.content, &stores.index, "nope")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Unable to find image 'docker.io/library/nope:latest' locally (kiln does not pull from registries yet)"
    );
    let err = resolve_local(&stores.content, &stores.index, "Bad Name")
        .err()
        .unwrap();
    assert!(
        matches!(err, ImageError::NotFoundLocally { ref reference } if reference == "Bad Name")
    );
}

#[test]
fn moving_a_tag_keeps_the_old_image_as_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path()).unwrap();
    let (old, old_id) = image(&stores, "old");
    let (new, _) = image(&stores, "new");
    tag_image(&stores.index, &reference("app:1"), &old).unwrap();
    tag_image(&stores.index, &reference("app:1"), &new).unwrap();
    let images = all_images(&stores.content, &stores.index).unwrap();
    assert_eq!(images.len(), 2);
    let dangling = images.iter().find(|i| i.manifest == old).unwrap();
    assert!(dangling.dangling(), "the old image has no real name");
    let markers: Vec<_> = stores
        .index
        .list()
        .unwrap()
        .into_iter()
        .filter(|(r, _)| is_untagged(r))
        .collect();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].1.digest, old);
    // Still findable by ID; tagging it again drops the marker.
    assert_eq!(
        find_one(&stores.content, &stores.index, &old_id.hex())
            .unwrap()
            .manifest,
        old
    );
    tag_image(&stores.index, &reference("app:old"), &old).unwrap();
    assert!(!stores
        .index
        .list()
        .unwrap()
        .iter()
        .any(|(r, _)| is_untagged(r)));
    // An orphan with no record at all gets one; a named image does not.
    stores.index.untag(&reference("app:old")).unwrap();
    keep_if_orphaned(&stores.index, &old).unwrap();
    keep_if_orphaned(&stores.index, &new).unwrap();
    let markers: Vec<_> = stores
        .index
        .list()
        .unwrap()
        .into_iter()
        .filter(|(r, _)| is_untagged(r))
        .collect();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].1.digest, old);
}
