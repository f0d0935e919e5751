//! The local build cache directory: `kiln build --cache-to type=local,dest=DIR`
//! writes the results of solved steps into DIR, and `--cache-from
//! type=local,src=DIR` on another kiln root (another machine) answers the
//! same steps from it instead of running them, as BuildKit's local cache
//! exporter does. kiln's cache keys are its own, so BuildKit cannot read the
//! directory (nor kiln BuildKit's); the keys depend only on the op
//! definitions, the input keys and content digests (context files, base
//! image manifest digest), so the same Dockerfile, context and base image
//! give the same keys on any machine.
//!
//! # Format
//!
//! DIR is an OCI image layout:
//!
//! ```text
//! oci-layout              {"imageLayoutVersion":"1.0.0"}
//! index.json              an OCI image index whose one descriptor is the cache
//!                         config (media type application/vnd.kiln.cache.config.v1+json)
//! blobs/sha256/<hex>      the layer blobs (as in an image: tar, tar+gzip or
//!                         tar+zstd) and the cache config
//! .kiln-cache.lock        taken while exporting (concurrent exporters queue)
//! ```
//!
//! The cache config ([`CacheConfig`]) is JSON:
//!
//! ```json
//! {"version": 1,
//!  "records": [{"key": "sha256:…",
//!               "layers": [{"media_type": "…", "digest": "sha256:…",
//!                           "size": 123, "diff_id": "sha256:…"}],
//!               "own": 2,
//!               "image_manifest": null}]}
//! ```
//!
//! One record per exported step: its cache key, every layer of its root
//! filesystem bottom first (base image layers included), the index in
//! `layers` of the layer the step itself added (`null` for a `FROM`), and
//! for a `FROM` image the base image's manifest digest.
//!
//! # Export ([`export`])
//!
//! `mode=min` (the default, as BuildKit) exports the target stage's chain
//! of steps (from its `FROM` to its last step); `mode=max` every solved step
//! of every stage. Built layers are written as the image export writes them
//! (same compression, `SOURCE_DATE_EPOCH` clamping), so the image another
//! root assembles from imported layers is the same image. Blobs go first
//! (each to a temp name, fsynced, renamed; one already there with the right
//! size is kept), then the config blob, then `index.json` through a temp
//! file and rename: a crash leaves the previous `index.json`, whose blobs
//! are never removed, so the directory always imports as one consistent
//! export. Exporting into a DIR that already holds a kiln cache merges: the
//! old records whose blobs are all still present stay, records of the same
//! keys are replaced by the new ones. Blobs are never deleted (delete DIR
//! to start afresh). A DIR whose `index.json` is not a kiln cache is refused.
//!
//! # Import ([`ImportingCache`])
//!
//! The records of every `--cache-from` DIR are read before solving (the
//! first DIR listing a key wins). When the root's own cache misses a key
//! and a record has it, its layer blobs are copied into the content store
//! (each checked against its digest by the store's ingest), the chain of
//! committed snapshots is made from them as an image unpack makes it
//! (snapshots named by chain ID; existing ones reused; every diff_id
//! checked), and the step's result is that chain, all layers blobs, stored
//! in the root's cache too. The solver reports the step as cached. A
//! record that fails (a truncated or altered blob, a diff_id mismatch) is a
//! miss: the step runs as if the record were absent, nothing of the bad
//! blob is kept, and the reason is returned as a warning
//! ([`ImportingCache::warnings`]). A wrong image never comes out of a bad
//! cache directory.
//!
//! Imported layers keep the compression they were exported with, whatever
//! this build's `compression` is.
//!
//! [`flags`]: BuildKit's `--cache-to`/`--cache-from type=local` values.

mod export;
pub mod flags;
mod import;
mod layout;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::executor::RootLayer;
use crate::Digest;

pub use export::{export, select, CacheExport, ExportMode};
pub use import::{Imported, ImportingCache};

/// The media type of the cache config blob.
pub const CACHE_CONFIG_MEDIA_TYPE: &str = "application/vnd.kiln.cache.config.v1+json";

/// The version of the cache config this kiln writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The cache config blob: every exported step's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheConfig {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// One record per step.
    pub records: Vec<CacheRecord>,
}

/// One step's result: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheRecord {
    /// The step's cache key.
    pub key: Digest,
    /// The layers of its root filesystem, bottom first.
    pub layers: Vec<RootLayer>,
    /// The index in `layers` of the layer the step added (`None`: a source).
    pub own: Option<usize>,
    /// For image sources: the base image's manifest digest.
    pub image_manifest: Option<Digest>,
}

/// What can go wrong reading or writing a cache directory (each names the
/// directory or file).
#[derive(Debug, thiserror::Error)]
pub enum LocalCacheError {
    /// The directory is not (or not yet) a kiln cache.
    #[error("{dir}: not a kiln cache directory: {why}")]
    NotACache {
        /// The directory.
        dir: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A step's layers could not be exported.
    #[error("cache export to {dir}: {why}")]
    Export {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        why: String,
    },
}

impl LocalCacheError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LocalCacheError {
        let path = path.to_path_buf();
        move |source| LocalCacheError::Io { what, path, source }
    }
}

/// Reads the cache config of `dir` (checking its digest); an error says why
/// `dir` is not a kiln cache.
pub fn read_config(dir: &Path) -> Result<CacheConfig, LocalCacheError> {
    let not = |why: String| LocalCacheError::NotACache {
        dir: dir.to_path_buf(),
        why,
    };
    if !dir.is_dir() {
        return Err(not("no such directory".into()));
    }
    let index_path = dir.join("index.json");
    let index = std::fs::read(&index_path).map_err(|e| not(format!("index.json: {e}")))?;
    let index: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| not(format!("index.json: {e}")))?;
    let desc = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["mediaType"] == CACHE_CONFIG_MEDIA_TYPE)
        .ok_or_else(|| not(format!("index.json lists no {CACHE_CONFIG_MEDIA_TYPE}")))?;
    let digest: Digest = desc["digest"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| not("index.json: the cache config has no valid digest".into()))?;
    let path = layout::blob_path(dir, &digest);
    let bytes = std::fs::read(&path).map_err(|e| not(format!("cache config {digest}: {e}")))?;
    if Digest::of(&bytes) != digest {
        return Err(not(format!(
            "cache config {digest}: content does not match its digest"
        )));
    }
    let config: CacheConfig =
        serde_json::from_slice(&bytes).map_err(|e| not(format!("cache config {digest}: {e}")))?;
    if config.version != FORMAT_VERSION {
        return Err(not(format!(
            "cache config version {} (this kiln reads {FORMAT_VERSION})",
            config.version
        )));
    }
    Ok(config)
}

#[cfg(test)]
mod tests;
