//! Writing a built image: its config document (with `rootfs.diff_ids` and
//! `history` extended by the build) and an OCI image manifest, as blobs in
//! the content store.
//!
//! [`ImageDoc`] starts from the base image's config (or, for `FROM scratch`,
//! an empty one for this machine's platform) and records each build step:
//! a layer ([`ImageDoc::add_layer`]) or a metadata-only step
//! ([`ImageDoc::add_empty`], history entry with `empty_layer: true`), as
//! BuildKit does. The caller changes `config` (Env, Cmd, …) directly.

use kiln_image::{media, ContentStore, Digest, Platform};
use serde_json::{json, Map, Value};

use super::layer::Layer;

/// Why an image's config or manifest could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ImageWriteError {
    /// The document did not serialise.
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
    /// The content store refused it.
    #[error("{0}")]
    Store(#[source] kiln_image::ImageError),
}

/// One layer of the manifest: inherited from the base (its descriptor as it
/// was) or made by the build.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDesc {
    /// Media type (base layers keep theirs; new ones are OCI gzip or zstd).
    pub media_type: String,
    /// Blob digest.
    pub digest: Digest,
    /// Blob size.
    pub size: u64,
}

/// The config document being built and the layers of its manifest.
#[derive(Debug, Clone)]
pub struct ImageDoc {
    /// The whole config document (`architecture`, `os`, `config`, `rootfs`,
    /// `history`, `created`).
    pub doc: Value,
    /// The manifest's layers, bottom first.
    pub layers: Vec<LayerDesc>,
}

impl ImageDoc {
    /// An empty image for `FROM scratch`.
    pub fn scratch() -> ImageDoc {
        let platform = Platform::host();
        ImageDoc {
            doc: json!({
                "architecture": platform.architecture,
                "os": platform.os,
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            }),
            layers: Vec::new(),
        }
    }

    /// Continues from a base image: its config document and manifest layers.
    pub fn from_base(config: Value, layers: Vec<LayerDesc>) -> ImageDoc {
        let mut image = ImageDoc {
            doc: config,
            layers,
        };
        let doc = image.object();
        doc.entry("config").or_insert_with(|| json!({}));
        doc.entry("history").or_insert_with(|| json!([]));
        image
    }

    fn object(&mut self) -> &mut Map<String, Value> {
        if !self.doc.is_object() {
            self.doc = json!({});
        }
        self.doc.as_object_mut().expect("made an object above")
    }

    /// The `config` object (Env, Cmd, Entrypoint, WorkingDir, User, …).
    pub fn config(&mut self) -> &mut Map<String, Value> {
        let doc = self.object();
        let config = doc.entry("config").or_insert_with(|| json!({}));
        if !config.is_object() {
            *config = json!({});
        }
        config.as_object_mut().expect("made an object above")
    }

    fn push_history(&mut self, created: &str, created_by: &str, empty_layer: bool) {
        let mut entry = json!({"created": created, "created_by": created_by, "comment": "buildkit.dockerfile.v0"});
        if empty_layer {
            entry["empty_layer"] = json!(true);
        }
        let doc = self.object();
        let history = doc.entry("history").or_insert_with(|| json!([]));
        if let Some(list) = history.as_array_mut() {
            list.push(entry);
        }
    }

    /// Records a step that made `layer` (a new OCI layer of `media_type`).
    pub fn add_layer(&mut self, layer: &Layer, media_type: &str, created: &str, created_by: &str) {
        self.layers.push(LayerDesc {
            media_type: media_type.to_string(),
            digest: layer.digest,
            size: layer.size,
        });
        let doc = self.object();
        let rootfs = doc
            .entry("rootfs")
            .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
        if let Some(ids) = rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
            ids.push(json!(layer.diff_id.to_string()));
        }
        self.push_history(created, created_by, false);
    }

    /// Records a metadata-only step (ENV, CMD, …): history only.
    pub fn add_empty(&mut self, created: &str, created_by: &str) {
        self.push_history(created, created_by, true);
    }

    /// Writes the config and an OCI manifest into `content`; returns
    /// (manifest digest, config digest). `created` is the image's creation
    /// time (RFC 3339).
    pub fn write(
        &mut self,
        content: &ContentStore,
        created: &str,
    ) -> Result<(Digest, Digest), ImageWriteError> {
        self.object().insert("created".into(), json!(created));
        let config = serde_json::to_vec(&self.doc).map_err(ImageWriteError::Encode)?;
        let (config_digest, config_size) = content
            .ingest_bytes(&config, None)
            .map_err(ImageWriteError::Store)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {
                "mediaType": media::OCI_CONFIG,
                "digest": config_digest.to_string(),
                "size": config_size,
            },
            "layers": self.layers.iter().map(|l| json!({
                "mediaType": l.media_type,
                "digest": l.digest.to_string(),
                "size": l.size,
            })).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&manifest).map_err(ImageWriteError::Encode)?;
        let (manifest_digest, _) = content
            .ingest_bytes(&bytes, None)
            .map_err(ImageWriteError::Store)?;
        Ok((manifest_digest, config_digest))
    }
}
