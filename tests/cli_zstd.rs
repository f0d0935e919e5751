//! End-to-end: zstd-compressed layers. An OCI archive whose layer skopeo
//! recompressed with zstd loads, saves as a docker-archive (layers
//! decompressed, diff_ids checked), that archive loads back with the same
//! diff_ids and skopeo reads it, and the unpacked trees are the same as the
//! gzip original's. `kiln import` takes plain, gzip and zstd rootfs tars.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_image::{ContentStore, Digest, ImageIndex, Reference};
use kiln_snapshotter::{tree_listing, unpack, NativeSnapshotter, Snapshotter};
use support::{kiln, ok, ok_as, Scratch};

const TAG: &str = "kiln-test/zstd:1";

/// Builds the busybox rootfs tar with the repository's script.
fn busybox_rootfs(dir: &Path) -> PathBuf {
    let out = dir.join("rootfs.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "{} failed", script.display());
    out
}

/// Runs skopeo (a missing skopeo is a failure, not a skip).
fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("skopeo is not installed ({e}): run ./scripts/install-deps --test")
        });
    ok_as(out, &format!("skopeo {}", args.join(" ")))
}

/// `RootFS.Layers` of `reference` in `root`, per `kiln image inspect`.
fn diff_ids(root: &Path, reference: &str) -> Vec<String> {
    let out = ok(kiln(root, &["image", "inspect", reference]));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("inspect prints JSON");
    let layers = doc[0]["RootFS"]["Layers"]
        .as_array()
        .expect("RootFS.Layers");
    layers
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// The layer media types of the single image in the OCI archive `archive`.
fn oci_layer_media_types(archive: &Path, scratch: &Path) -> Vec<String> {
    let dir = scratch.join("unpacked-archive");
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let blob = |d: &serde_json::Value| {
        let digest = d["digest"].as_str().unwrap();
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index = read(dir.join("index.json"));
    let manifest = read(blob(&index["manifests"][0]));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap().to_string())
        .collect()
}

/// The file tree of `reference` in `root`, unpacked with kiln's unpacker into a
/// native snapshotter under `work`.
fn unpacked_listing(root: &Path, reference: &str, work: &Path) -> String {
    let content = ContentStore::new(root).unwrap();
    let index = ImageIndex::new(root).unwrap();
    let record = index.get(&Reference::parse(reference).unwrap()).unwrap();
    let manifest: Digest = record.expect("image is tagged").digest;
    let sn = NativeSnapshotter::new(work).unwrap();
    let top = unpack(&content, &manifest, &sn).unwrap();
    let mounts = sn.view("listing", Some(&top)).unwrap();
    let listing = tree_listing(Path::new(&mounts[0].source)).unwrap();
    sn.remove("listing").unwrap();
    listing
}

#[test]
fn zstd_layers_load_save_as_docker_archive_and_unpack_the_same() {
    let s = Scratch::new("zstd-layers");
    let (root, root2, root3) = (s.0.join("r1"), s.0.join("r2"), s.0.join("r3"));
    let rootfs = busybox_rootfs(&s.0);
    ok(kiln(&root, &["import", rootfs.to_str().unwrap(), TAG]));
    let original = diff_ids(&root, TAG);

    let gz = s.0.join("gz.tar");
    ok(kiln(
        &root,
        &["save", "--format", "oci", "-o", gz.to_str().unwrap(), TAG],
    ));
    let zst = s.0.join("zst.tar");
    skopeo(&[
        "copy",
        "--dest-compress-format",
        "zstd",
        &format!("oci-archive:{}", gz.display()),
        &format!("oci-archive:{}:{TAG}", zst.display()),
    ]);
    assert_eq!(
        oci_layer_media_types(&zst, &s.0),
        ["application/vnd.oci.image.layer.v1.tar+zstd"],
        "skopeo wrote a zstd layer"
    );

    let loaded = ok(kiln(&root2, &["load", "-i", zst.to_str().unwrap()]));
    assert!(loaded.contains(&format!("Loaded image: {TAG}")), "{loaded}");
    assert_eq!(diff_ids(&root2, TAG), original);

    let docker = s.0.join("docker.tar");
    ok(kiln(
        &root2,
        &[
            "save",
            "--format",
            "docker",
            "-o",
            docker.to_str().unwrap(),
            TAG,
        ],
    ));
    let inspected = skopeo(&["inspect", &format!("docker-archive:{}", docker.display())]);
    let doc: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    let layers: Vec<String> = doc["Layers"]
        .as_array()
        .expect("skopeo inspect Layers")
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers, original, "docker-archive layers are the plain tars");

    ok(kiln(&root3, &["load", "-i", docker.to_str().unwrap()]));
    assert_eq!(diff_ids(&root3, TAG), original);

    let gzip_tree = unpacked_listing(&root, TAG, &s.0.join("sn1"));
    let zstd_tree = unpacked_listing(&root2, TAG, &s.0.join("sn2"));
    assert!(gzip_tree.lines().count() > 100, "{gzip_tree}");
    assert_eq!(zstd_tree, gzip_tree);
}

#[test]
fn import_takes_plain_gzip_and_zstd_rootfs_tars() {
    let s = Scratch::new("zstd-import");
    let root = s.0.join("root");
    let plain = busybox_rootfs(&s.0);
    let bytes = std::fs::read(&plain).unwrap();
    let zst = s.0.join("rootfs.tar.zst");
    std::fs::write(&zst, zstd::stream::encode_all(&bytes[..], 3).unwrap()).unwrap();
    let gz = s.0.join("rootfs.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let mut seen = Vec::new();
    for (file, tag) in [(&plain, "plain"), (&gz, "gz"), (&zst, "zst")] {
        let reference = format!("kiln-test/import:{tag}");
        ok(kiln(&root, &["import", file.to_str().unwrap(), &reference]));
        seen.push(diff_ids(&root, &reference));
    }
    assert_eq!(seen[0].len(), 1);
    assert!(seen.iter().all(|d| *d == seen[0]), "{seen:?}");

    // A corrupt zstd stream is an error, not a half-imported image.
    let mut bad = std::fs::read(&zst).unwrap();
    let mid = bad.len() / 2;
    bad.truncate(mid);
    let truncated = s.0.join("bad.tar.zst");
    std::fs::write(&truncated, bad).unwrap();
    let out = kiln(
        &root,
        &[
            "import",
            truncated.to_str().unwrap(),
            "kiln-test/import:bad",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let images = ok(kiln(&root, &["images", "--format", "{{.Tag}}"]));
    assert!(!images.contains("bad"), "{images}");
}
