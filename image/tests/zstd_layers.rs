//! zstd layers: docker-archive export decompresses them and checks the diff_id while
//! streaming, with and without the cached uncompressed size; a wrong diff_id
//! fails; `import_rootfs` sniffs zstd input. Real zstd is tested end to end
//! in the workspace's tests/cli_zstd.rs.

use std::io::Read;

use kiln_image::{
    import_rootfs, media, save, ArchiveError, ArchiveFormat, ContentStore, Digest, ImageIndex,
    Reference,
};

/// A small tar with one file.
fn layer_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let body = b"hello from a zstd layer\n".repeat(1000);
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "etc/hello", &body[..])
        .unwrap();
    builder.into_inner().unwrap()
}

/// Stores a one-layer image with a ("zstd") layer and config diff_id `diff_id`, tagged `reference`.
fn zstd_image(
    store: &ContentStore,
    index: &ImageIndex,
    tar: &[u8],
    diff_id: &Digest,
    reference: &Reference,
) {
    let blob = zstd::encode_all(tar, 3).unwrap();
    let (layer, layer_size) = store.ingest_bytes(&blob, None).unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    });
    let (config, config_size) = store
        .ingest_bytes(&serde_json::to_vec(&config).unwrap(), None)
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": config.to_string(), "size": config_size},
        "layers": [{"mediaType": media::OCI_LAYER_TAR_ZSTD, "digest": layer.to_string(), "size": layer_size}],
    });
    let (manifest, _) = store
        .ingest_bytes(&serde_json::to_vec(&manifest).unwrap(), None)
        .unwrap();
    index.tag(reference, &manifest).unwrap();
}

/// The bytes of member `name` in the tar `archive`.
fn member(archive: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(archive);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == name {
            let mut out = Vec::new();
            entry.read_to_end(&mut out).unwrap();
            return Some(out);
        }
    }
    None
}

#[test]
fn docker_archive_export_decompresses_zstd_layers_checking_the_diff_id() {
    let dir = tempfile::tempdir().unwrap();
    let (store, index) = (
        ContentStore::new(dir.path()).unwrap(),
        ImageIndex::new(dir.path()).unwrap(),
    );
    let tar = layer_tar();
    let diff_id = Digest::of(&tar);
    let reference = Reference::parse("kiln-test/zstd:1").unwrap();
    zstd_image(&store, &index, &tar, &diff_id, &reference);
    let layer_member = format!("{}/layer.tar", diff_id.hex());

    // Twice: first two passes (no cached size), then one (cached by the first).
    let first = save(
        &store,
        &index,
        std::slice::from_ref(&reference),
        ArchiveFormat::Docker,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(member(&first, &layer_member).as_deref(), Some(&tar[..]));
    let second = save(
        &store,
        &index,
        &[reference],
        ArchiveFormat::Docker,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(first, second);

    // A config whose diff_id does not match the layer.
    let wrong = Digest::of(b"something else");
    let bad = Reference::parse("kiln-test/zstd:bad").unwrap();
    zstd_image(&store, &index, &tar, &wrong, &bad);
    let err = save(&store, &index, &[bad], ArchiveFormat::Docker, Vec::new()).unwrap_err();
    assert!(matches!(err, ArchiveError::DiffIdMismatch { .. }), "{err}");
}

#[test]
fn import_rootfs_sniffs_zstd_input() {
    let dir = tempfile::tempdir().unwrap();
    let (store, index) = (
        ContentStore::new(dir.path()).unwrap(),
        ImageIndex::new(dir.path()).unwrap(),
    );
    let tar = layer_tar();
    let input = zstd::encode_all(&tar[..], 3).unwrap();
    let reference = Reference::parse("kiln-test/imported:zst").unwrap();
    let manifest = import_rootfs(
        &store,
        &index,
        &input[..],
        &reference,
        media::Compression::Gzip,
    )
    .unwrap();
    let doc: serde_json::Value = store.read_json(&manifest).unwrap();
    let config_digest: Digest = doc["config"]["digest"].as_str().unwrap().parse().unwrap();
    let config: serde_json::Value = store.read_json(&config_digest).unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        Digest::of(&tar).to_string()
    );
}
