//! The cache directory's format, reading and blob writing (export and
//! import against real snapshots are covered by `tests/cli_build_cache.rs`).

use super::*;
use crate::executor::RootLayer;

fn layer(bytes: &[u8]) -> RootLayer {
    RootLayer {
        media_type: kiln_image::media::OCI_LAYER_TAR.into(),
        digest: Digest::of(bytes),
        size: bytes.len() as u64,
        diff_id: Digest::of(bytes),
    }
}

/// A cache directory holding `config`, written as the exporter does.
fn write_cache(dir: &Path, config: &CacheConfig) {
    layout::ensure(dir).unwrap();
    let bytes = serde_json::to_vec(config).unwrap();
    let (digest, size) = layout::put_bytes(dir, &bytes).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": CACHE_CONFIG_MEDIA_TYPE, "digest": digest.to_string(), "size": size}],
    });
    layout::replace(&dir.join("index.json"), index.to_string().as_bytes()).unwrap();
}

fn record(key: &[u8], layers: Vec<RootLayer>, own: Option<usize>) -> CacheRecord {
    CacheRecord {
        key: Digest::of(key),
        layers,
        own,
        image_manifest: None,
    }
}

#[test]
fn record_json_has_the_documented_shape() {
    let r = record(b"k", vec![layer(b"a")], Some(0));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["key"], Digest::of(b"k").to_string());
    assert_eq!(json["own"], 0);
    assert!(json["image_manifest"].is_null());
    let l = &json["layers"][0];
    for field in ["media_type", "digest", "size", "diff_id"] {
        assert!(!l[field].is_null(), "{field}");
    }
    let back: CacheRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn written_cache_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        version: FORMAT_VERSION,
        records: vec![record(b"k", vec![layer(b"a")], Some(0))],
    };
    write_cache(dir.path(), &config);
    assert!(dir.path().join("oci-layout").is_file());
    assert_eq!(read_config(dir.path()).unwrap(), config);
}

#[test]
fn not_a_cache_is_said_why() {
    let dir = tempfile::tempdir().unwrap();
    let why = |d: &Path| read_config(d).unwrap_err().to_string();
    assert!(why(&dir.path().join("absent")).contains("no such directory"));
    assert!(why(dir.path()).contains("index.json"));
    std::fs::write(dir.path().join("index.json"), r#"{"manifests":[]}"#).unwrap();
    let e = why(dir.path());
    assert!(
        e.contains("not a kiln cache directory") && e.contains(CACHE_CONFIG_MEDIA_TYPE),
        "{e}"
    );

    let config = CacheConfig {
        version: FORMAT_VERSION + 1,
        records: Vec::new(),
    };
    write_cache(dir.path(), &config);
    assert!(why(dir.path()).contains("version"));
}

#[test]
fn altered_config_blob_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        version: FORMAT_VERSION,
        records: Vec::new(),
    };
    write_cache(dir.path(), &config);
    let digest = Digest::of(&serde_json::to_vec(&config).unwrap());
    let path = layout::blob_path(dir.path(), &digest);
    std::fs::write(&path, br#"{"version":1,"records":[ ]}"#).unwrap();
    let e = read_config(dir.path()).unwrap_err().to_string();
    assert!(e.contains("does not match its digest"), "{e}");
}

#[test]
fn put_blob_checks_digest_and_size_and_leaves_nothing_on_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    layout::ensure(dir.path()).unwrap();
    let want = Digest::of(b"right");
    let e = layout::put_blob(dir.path(), &want, 5, &mut &b"wrong"[..]).unwrap_err();
    assert!(e.to_string().contains("expected"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    layout::put_blob(dir.path(), &want, 5, &mut &b"right"[..]).unwrap();
    assert!(layout::has_blob(dir.path(), &want, 5));
    assert!(!layout::has_blob(dir.path(), &want, 4));
}

#[test]
fn import_takes_the_first_directory_per_key_and_skips_bad_records() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = record(b"k", vec![layer(b"a")], Some(0));
    let mut second = first.clone();
    second.layers.push(layer(b"b"));
    write_cache(
        one.path(),
        &CacheConfig {
            version: FORMAT_VERSION,
            records: vec![first.clone(), record(b"bad", vec![layer(b"a")], Some(3))],
        },
    );
    write_cache(
        two.path(),
        &CacheConfig {
            version: FORMAT_VERSION,
            records: vec![second],
        },
    );
    let imported = Imported::open(&[one.path().into(), two.path().into()]).unwrap();
    assert_eq!(imported.len(), 1);
    let e = Imported::open(&[one.path().join("nope")]).unwrap_err();
    assert!(e.to_string().contains("not a kiln cache directory"), "{e}");
}
