//! The image config threaded through a stage.
//!
//! Design choice (BuildKit's): metadata instructions (ENV, LABEL, CMD, USER,
//! EXPOSE, ...) are *not* vertices. Each stage carries an [`ImageConfig`]
//! value that its instructions update in order, and a history list whose
//! layer entries point at the vertex that produced the layer. Only
//! filesystem work (exec, copy, mkdir) is in the DAG, so a LABEL change never
//! invalidates a RUN's cache key, exactly as in BuildKit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::VertexId;

/// The default PATH BuildKit gives Linux images that have none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The runtime config of an image (the OCI `config` object's fields).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageConfig {
    /// `Env`, `KEY=value`, in order (a later ENV replaces in place).
    pub env: Vec<(String, String)>,
    /// `Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `Entrypoint`.
    pub entrypoint: Option<Vec<String>>,
    /// `User`.
    pub user: String,
    /// `WorkingDir`.
    pub working_dir: String,
    /// `ExposedPorts` (`80/tcp`).
    pub exposed_ports: BTreeSet<String>,
    /// `Volumes`.
    pub volumes: BTreeSet<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// `Healthcheck`.
    pub healthcheck: Option<HealthConfig>,
    /// `Shell` (Docker extension); `None` = `/bin/sh -c`.
    pub shell: Option<Vec<String>>,
    /// `OnBuild` trigger expressions (Docker extension).
    pub on_build: Vec<String>,
    /// The image `author` (MAINTAINER).
    pub author: Option<String>,
}

impl ImageConfig {
    /// The value of ENV `key`.
    pub fn env_get(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets ENV `key`, replacing an earlier value in place.
    pub fn env_set(&mut self, key: &str, value: &str) {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.env.push((key.to_string(), value.to_string())),
        }
    }

    /// The shell that shell-form commands run through.
    pub fn shell_or_default(&self) -> Vec<String> {
        self.shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }
}

/// The image config's `Healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", ...]` or `["CMD-SHELL", cmd]`.
    pub test: Vec<String>,
    /// Probe interval.
    pub interval: Option<Duration>,
    /// Probe timeout.
    pub timeout: Option<Duration>,
    /// Grace period.
    pub start_period: Option<Duration>,
    /// Interval during the grace period.
    pub start_interval: Option<Duration>,
    /// Failures before unhealthy.
    pub retries: Option<u32>,
}

/// One image history entry a stage adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// BuildKit's `created_by` text.
    pub created_by: String,
    /// True for metadata-only steps (no layer).
    pub empty_layer: bool,
    /// The vertex whose output is this layer (layer entries only).
    pub vertex: Option<VertexId>,
}

/// What the builder must know about a base image before building the graph
/// (BuildKit resolves the image config first, too): its config, and whether
/// it exists for the platform. ONBUILD triggers come from `config.on_build`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseImage {
    /// The base image's config.
    pub config: ImageConfig,
}

/// Looks up base image configs by reference and platform.
///
/// Graph building is pure: the caller resolves images (from the store or a
/// registry) and answers here. [`NoBaseImages`] answers "empty config" for
/// every reference, which is what tests use.
pub trait BaseImages {
    /// The config of `reference` for `platform`, or why it has none.
    fn resolve(&self, reference: &str, platform: &str) -> Result<BaseImage, ImageLookupError>;
}

/// Why a base image (a FROM, a `COPY --from` image) could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageLookupError {
    /// The reference does not parse.
    #[error("invalid image reference {reference:?}: {source}")]
    InvalidReference {
        /// The reference as written.
        reference: String,
        /// Why it does not parse.
        #[source]
        source: Box<kiln_image::ImageError>,
    },
    /// The image index could not be read.
    #[error("image index: {0}")]
    Index(#[source] Box<kiln_image::ImageError>),
    /// The image is not in the local store.
    #[error("image {reference} not found locally (kiln does not pull yet)")]
    NotFound {
        /// The reference as written.
        reference: String,
    },
    /// The image's manifest (for this host's platform) or config could not be
    /// read: `what` is empty, `manifest <digest>` or `config <digest>`.
    #[error("image {reference}: {what}{}{source}", if .what.is_empty() { "" } else { ": " })]
    Read {
        /// The reference as written.
        reference: String,
        /// The document that failed.
        what: String,
        /// What failed.
        #[source]
        source: Box<kiln_image::ImageError>,
    },
    /// The config lists another number of diff_ids than the manifest layers.
    #[error("image {reference}: {layers} layers but {diff_ids} diff_ids")]
    DiffIds {
        /// The reference as written.
        reference: String,
        /// Layers in the manifest.
        layers: usize,
        /// diff_ids in the config.
        diff_ids: usize,
    },
}

/// A resolver that knows nothing: every image has an empty config.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBaseImages;

impl BaseImages for NoBaseImages {
    fn resolve(&self, _reference: &str, _platform: &str) -> Result<BaseImage, ImageLookupError> {
        Ok(BaseImage::default())
    }
}

/// A fixed table of base images (tests, pre-resolved builds); unknown
/// references get an empty config.
impl BaseImages for BTreeMap<String, BaseImage> {
    fn resolve(&self, reference: &str, _platform: &str) -> Result<BaseImage, ImageLookupError> {
        Ok(self.get(reference).cloned().unwrap_or_default())
    }
}
