//! `unpack` on the real kernel (as root), with both snapshotters: chain IDs,
//! shared layers, discarded failures, and interop with umoci both ways (what kiln
//! writes, umoci unpacks to the same tree as kiln; what umoci writes, kiln unpacks
//! to the same tree as umoci).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_image::archive::{import_rootfs, load_dir, save_oci_dir};
use kiln_image::media::{Compression as MediaCompression, OCI_LAYER_TAR_GZIP};
use kiln_image::{ContentStore, Digest, ImageError, ImageIndex, Reference};
use kiln_snapshotter::conformance::{Mounted, TempRoot};
use kiln_snapshotter::{
    apply, chain_ids, diff_trees, tree_listing, unpack, Compression, DiffOptions, Kind,
    NativeSnapshotter, OverlaySnapshotter, Snapshotter, UnpackError,
};
use serde_json::{json, Value};

type Make = fn(&Path) -> Box<dyn Snapshotter>;

fn overlay(root: &Path) -> Box<dyn Snapshotter> {
    Box::new(OverlaySnapshotter::new(root).expect("open overlay snapshotter"))
}

fn native(root: &Path) -> Box<dyn Snapshotter> {
    Box::new(NativeSnapshotter::new(root).expect("open native snapshotter"))
}

/// Runs a command, panicking with its output on failure.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fails (never skips) when umoci is missing.
fn umoci() -> Command {
    let found = Command::new("umoci").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "umoci is not installed: run ./scripts/install-deps --test"
    );
    Command::new("umoci")
}

/// The busybox rootfs tar from testdata/busybox/make-rootfs.sh.
fn busybox_tar(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/busybox/make-rootfs.sh");
    let out = dir.join("busybox.tar");
    run(Command::new(script).arg(&out));
    out
}

/// A content store and image index under `root`.
fn stores(root: &Path) -> (ContentStore, ImageIndex) {
    (
        ContentStore::new(root).unwrap(),
        ImageIndex::new(root).unwrap(),
    )
}

/// The tree of the committed snapshot `top`, through a mounted view.
fn snapshot_listing(root: &TempRoot, sn: &dyn Snapshotter, top: &str) -> String {
    let key = format!("listing-{top}");
    let mounts = sn.view(&key, Some(top)).unwrap();
    let listing = {
        let m = Mounted::new(root, &mounts);
        tree_listing(m.path()).unwrap()
    };
    sn.remove(&key).unwrap();
    listing
}

/// Imports busybox as `kiln-test/busybox:base`, then adds a layer made with the
/// differ (a whiteout of `bin/vi`, a new `etc/motd`) as `kiln-test/busybox:two`.
/// Returns (base manifest, two-layer manifest).
fn kiln_image(root: &Path, store: &ContentStore, index: &ImageIndex) -> (Digest, Digest) {
    let tar = busybox_tar(root);
    let base_ref = Reference::parse("kiln-test/busybox:base").unwrap();
    let file = File::open(&tar).unwrap();
    let base = import_rootfs(store, index, file, &base_ref, MediaCompression::Gzip).unwrap();
    let (lower, upper) = (root.join("lower"), root.join("upper"));
    fs::create_dir_all(&lower).unwrap();
    apply(File::open(&tar).unwrap(), &lower).unwrap();
    run(Command::new("cp").arg("-a").arg(&lower).arg(&upper));
    fs::remove_file(upper.join("bin/vi")).unwrap();
    fs::write(upper.join("etc/motd"), "made by kiln\n").unwrap();
    let mut layer = Vec::new();
    let opts = DiffOptions {
        compression: Compression::Gzip,
        source_date_epoch: None,
    };
    let digests = diff_trees(Some(&lower), &upper, &mut layer, &opts).unwrap();
    let (blob, size) = store.ingest_bytes(&layer, None).unwrap();
    assert_eq!(blob.to_string(), digests.digest);
    let mut config: Value = store
        .read_json(
            &manifest_doc(store, &base)["config"]["digest"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        )
        .unwrap();
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .unwrap()
        .push(json!(digests.diff_id));
    config["history"]
        .as_array_mut()
        .unwrap()
        .push(json!({"created_by": "kiln test layer"}));
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let (config_digest, config_size) = store.ingest_bytes(&config_bytes, None).unwrap();
    let mut manifest = manifest_doc(store, &base);
    manifest["config"]["digest"] = json!(config_digest.to_string());
    manifest["config"]["size"] = json!(config_size);
    manifest["layers"].as_array_mut().unwrap().push(json!({
        "mediaType": OCI_LAYER_TAR_GZIP,
        "digest": blob.to_string(),
        "size": size,
    }));
    let (two, _) = store
        .ingest_bytes(&serde_json::to_vec(&manifest).unwrap(), None)
        .unwrap();
    index
        .tag(&Reference::parse("kiln-test/busybox:two").unwrap(), &two)
        .unwrap();
    (base, two)
}

fn manifest_doc(store: &ContentStore, digest: &Digest) -> Value {
    store.read_json(digest).unwrap()
}

/// kiln builds and saves; umoci unpacks; the trees are equal.
fn umoci_reads_what_kiln_writes(make: Make) {
    let root = TempRoot::new();
    let (store, index) = stores(root.path());
    let (_base, two) = kiln_image(root.path(), &store, &index);
    let sn = make(root.path());
    let top = unpack(&store, &two, sn.as_ref()).unwrap();
    let ours = snapshot_listing(&root, sn.as_ref(), &top);
    assert!(
        ours.contains("\netc/motd file 0644 0:0 13 sha256:"),
        "{ours}"
    );
    assert!(!ours.contains("\nbin/vi "), "{ours}");
    let layout = root.path().join("layout");
    let two_ref = Reference::parse("kiln-test/busybox:two").unwrap();
    save_oci_dir(&store, &index, &[two_ref], &layout).unwrap();
    let bundle = root.path().join("bundle");
    run(umoci()
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:two", layout.display()))
        .arg(&bundle));
    let theirs = tree_listing(&bundle.join("rootfs")).unwrap();
    assert_eq!(ours, theirs);
}

/// umoci builds (busybox, then a layer deleting `bin/vi` and adding a file);
/// kiln loads and unpacks; the trees are equal.
fn kiln_reads_what_umoci_writes(make: Make) {
    let root = TempRoot::new();
    let dir = root.path();
    let tar = busybox_tar(dir);
    let layout = dir.join("layout");
    let image = |tag: &str| format!("{}:{tag}", layout.display());
    run(umoci().args(["init", "--layout"]).arg(&layout));
    run(umoci().args(["new", "--image"]).arg(image("empty")));
    let b1 = dir.join("b1");
    run(umoci()
        .args(["unpack", "--image"])
        .arg(image("empty"))
        .arg(&b1));
    run(Command::new("tar")
        .arg("-xpf")
        .arg(&tar)
        .arg("-C")
        .arg(b1.join("rootfs")));
    run(umoci()
        .args(["repack", "--image"])
        .arg(image("base"))
        .arg(&b1));
    let b2 = dir.join("b2");
    run(umoci()
        .args(["unpack", "--image"])
        .arg(image("base"))
        .arg(&b2));
    fs::remove_file(b2.join("rootfs/bin/vi")).unwrap();
    fs::create_dir(b2.join("rootfs/opt")).unwrap();
    fs::write(b2.join("rootfs/opt/hello"), "made by umoci\n").unwrap();
    run(umoci()
        .args(["repack", "--image"])
        .arg(image("two"))
        .arg(&b2));
    let b3 = dir.join("b3");
    run(umoci()
        .args(["unpack", "--image"])
        .arg(image("two"))
        .arg(&b3));
    let theirs = tree_listing(&b3.join("rootfs")).unwrap();

    let (store, index) = stores(&dir.join("kiln"));
    load_dir(&store, &index, &layout).unwrap();
    let two = layout_manifest(&layout, "two");
    let sn = make(dir);
    let top = unpack(&store, &two, sn.as_ref()).unwrap();
    let ours = snapshot_listing(&root, sn.as_ref(), &top);
    assert!(
        ours.contains("\nopt/hello file 0644 0:0 14 sha256:"),
        "{ours}"
    );
    assert!(!ours.contains("\nbin/vi "), "{ours}");
    assert_eq!(ours, theirs);
}

/// The manifest digest `index.json` of the OCI layout names `tag`.
fn layout_manifest(layout: &Path, tag: &str) -> Digest {
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"));
    entry["digest"].as_str().unwrap().parse().unwrap()
}

/// Images sharing a base share its snapshot; snapshots are named by chain IDs;
/// unpacking again changes nothing.
fn shared_layers_are_unpacked_once(make: Make) {
    let root = TempRoot::new();
    let (store, index) = stores(root.path());
    let (base, two) = kiln_image(root.path(), &store, &index);
    let sn = make(root.path());
    let base_top = unpack(&store, &base, sn.as_ref()).unwrap();
    let top = unpack(&store, &two, sn.as_ref()).unwrap();
    assert_eq!(unpack(&store, &two, sn.as_ref()).unwrap(), top);
    let config: Value = {
        let m = manifest_doc(&store, &two);
        store
            .read_json(&m["config"]["digest"].as_str().unwrap().parse().unwrap())
            .unwrap()
    };
    let diff_ids: Vec<Digest> =
        serde_json::from_value(config["rootfs"]["diff_ids"].clone()).unwrap();
    let chains = chain_ids(&diff_ids);
    assert_eq!(chains[0], diff_ids[0].to_string());
    assert_eq!(base_top, chains[0]);
    assert_eq!(top, chains[1]);
    let names: Vec<(String, Kind, Option<String>)> = sn
        .list()
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.kind, i.parent))
        .collect();
    let mut want = vec![
        (chains[0].clone(), Kind::Committed, None),
        (chains[1].clone(), Kind::Committed, Some(chains[0].clone())),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(names, want);
}

/// A layer whose diff_id does not match the config is discarded: nothing is
/// committed and no active snapshot is left.
fn bad_diff_id_commits_nothing(make: Make) {
    let root = TempRoot::new();
    let (store, index) = stores(root.path());
    let (base, _) = kiln_image(root.path(), &store, &index);
    let mut manifest = manifest_doc(&store, &base);
    let config_digest: Digest = manifest["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut config: Value = store.read_json(&config_digest).unwrap();
    let wrong = Digest::of(b"not this layer");
    config["rootfs"]["diff_ids"] = json!([wrong.to_string()]);
    let (config_digest, size) = store
        .ingest_bytes(&serde_json::to_vec(&config).unwrap(), None)
        .unwrap();
    manifest["config"]["digest"] = json!(config_digest.to_string());
    manifest["config"]["size"] = json!(size);
    let (bad, _) = store
        .ingest_bytes(&serde_json::to_vec(&manifest).unwrap(), None)
        .unwrap();
    let sn = make(root.path());
    let err = unpack(&store, &bad, sn.as_ref()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::DiffIdMismatch { expected, .. } if *expected == wrong),
        "{err}"
    );
    assert!(err.to_string().contains(&wrong.to_string()), "{err}");
    assert_eq!(sn.list().unwrap(), vec![]);
}

/// A layer blob that does not hash to its digest is reported as corrupt and
/// nothing is committed.
fn corrupt_blob_commits_nothing(make: Make) {
    let root = TempRoot::new();
    let (store, index) = stores(root.path());
    let (base, _) = kiln_image(root.path(), &store, &index);
    let manifest = manifest_doc(&store, &base);
    let layer: Digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = store.blob_path(&layer);
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(b"trailing junk");
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    fs::write(&path, bytes).unwrap();
    let sn = make(root.path());
    let err = unpack(&store, &base, sn.as_ref()).unwrap_err();
    assert!(err.to_string().contains(&layer.to_string()), "{err}");
    assert!(
        matches!(err, UnpackError::Content(ImageError::BlobCorrupt { .. })),
        "{err}"
    );
    assert_eq!(sn.list().unwrap(), vec![]);
}

/// Several threads unpacking the same image at once: all succeed with the same
/// top chain ID (lost commit races are not errors) and each layer is committed once.
fn concurrent_unpacks_agree(make: Make) {
    let root = TempRoot::new();
    let (store, index) = stores(root.path());
    let (_base, two) = kiln_image(root.path(), &store, &index);
    let sn = make(root.path());
    let tops: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| unpack(&store, &two, sn.as_ref()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(tops.iter().all(|t| *t == tops[0]), "{tops:?}");
    let infos = sn.list().unwrap();
    assert_eq!(infos.len(), 2, "{infos:?}");
    assert!(infos.iter().all(|i| i.kind == Kind::Committed), "{infos:?}");
}

macro_rules! unpack_tests {
    ($make:path) => {
        #[test]
        fn umoci_reads_what_kiln_writes() {
            super::umoci_reads_what_kiln_writes($make);
        }
        #[test]
        fn kiln_reads_what_umoci_writes() {
            super::kiln_reads_what_umoci_writes($make);
        }
        #[test]
        fn shared_layers_are_unpacked_once() {
            super::shared_layers_are_unpacked_once($make);
        }
        #[test]
        fn bad_diff_id_commits_nothing() {
            super::bad_diff_id_commits_nothing($make);
        }
        #[test]
        fn concurrent_unpacks_agree() {
            super::concurrent_unpacks_agree($make);
        }
        #[test]
        fn corrupt_blob_commits_nothing() {
            super::corrupt_blob_commits_nothing($make);
        }
    };
}

mod overlay_snapshotter {
    unpack_tests!(super::overlay);
}

mod native_snapshotter {
    unpack_tests!(super::native);
}

#[test]
fn chain_ids_follow_the_oci_spec() {
    let a = Digest::of(b"a");
    let b = Digest::of(b"b");
    let chains = chain_ids(&[a, b]);
    let want = Digest::of(format!("{a} {b}").as_bytes());
    assert_eq!(chains, [a.to_string(), want.to_string()]);
    assert!(chain_ids(&[]).is_empty());
}
