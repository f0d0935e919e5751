//! FROM: base images from the local image store (kiln does not pull yet)
//! and the empty tree of `FROM scratch`.

use kiln_image::archive::docs::ManifestDoc;
use kiln_image::{ContentStore, ImageIndex, Reference};

use super::{KilnExecutor, RootFs, RootLayer, TreeLayer};
use crate::graph::{ImageLookupError, SourceOp};
use crate::solver::{CacheKey, ExecError};
use crate::Digest;

/// A base image found in the store, resolved to this machine's platform.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The platform manifest's digest.
    pub manifest: kiln_image::Digest,
    /// The config document (JSON).
    pub config: serde_json::Value,
    /// The layers with their diff_ids, bottom first.
    pub layers: Vec<RootLayer>,
}

/// Finds `reference` (normalised like Docker: `busybox` is
/// `docker.io/library/busybox:latest`) in the image index and reads its
/// host-platform manifest and config.
pub fn resolve_image(
    content: &ContentStore,
    images: &ImageIndex,
    reference: &str,
) -> Result<ResolvedImage, ImageLookupError> {
    let named = || reference.to_string();
    let read = |what: String| {
        move |source| ImageLookupError::Read {
            reference: reference.to_string(),
            what,
            source: Box::new(source),
        }
    };
    let parsed =
        Reference::parse(reference).map_err(|source| ImageLookupError::InvalidReference {
            reference: named(),
            source: Box::new(source),
        })?;
    let record = images
        .get(&parsed)
        .map_err(|e| ImageLookupError::Index(Box::new(e)))?
        .ok_or_else(|| ImageLookupError::NotFound { reference: named() })?;
    let manifest =
        kiln_image::host_manifest(content, &record.digest).map_err(read(String::new()))?;
    let doc: ManifestDoc = content
        .read_json(&manifest)
        .map_err(read(format!("manifest {manifest}")))?;
    let config: serde_json::Value = content
        .read_json(&doc.config.digest)
        .map_err(read(format!("config {}", doc.config.digest)))?;
    let diff_ids: Vec<kiln_image::Digest> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|d| d.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != doc.layers.len() {
        return Err(ImageLookupError::DiffIds {
            reference: named(),
            layers: doc.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let layers = doc
        .layers
        .iter()
        .zip(diff_ids)
        .map(|(l, diff_id)| RootLayer {
            media_type: l.media_type.clone(),
            digest: l.digest,
            size: l.size,
            diff_id,
        })
        .collect();
    Ok(ResolvedImage {
        manifest,
        config,
        layers,
    })
}

/// The content digest of a source: the resolved manifest digest, so a tag
/// moved to another image changes the key (BuildKit resolves first, too).
pub fn content_digest(ex: &KilnExecutor, op: &SourceOp) -> Result<Option<Digest>, ExecError> {
    match op {
        SourceOp::Scratch => Ok(None),
        SourceOp::Image { reference, .. } => {
            let image =
                resolve_image(&ex.content, &ex.images, reference).map_err(ExecError::other)?;
            Ok(Some(image.manifest))
        }
    }
}

/// Unpacks the image into the snapshotter (layers already there are
/// reused) and describes its tree.
pub fn execute(ex: &KilnExecutor, op: &SourceOp, key: CacheKey) -> Result<RootFs, ExecError> {
    match op {
        SourceOp::Scratch => Ok(RootFs {
            key,
            snapshot: None,
            layers: Vec::new(),
            own: None,
            image_manifest: None,
        }),
        SourceOp::Image { reference, .. } => {
            let image =
                resolve_image(&ex.content, &ex.images, reference).map_err(ExecError::other)?;
            let top =
                kiln_snapshotter::unpack(&ex.content, &image.manifest, ex.snapshotter.as_ref())
                    .map_err(|e| ExecError::other(format!("unpack {reference}: {e}")))?;
            Ok(RootFs {
                key,
                snapshot: (!top.is_empty()).then_some(top),
                layers: image.layers.into_iter().map(TreeLayer::Blob).collect(),
                own: None,
                image_manifest: Some(image.manifest),
            })
        }
    }
}
