//! The JSON documents archives carry, as small serde structs.
//!
//! kiln's own structs (not oci-spec's) because what is written must be
//! byte-for-byte deterministic: annotations are a `BTreeMap` (oci-spec uses a
//! `HashMap`, whose order changes between runs), and fields keep spec order.
//! Reading is tolerant: unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Annotation holding the tag (or full reference) of an index entry (OCI spec).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation holding the full image name (containerd, docker 25+).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The `imageLayoutVersion` kiln writes in `oci-layout`.
pub const LAYOUT_VERSION: &str = "1.0.0";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Desc {
    /// The media type of the referenced blob.
    pub media_type: String,
    /// The blob's digest.
    pub digest: Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// The platform of an index entry, kept as-is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image manifest (OCI or Docker schema 2) as far as archives need it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The image config.
    pub config: Desc,
    /// The layers, bottom first.
    pub layers: Vec<Desc>,
}

/// An image index / manifest list, or an OCI layout's `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexDoc {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The entries.
    pub manifests: Vec<Desc>,
}

/// The `oci-layout` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutDoc {
    /// `1.0.0`.
    pub image_layout_version: String,
}

/// One entry of a docker-archive's `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DockerEntry {
    /// Path of the config member.
    #[serde(rename = "Config")]
    pub config: String,
    /// Familiar references (`busybox:latest`); absent or null for untagged images.
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer members, bottom first.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// The parts of an image config archives look at.
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigDoc {
    /// The layers' uncompressed digests.
    pub rootfs: RootFs,
}

/// An image config's `rootfs`.
#[derive(Debug, Clone, Deserialize)]
pub struct RootFs {
    /// The layers' uncompressed digests, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}
