//! The caps of archive loading (red-team H1) at the library level: an OCI
//! tree that names more descriptors than the cap fails with
//! [`ArchiveError::Limit`] naming the cap, even when every document is small
//! enough and each blob is read once; the image index stays untouched.

use kiln_image::{load, ArchiveError, ContentStore, ImageIndex};
use sha2::{Digest as _, Sha256};

/// A tar member header + data, padded.
fn member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(512), 0);
}

/// Adds `data` as a blob; returns its descriptor JSON.
fn blob(out: &mut Vec<u8>, data: &[u8], media_type: &str) -> serde_json::Value {
    let hex = hex::encode(Sha256::digest(data));
    member(out, &format!("blobs/sha256/{hex}"), data);
    serde_json::json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": data.len()})
}

#[test]
fn too_many_descriptors_fail_naming_the_cap() {
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    let mut tar = Vec::new();
    let config = blob(
        &mut tar,
        br#"{"rootfs":{"diff_ids":[]}}"#,
        "application/vnd.oci.image.config.v1+json",
    );
    let manifest = serde_json::json!({"schemaVersion": 2, "config": config, "layers": []});
    let manifest = blob(
        &mut tar,
        &serde_json::to_vec(&manifest).unwrap(),
        "application/vnd.oci.image.manifest.v1+json",
    );
    // Two indexes of 105,000 entries (about 15 MB each, under the 16 MiB
    // document cap; 30 MB in all, under the 64 MiB JSON cap): 210,000
    // descriptors, over the cap of 200,000.
    let inner = serde_json::json!({"schemaVersion": 2, "manifests": vec![manifest; 105_000]});
    let inner = blob(&mut tar, &serde_json::to_vec(&inner).unwrap(), INDEX);
    let outer = serde_json::json!({"schemaVersion": 2, "manifests": vec![inner; 105_000]});
    let mut outer = blob(&mut tar, &serde_json::to_vec(&outer).unwrap(), INDEX);
    outer["annotations"] = serde_json::json!({"io.containerd.image.name": "many:1"});
    member(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [outer]});
    member(&mut tar, "index.json", &serde_json::to_vec(&index).unwrap());
    tar.extend_from_slice(&[0; 1024]);

    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::new(dir.path()).unwrap();
    let index = ImageIndex::new(dir.path()).unwrap();
    let err = load(&store, &index, &tar[..]).unwrap_err();
    assert!(matches!(err, ArchiveError::Limit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "archive exceeds the cap of 200000 descriptors"
    );
    assert!(index.list().unwrap().is_empty());
}
