//! Built layers become blobs on demand.
//!
//! A build step only commits its snapshot ([`BuiltLayer`]); the layer blob
//! is written when an image contains the step (the target stage's history),
//! so the layers of intermediate stages — which BuildKit does not export
//! either — cost no diff and no compression. The blob written for a
//! snapshot is remembered in `<root>/builder/layers/<snapshot>.<variant>.json`
//! (variant: compression, and `SOURCE_DATE_EPOCH` when set, since both change
//! the bytes), so a later build or another tag reuses it as long as the blob
//! is still in the content store.

use std::path::{Path, PathBuf};

use kiln_image::media::{self, Compression};
use kiln_image::ContentStore;
use kiln_snapshotter::{DiffOptions, Snapshotter};

use super::layer::{export_committed, LayerError};
use crate::executor::{BuiltLayer, RootLayer};

/// The media type of layers written with `diff`.
pub fn media_type(diff: &DiffOptions) -> &'static str {
    match diff.compression {
        Compression::Gzip => media::OCI_LAYER_TAR_GZIP,
        Compression::None => media::OCI_LAYER_TAR,
        Compression::Zstd => media::OCI_LAYER_TAR_ZSTD,
    }
}

/// The blob of `layer` written with `diff`: the remembered one when its blob
/// still exists, else exported from the snapshot now (and remembered).
pub fn built_layer(
    root: &Path,
    snapshotter: &dyn Snapshotter,
    content: &ContentStore,
    diff: &DiffOptions,
    layer: &BuiltLayer,
) -> Result<RootLayer, LayerError> {
    let record = record_path(root, &layer.snapshot, diff);
    if let Some(known) = read_record(&record) {
        if content.exists(&known.digest).unwrap_or(false) && known.media_type == media_type(diff) {
            return Ok(known);
        }
    }
    let written = export_committed(
        snapshotter,
        &layer.snapshot,
        layer.parent.as_deref(),
        content,
        diff,
    )?;
    let blob = RootLayer {
        media_type: media_type(diff).to_string(),
        digest: written.digest,
        size: written.size,
        diff_id: written.diff_id,
    };
    // A record that cannot be written only costs an export later.
    let _ = write_record(&record, &blob);
    Ok(blob)
}

/// `<root>/builder/layers/<snapshot>.<compression>[-sde<epoch>].json`.
fn record_path(root: &Path, snapshot: &str, diff: &DiffOptions) -> PathBuf {
    let compression = match diff.compression {
        Compression::Gzip => "gzip",
        Compression::None => "none",
        Compression::Zstd => "zstd",
    };
    let variant = match diff.source_date_epoch {
        Some(epoch) => format!("{compression}-sde{epoch}"),
        None => compression.to_string(),
    };
    root.join("builder/layers")
        .join(format!("{snapshot}.{variant}.json"))
}

fn read_record(path: &Path) -> Option<RootLayer> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Temp file + rename (no fsync: a lost record is re-exported, and the blob
/// it names is checked before use).
fn write_record(path: &Path, blob: &RootLayer) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(blob).map_err(std::io::Error::other)?;
    crate::fsutil::replace(path, &bytes)
}
