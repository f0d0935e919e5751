//! Archive import/export on the busybox test base image: `import_rootfs`,
//! docker-archive and OCI archive round trips, tamper detection, the shared
//! difftest base archive, and interop with skopeo when it is installed.

#[path = "archive/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_image::archive::docs::{ConfigDoc, ManifestDoc};
use kiln_image::media;
use kiln_image::{
    import_rootfs_with, load, load_dir, load_file, save, save_oci_dir, ArchiveError, ArchiveFormat,
    Digest, ImportOptions, Reference,
};
use support::*;

#[test]
fn import_rootfs_builds_a_one_layer_image() {
    let (r, digest) = imported();
    let (manifest, _, diff_ids) = describe(&r, &busybox_ref());
    assert_eq!(manifest.layers[0].media_type, media::OCI_LAYER_TAR_GZIP);
    assert_eq!(manifest.media_type.as_deref(), Some(media::OCI_MANIFEST));
    assert_eq!(diff_ids, vec![Digest::of(busybox_tar())]);
    assert_eq!(layer_entries(&r, &manifest), tar_entries(busybox_tar()));
    let config: serde_json::Value = r.store.read_json(&manifest.config.digest).unwrap();
    assert_eq!(config["history"][0]["comment"], "Imported from -");
    assert_eq!(config["os"], "linux");
    // Same input, same layer blob (gzip header is fixed).
    let (r2, _) = imported();
    let (m2, _, _) = describe(&r2, &busybox_ref());
    assert_eq!(m2.layers[0].digest, manifest.layers[0].digest);
    assert!(r.store.exists(&digest).unwrap());
}

#[test]
fn docker_archive_roundtrip() {
    let (a, _) = imported();
    let archive = save_bytes(&a, ArchiveFormat::Docker);
    assert_eq!(
        archive,
        save_bytes(&a, ArchiveFormat::Docker),
        "deterministic"
    );
    let names = tar_entries(&archive);
    assert!(
        names.iter().any(|n| n.starts_with("manifest.json ")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("repositories ")),
        "{names:?}"
    );

    let b = root();
    let loaded = load(&b.store, &b.index, &archive[..]).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].reference, Some(busybox_ref()));
    let (ma, ca, da) = describe(&a, &busybox_ref());
    let (mb, cb, db) = describe(&b, &busybox_ref());
    assert_eq!((ca, da), (cb, db.clone()), "config and diff_ids survive");
    assert_eq!(mb.layers[0].media_type, media::OCI_LAYER_TAR);
    assert_eq!(
        mb.layers[0].digest, db[0],
        "uncompressed layer: digest is diff_id"
    );
    assert_eq!(layer_entries(&a, &ma), layer_entries(&b, &mb));
    // Saving the loaded copy gives the very same archive.
    assert_eq!(save_bytes(&b, ArchiveFormat::Docker), archive);
}

#[test]
fn oci_archive_roundtrip_keeps_digests() {
    let (a, digest) = imported();
    let archive = save_bytes(&a, ArchiveFormat::Oci);
    assert_eq!(archive, save_bytes(&a, ArchiveFormat::Oci), "deterministic");
    let b = root();
    let gz = gzip(&archive);
    let loaded = load(&b.store, &b.index, &gz[..]).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].reference, Some(busybox_ref()));
    assert_eq!(loaded[0].digest, digest);
    let (ma, ca, da) = describe(&a, &busybox_ref());
    let (mb, cb, db) = describe(&b, &busybox_ref());
    assert_eq!((ca, da), (cb, db));
    assert_eq!(layer_entries(&a, &ma), layer_entries(&b, &mb));
}

#[test]
fn oci_directory_roundtrip() {
    let (a, digest) = imported();
    let dir = tempfile::tempdir().unwrap();
    save_oci_dir(&a.store, &a.index, &[busybox_ref()], dir.path()).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let annotations = &index["manifests"][0]["annotations"];
    assert_eq!(
        annotations["io.containerd.image.name"],
        "docker.io/library/busybox:latest"
    );
    assert_eq!(annotations["org.opencontainers.image.ref.name"], "latest");
    let b = root();
    let loaded = load_dir(&b.store, &b.index, dir.path()).unwrap();
    assert_eq!(loaded[0].digest, digest);
    assert_eq!(b.index.get(&busybox_ref()).unwrap().unwrap().digest, digest);
}

#[test]
fn tampered_docker_layer_is_rejected_and_index_unchanged() {
    let (a, _) = imported();
    let archive = save_bytes(&a, ArchiveFormat::Docker);
    let tampered = rewrite_member(&archive, |name| name.ends_with("/layer.tar"));
    let (b, _) = imported_as("other:1");
    let before = b.index.list().unwrap();
    let err = load(&b.store, &b.index, &tampered.1[..]).unwrap_err();
    assert!(
        matches!(err, ArchiveError::DiffIdMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&tampered.0), "{err}");
    assert_eq!(b.index.list().unwrap(), before);
}

#[test]
fn tampered_oci_blob_is_rejected_and_index_unchanged() {
    let (a, _) = imported();
    let (manifest, _, _) = describe(&a, &busybox_ref());
    let layer = format!("blobs/sha256/{}", manifest.layers[0].digest.hex());
    let archive = save_bytes(&a, ArchiveFormat::Oci);
    let tampered = rewrite_member(&archive, |name| name == layer);
    let b = root();
    let err = load(&b.store, &b.index, &tampered.1[..]).unwrap_err();
    assert!(matches!(err, ArchiveError::MemberDigest { .. }), "{err:?}");
    assert!(err.to_string().contains(&layer), "{err}");
    assert!(b.index.list().unwrap().is_empty());
}

#[test]
fn garbage_and_unknown_archives_fail_cleanly() {
    let b = root();
    let err = load(&b.store, &b.index, &b"not a tar at all"[..]).unwrap_err();
    assert!(
        matches!(err, ArchiveError::Read { .. } | ArchiveError::UnknownFormat),
        "{err:?}"
    );
    let empty = tar::Builder::new(Vec::new()).into_inner().unwrap();
    let err = load(&b.store, &b.index, &empty[..]).unwrap_err();
    assert!(matches!(err, ArchiveError::UnknownFormat), "{err:?}");
    let missing: Reference = "nothere:1".parse().unwrap();
    let err = save(
        &b.store,
        &b.index,
        &[missing],
        ArchiveFormat::Docker,
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("docker.io/library/nothere:1"),
        "{err}"
    );
}

/// The shared difftest base (`docker save` of docker 20.10) loads, and kiln's
/// own busybox rootfs is byte-identical to its layer.
#[test]
fn difftest_base_archive_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/difftest/base/busybox-local.tar");
    assert!(
        path.exists(),
        "{} not found: these tests need ../shared beside the repository (as in CI)",
        path.display()
    );
    let b = root();
    let loaded = load_file(&b.store, &b.index, &path).unwrap();
    let local: Reference = "busybox:local".parse().unwrap();
    assert_eq!(loaded[0].reference, Some(local.clone()));
    let (manifest, _, diff_ids) = describe(&b, &local);
    assert_eq!(layer_entries(&b, &manifest), tar_entries(busybox_tar()));
    if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
        assert_eq!(diff_ids, vec![Digest::of(busybox_tar())]);
    }
    assert_matches_difftest_base(&b, &local, base_dir(&path));
}

/// kiln's own busybox base (the rootfs tar plus the base's Env and Cmd) is,
/// to the difftest's lister, the same image as the recorded BuildKit base.
#[test]
fn kiln_busybox_base_matches_difftest_base() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/difftest/base");
    assert!(
        path.exists(),
        "{} not found: these tests need ../shared beside the repository (as in CI)",
        path.display()
    );
    let r = root();
    let mut options = ImportOptions::default();
    let config = serde_json::json!({
        "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
        "User": "",
        "WorkingDir": "",
    });
    options.config = config.as_object().unwrap().clone();
    let reference: Reference = "busybox:kiln".parse().unwrap();
    import_rootfs_with(&r.store, &r.index, busybox_tar(), &reference, &options).unwrap();
    assert_matches_difftest_base(&r, &reference, &path);
}

fn base_dir(archive: &Path) -> &Path {
    archive.parent().unwrap()
}

/// The difftest's own lister (tree.py) reads kiln's docker and OCI archives
/// of `reference` as the recorded base tree and config.
fn assert_matches_difftest_base(r: &Root, reference: &Reference, base: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let tree_py = base.join("../tree.py");
    for format in [ArchiveFormat::Docker, ArchiveFormat::Oci] {
        let out = dir.path().join(format!("{format:?}.tar"));
        let refs = std::slice::from_ref(reference);
        let bytes = save(&r.store, &r.index, refs, format, Vec::new()).unwrap();
        std::fs::write(&out, bytes).unwrap();
        for (flag, file) in [(None, "tree.tsv"), (Some("--config"), "config.json")] {
            let mut cmd = Command::new("python3");
            cmd.arg(&tree_py).arg(&out).args(flag);
            let got = run(&mut cmd);
            let want = std::fs::read_to_string(base.join(file)).unwrap();
            assert!(got == want, "{format:?} {file} differs:\n{got}");
        }
    }
}

/// A docker 25+ style archive (OCI layout + manifest.json with blobs/ paths)
/// whose index.json names nothing: kiln falls back to manifest.json, reading
/// the config from blobs/ and the gzip layer as stored.
#[test]
fn docker25_style_archive_falls_back_to_manifest_json() {
    let (a, _) = imported();
    let (manifest, config, diff_ids) = describe(&a, &busybox_ref());
    let entry = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", config.hex()),
        "RepoTags": ["example.com/team/bb:v1"],
        "Layers": [format!("blobs/sha256/{}", manifest.layers[0].digest.hex())],
    }]);
    let oci = save_bytes(&a, ArchiveFormat::Oci);
    let archive = rewrite(
        &oci,
        &[("manifest.json", entry.to_string().into_bytes())],
        |n, d| {
            if n == "index.json" {
                let mut index: serde_json::Value = serde_json::from_slice(d).unwrap();
                index["manifests"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("annotations");
                *d = serde_json::to_vec(&index).unwrap();
            }
        },
    );
    let b = root();
    let loaded = load(&b.store, &b.index, &archive[..]).unwrap();
    let reference: Reference = "example.com/team/bb:v1".parse().unwrap();
    assert_eq!(loaded[0].reference, Some(reference.clone()));
    let (mb, cb, db) = describe(&b, &reference);
    assert_eq!((cb, db), (config, diff_ids));
    assert_eq!(mb.layers[0].media_type, media::OCI_LAYER_TAR_GZIP);
    assert_eq!(mb.layers[0].digest, manifest.layers[0].digest);
}

/// skopeo, if installed (`apt-get install skopeo`; ./scripts/install-deps --test).
/// skopeo is a test dependency (installed by `./scripts/install-deps --test`):
/// its absence fails the test rather than skipping it.
fn skopeo() -> PathBuf {
    let ok = Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "skopeo is not installed: run ./scripts/install-deps --test (as root)"
    );
    PathBuf::from("skopeo")
}

#[test]
fn skopeo_reads_kiln_archives_and_kiln_reads_skopeo_output() {
    let skopeo = skopeo();
    let (a, _) = imported();
    let dir = tempfile::tempdir().unwrap();
    let docker_tar = dir.path().join("docker.tar");
    let oci_tar = dir.path().join("oci.tar");
    std::fs::write(&docker_tar, save_bytes(&a, ArchiveFormat::Docker)).unwrap();
    std::fs::write(&oci_tar, save_bytes(&a, ArchiveFormat::Oci)).unwrap();
    let (_, _, diff_ids) = describe(&a, &busybox_ref());

    let docker_ref = format!("docker-archive:{}", docker_tar.display());
    let inspected = run(Command::new(&skopeo).args(["inspect", "--config", &docker_ref]));
    assert!(inspected.contains(&diff_ids[0].to_string()), "{inspected}");
    let oci_ref = format!("oci-archive:{}", oci_tar.display());
    let inspected = run(Command::new(&skopeo).args(["inspect", &oci_ref]));
    assert!(inspected.contains("\"Os\": \"linux\""), "{inspected}");

    let copied = dir.path().join("copied.tar");
    let dest = format!("oci-archive:{}:busybox:latest", copied.display());
    run(Command::new(&skopeo).args(["copy", "-q", &docker_ref, &dest]));
    let b = root();
    let loaded = load_file(&b.store, &b.index, &copied).unwrap();
    assert_eq!(loaded.len(), 1);
    let manifest: ManifestDoc = b.store.read_json(&loaded[0].digest).unwrap();
    let config: ConfigDoc = b.store.read_json(&manifest.config.digest).unwrap();
    assert_eq!(config.rootfs.diff_ids, diff_ids);
    // skopeo rewrites the config as an OCI config: same diff_ids, other bytes.
    assert_eq!(loaded[0].reference, Some(busybox_ref()));

    let copied = dir.path().join("copied-docker.tar");
    let dest = format!("docker-archive:{}:busybox:latest", copied.display());
    run(Command::new(&skopeo).args(["copy", "-q", &oci_ref, &dest]));
    let c = root();
    let loaded = load_file(&c.store, &c.index, &copied).unwrap();
    assert_eq!(loaded[0].reference, Some(busybox_ref()));
    let (_, _, copied_diff_ids) = describe(&c, &busybox_ref());
    assert_eq!(copied_diff_ids, diff_ids);
    assert_eq!(loaded[0].reference, Some(busybox_ref()));
}

/// Docker-archive export of a gzip layer uses the (diff_id, size) cached at
/// import for one decompression pass; the bytes equal the two-pass export's,
/// and a wrong cache entry is an error, never a corrupt archive.
#[test]
fn one_pass_docker_export_matches_two_pass_and_checks_the_cache() {
    let (r, _) = imported();
    let cache = r.store.root().join("uncompressed");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "import cached its gzip layer's size: {entries:?}"
    );
    let one_pass = save_bytes(&r, ArchiveFormat::Docker);

    std::fs::remove_file(&entries[0]).unwrap();
    let two_pass = save_bytes(&r, ArchiveFormat::Docker);
    assert!(one_pass == two_pass, "one-pass and two-pass exports differ");
    assert!(
        entries[0].exists(),
        "the two-pass export cached the size for next time"
    );

    let record = std::fs::read_to_string(&entries[0]).unwrap();
    let (diff_id, size) = record.trim_end().split_once(' ').unwrap();
    let size: u64 = size.parse().unwrap();
    for wrong in [size - 1, size + 1] {
        std::fs::write(&entries[0], format!("{diff_id} {wrong}\n")).unwrap();
        let result = save(
            &r.store,
            &r.index,
            &[busybox_ref()],
            ArchiveFormat::Docker,
            Vec::new(),
        );
        assert!(
            result.is_err(),
            "a cached size of {wrong} (real {size}) must fail the export"
        );
    }
}
