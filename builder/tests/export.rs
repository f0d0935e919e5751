//! Exporting snapshots as layers and writing an image that kiln's own unpack
//! reads back to the same tree, for both snapshotters.

use std::fs;
use std::path::Path;

use kiln_builder::export::{export_layer, ImageDoc};
use kiln_image::{media, ContentStore};
use kiln_snapshotter::{
    mount, tree_listing, unpack, DiffOptions, Labels, NativeSnapshotter, OverlaySnapshotter,
    Snapshotter,
};

/// Mounts `key` on a fresh dir under `root`, runs `change`, unmounts.
fn edit(root: &Path, sn: &dyn Snapshotter, key: &str, change: impl FnOnce(&Path)) {
    let dir = root.join(format!("mnt-{key}"));
    fs::create_dir_all(&dir).unwrap();
    let mounts = sn.mounts(key).unwrap();
    mount::mount_all(&mounts, &dir).unwrap();
    change(&dir);
    mount::unmount_all(&dir, false).unwrap();
}

fn listing_of(root: &Path, sn: &dyn Snapshotter, parent: &str, name: &str) -> String {
    let key = format!("listing-{name}");
    let mounts = sn.view(&key, Some(parent)).unwrap();
    let dir = root.join(&key);
    fs::create_dir_all(&dir).unwrap();
    mount::mount_all(&mounts, &dir).unwrap();
    let text = tree_listing(&dir).unwrap();
    mount::unmount_all(&dir, false).unwrap();
    sn.remove(&key).unwrap();
    text
}

fn round_trip(make: impl Fn(&Path) -> Box<dyn Snapshotter>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let content = ContentStore::new(root).unwrap();
    let sn = make(&root.join("build"));
    let opts = DiffOptions::default();
    let mut image = ImageDoc::scratch();

    sn.prepare("step1", None, &Labels::new()).unwrap();
    edit(root, sn.as_ref(), "step1", |d| {
        fs::create_dir_all(d.join("app/sub")).unwrap();
        fs::write(d.join("app/keep"), "keep").unwrap();
        fs::write(d.join("app/sub/gone"), "gone").unwrap();
    });
    let first = export_layer(sn.as_ref(), "step1", None, &content, &opts).unwrap();
    sn.commit("c1", "step1").unwrap();
    image.add_layer(
        &first,
        media::OCI_LAYER_TAR_GZIP,
        "2024-01-01T00:00:00Z",
        "COPY app /app # buildkit",
    );
    image
        .config()
        .insert("Env".into(), serde_json::json!(["A=1"]));
    image.add_empty("2024-01-01T00:00:00Z", "ENV A=1");

    sn.prepare("step2", Some("c1"), &Labels::new()).unwrap();
    edit(root, sn.as_ref(), "step2", |d| {
        fs::remove_file(d.join("app/sub/gone")).unwrap();
        fs::write(d.join("app/new"), "new").unwrap();
    });
    let second = export_layer(sn.as_ref(), "step2", Some("c1"), &content, &opts).unwrap();
    sn.commit("c2", "step2").unwrap();
    image.add_layer(
        &second,
        media::OCI_LAYER_TAR_GZIP,
        "2024-01-01T00:00:01Z",
        "RUN /bin/sh -c rm app/sub/gone # buildkit",
    );
    let (manifest, config) = image.write(&content, "2024-01-01T00:00:02Z").unwrap();

    let doc: serde_json::Value =
        serde_json::from_slice(&content.read_bytes(&config).unwrap()).unwrap();
    assert_eq!(doc["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(doc["rootfs"]["diff_ids"][1], second.diff_id.to_string());
    assert_eq!(doc["history"].as_array().unwrap().len(), 3);
    assert_eq!(doc["history"][1]["empty_layer"], true);
    assert_eq!(doc["config"]["Env"][0], "A=1");
    assert_eq!(doc["created"], "2024-01-01T00:00:02Z");

    // kiln's own unpack of the written image gives the built tree.
    let other = make(&root.join("check"));
    let top = unpack(&content, &manifest, other.as_ref()).unwrap();
    let built = listing_of(root, sn.as_ref(), "c2", "built");
    let unpacked = listing_of(root, other.as_ref(), &top, "unpacked");
    assert_eq!(built, unpacked);
    assert!(unpacked.contains("app/new"));
    assert!(
        !unpacked.contains("app/sub/gone"),
        "the deletion became a whiteout"
    );
}

#[test]
fn overlay_snapshots_round_trip() {
    round_trip(|root| Box::new(OverlaySnapshotter::new(root).unwrap()));
}

#[test]
fn native_snapshots_round_trip() {
    round_trip(|root| Box::new(NativeSnapshotter::new(root).unwrap()));
}
