//! Resolving a stored image to the manifest for one platform.
//!
//! An image in the index is a manifest digest or an image index (manifest
//! list) digest. Everything that needs one image's layers and config (`image
//! inspect`, `run`, unpacking, `save --format docker`) goes through
//! [`platform_manifest`] (or [`host_manifest`]): a manifest resolves to
//! itself; an index to the first entry whose `platform` matches (after
//! normalisation, see [`Platform::matches`]), nested indexes followed. As in
//! containerd, an entry without a `platform` field is accepted when no entry
//! names the platform explicitly. No match is
//! [`ImageError::NoPlatformManifest`], never a silent fallback to another
//! architecture.

use crate::archive::docs::{Desc, IndexDoc};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::media;
use crate::platform::Platform;

/// How deep indexes may nest before resolving gives up.
const MAX_DEPTH: usize = 8;

/// The manifest for `platform` of the image stored as `digest` (a manifest,
/// which resolves to itself, or an index).
pub fn platform_manifest(
    store: &ContentStore,
    digest: &Digest,
    platform: &Platform,
) -> Result<Digest> {
    let mut current = *digest;
    for _ in 0..=MAX_DEPTH {
        let Some(index) = read_index(store, &current)? else {
            return Ok(current);
        };
        current = choose(&index, platform).ok_or_else(|| ImageError::NoPlatformManifest {
            image: *digest,
            platform: platform.to_string(),
        })?;
    }
    Err(ImageError::NoPlatformManifest {
        image: *digest,
        platform: format!("{platform} (indexes nested more than {MAX_DEPTH} deep)"),
    })
}

/// [`platform_manifest`] for the host platform ([`Platform::host`]).
pub fn host_manifest(store: &ContentStore, digest: &Digest) -> Result<Digest> {
    platform_manifest(store, digest, &Platform::host())
}

/// Some manifest of the image stored as `digest`: the host platform's if it
/// has one, else the first usable entry of each index level (for listing
/// images that cannot run here).
pub fn display_manifest(store: &ContentStore, digest: &Digest) -> Result<Digest> {
    match host_manifest(store, digest) {
        Err(ImageError::NoPlatformManifest { .. }) => {}
        other => return other,
    }
    let mut current = *digest;
    for _ in 0..=MAX_DEPTH {
        let Some(index) = read_index(store, &current)? else {
            return Ok(current);
        };
        let first = index.manifests.iter().find(|d| usable(d));
        current = first
            .map(|d| d.digest)
            .ok_or_else(|| ImageError::NoPlatformManifest {
                image: *digest,
                platform: "any platform".to_string(),
            })?;
    }
    host_manifest(store, digest)
}

/// Whether the blob `digest` is an image index rather than a manifest.
pub fn is_index(store: &ContentStore, digest: &Digest) -> Result<bool> {
    Ok(read_index(store, digest)?.is_some())
}

/// The index stored as `digest`, or `None` when it is a manifest (a document
/// without `manifests`).
fn read_index(store: &ContentStore, digest: &Digest) -> Result<Option<IndexDoc>> {
    let doc: serde_json::Value = store.read_json(digest)?;
    if doc.get("manifests").is_none() {
        return Ok(None);
    }
    serde_json::from_value(doc)
        .map(Some)
        .map_err(|source| ImageError::BlobJson {
            digest: *digest,
            source,
        })
}

/// The entry of `index` for `platform`: an explicit match first, else the
/// first manifest or index entry without a platform.
fn choose(index: &IndexDoc, platform: &Platform) -> Option<Digest> {
    let entries = || index.manifests.iter().filter(|d| usable(d));
    let explicit = entries().find(|d| {
        d.platform
            .as_ref()
            .and_then(|p| serde_json::from_value::<oci_spec::image::Platform>(p.clone()).ok())
            .is_some_and(|p| platform.matches(&Platform::from_oci(&p)))
    });
    explicit
        .or_else(|| entries().find(|d| d.platform.is_none()))
        .map(|d| d.digest)
}

/// Whether an index entry is a manifest or an index (not, say, a layer).
fn usable(desc: &Desc) -> bool {
    media::is_manifest(&desc.media_type) || media::is_index(&desc.media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::new(dir.path()).unwrap();
        (dir, store)
    }

    fn put(store: &ContentStore, doc: serde_json::Value) -> (Digest, u64) {
        store
            .ingest_bytes(&serde_json::to_vec(&doc).unwrap(), None)
            .unwrap()
    }

    fn manifest(store: &ContentStore, arch: &str) -> (Digest, u64) {
        let (config, size) = put(
            store,
            serde_json::json!({"architecture": arch, "os": "linux"}),
        );
        put(
            store,
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": media::OCI_MANIFEST,
                "config": {"mediaType": media::OCI_CONFIG, "digest": config.to_string(), "size": size},
                "layers": [],
            }),
        )
    }

    fn index(store: &ContentStore, entries: &[(Digest, u64, Option<&str>)]) -> Digest {
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(d, size, arch)| {
                let mut e = serde_json::json!({
                    "mediaType": media::OCI_MANIFEST, "digest": d.to_string(), "size": size,
                });
                if let Some(arch) = arch {
                    e["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
                }
                e
            })
            .collect();
        let doc = serde_json::json!({
            "schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests,
        });
        put(store, doc).0
    }

    #[test]
    fn a_manifest_resolves_to_itself() {
        let (_dir, store) = store();
        let (m, _) = manifest(&store, "amd64");
        assert_eq!(host_manifest(&store, &m).unwrap(), m);
        assert!(!is_index(&store, &m).unwrap());
    }

    #[test]
    fn an_index_resolves_to_the_matching_platform() {
        let (_dir, store) = store();
        let (amd, amd_size) = manifest(&store, "amd64");
        let (arm, arm_size) = manifest(&store, "arm64");
        let idx = index(
            &store,
            &[
                (amd, amd_size, Some("amd64")),
                (arm, arm_size, Some("aarch64")),
            ],
        );
        assert!(is_index(&store, &idx).unwrap());
        let amd64 = Platform::new("linux", "amd64", None);
        let arm64 = Platform::new("linux", "arm64", Some("v8"));
        assert_eq!(platform_manifest(&store, &idx, &amd64).unwrap(), amd);
        assert_eq!(platform_manifest(&store, &idx, &arm64).unwrap(), arm);
    }

    #[test]
    fn a_missing_platform_is_a_one_line_error() {
        let (_dir, store) = store();
        let (arm, arm_size) = manifest(&store, "arm64");
        let idx = index(&store, &[(arm, arm_size, Some("arm64"))]);
        let riscv = Platform::new("linux", "riscv64", None);
        let err = platform_manifest(&store, &idx, &riscv).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("image {idx} has no manifest for linux/riscv64")
        );
        // Listing still finds a manifest to show.
        let (other, other_size) = manifest(&store, "s390x");
        let idx = index(
            &store,
            &[
                (other, other_size, Some("s390x")),
                (arm, arm_size, Some("arm64")),
            ],
        );
        if Platform::host().architecture != "s390x" {
            assert_eq!(display_manifest(&store, &idx).unwrap(), other);
        }
    }

    #[test]
    fn entries_without_platform_are_a_fallback_and_nesting_is_followed() {
        let (_dir, store) = store();
        let (plain, plain_size) = manifest(&store, "amd64");
        let inner = index(&store, &[(plain, plain_size, None)]);
        let inner_size = store.size(&inner).unwrap();
        let doc = serde_json::json!({
            "schemaVersion": 2, "mediaType": media::OCI_INDEX,
            "manifests": [{"mediaType": media::OCI_INDEX, "digest": inner.to_string(), "size": inner_size}],
        });
        let (outer, _) = put(&store, doc);
        let any = Platform::new("linux", "s390x", None);
        assert_eq!(platform_manifest(&store, &outer, &any).unwrap(), plain);
    }
}
