//! `--cache-to type=local`: solved steps -> records and blobs in DIR (see
//! the module docs of [`crate::local_cache`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use kiln_image::FileLock;

use super::{layout, read_config, CacheConfig, CacheRecord, LocalCacheError};
use super::{CACHE_CONFIG_MEDIA_TYPE, FORMAT_VERSION};
use crate::executor::{KilnExecutor, Output, RootFs, RootLayer, TreeLayer};
use crate::export::built_layer;
use crate::graph::{BuildGraph, Op, VertexId};

/// Which steps are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportMode {
    /// The target stage's chain only (BuildKit's default).
    #[default]
    Min,
    /// Every solved step of every stage.
    Max,
}

/// Where and what to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheExport {
    /// The cache directory (created if missing).
    pub dest: PathBuf,
    /// Which steps.
    pub mode: ExportMode,
}

/// The root filesystems `mode` exports out of a solved graph: every one
/// (`Max`), or the target stage's chain from its last step down to its
/// `FROM` (`Min`).
pub fn select<'a>(
    graph: &BuildGraph,
    outputs: &'a BTreeMap<VertexId, Output>,
    mode: ExportMode,
) -> Vec<&'a RootFs> {
    let root = |v: &VertexId| match outputs.get(v) {
        Some(Output::Root(r)) => Some(r),
        _ => None,
    };
    match mode {
        ExportMode::Max => outputs.keys().filter_map(root).collect(),
        ExportMode::Min => {
            let mut out = Vec::new();
            let mut v = graph.target().root;
            loop {
                out.extend(root(&v));
                if matches!(graph.vertex(v).op, Op::Source(_)) {
                    break;
                }
                match graph.inputs(v).first() {
                    Some(below) => v = *below,
                    None => break,
                }
            }
            out
        }
    }
}

/// Writes `roots` into `to.dest` (merging with what is there); returns how
/// many records the directory holds now.
pub fn export(
    executor: &KilnExecutor,
    roots: &[&RootFs],
    to: &CacheExport,
) -> Result<usize, LocalCacheError> {
    let dir = &to.dest;
    layout::ensure(dir)?;
    let lock_path = dir.join(".kiln-cache.lock");
    let _lock = FileLock::exclusive(&lock_path).map_err(|e| LocalCacheError::Export {
        dir: dir.clone(),
        why: format!("lock {}: {e}", lock_path.display()),
    })?;
    let previous = previous_records(dir)?;
    let mut blobs: HashMap<String, RootLayer> = HashMap::new();
    let mut records: BTreeMap<String, CacheRecord> = BTreeMap::new();
    for root in roots {
        let record = record_of(executor, dir, root, &mut blobs)?;
        records.insert(record.key.to_string(), record);
    }
    for old in previous {
        let kept = old
            .layers
            .iter()
            .all(|l| layout::has_blob(dir, &l.digest, l.size));
        if kept {
            records.entry(old.key.to_string()).or_insert(old);
        }
    }
    let config = CacheConfig {
        version: FORMAT_VERSION,
        records: records.into_values().collect(),
    };
    let bytes = serde_json::to_vec(&config).map_err(|e| LocalCacheError::Export {
        dir: dir.clone(),
        why: format!("encode the cache config: {e}"),
    })?;
    let (digest, size) = layout::put_bytes(dir, &bytes)?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": kiln_image::media::OCI_INDEX,
        "manifests": [{
            "mediaType": CACHE_CONFIG_MEDIA_TYPE,
            "digest": digest.to_string(),
            "size": size,
        }],
    });
    layout::replace(&dir.join("index.json"), index.to_string().as_bytes())?;
    Ok(config.records.len())
}

/// The records of the cache already in `dir` (none when it has no
/// `index.json` yet); a foreign `index.json` is an error.
fn previous_records(dir: &Path) -> Result<Vec<CacheRecord>, LocalCacheError> {
    if !dir.join("index.json").exists() {
        return Ok(Vec::new());
    }
    match read_config(dir) {
        Ok(config) => Ok(config.records),
        Err(e) => Err(LocalCacheError::Export {
            dir: dir.to_path_buf(),
            why: format!("refusing to replace its index.json ({e})"),
        }),
    }
}

/// The record of `root`, its layers' blobs written into `dir` (`blobs`
/// remembers the layers already done by built snapshot name or digest).
fn record_of(
    executor: &KilnExecutor,
    dir: &Path,
    root: &RootFs,
    blobs: &mut HashMap<String, RootLayer>,
) -> Result<CacheRecord, LocalCacheError> {
    let mut layers = Vec::with_capacity(root.layers.len());
    for layer in &root.layers {
        let id = match layer {
            TreeLayer::Blob(b) => b.digest.to_string(),
            TreeLayer::Built(b) => b.snapshot.clone(),
        };
        if let Some(done) = blobs.get(&id) {
            layers.push(done.clone());
            continue;
        }
        let blob = match layer {
            TreeLayer::Blob(b) => b.clone(),
            TreeLayer::Built(b) => built_layer(
                &executor.root,
                executor.snapshotter.as_ref(),
                &executor.content,
                &executor.diff,
                b,
            )
            .map_err(|e| LocalCacheError::Export {
                dir: dir.to_path_buf(),
                why: format!("export layer of snapshot {}: {e}", b.snapshot),
            })?,
        };
        copy_blob(executor, dir, &blob)?;
        blobs.insert(id, blob.clone());
        layers.push(blob);
    }
    if root.own.is_some() && layers.is_empty() {
        return Err(LocalCacheError::Export {
            dir: dir.to_path_buf(),
            why: format!("step {}: its own layer is not in its tree", root.key),
        });
    }
    Ok(CacheRecord {
        key: root.key.0,
        own: root.own.as_ref().map(|_| layers.len() - 1),
        layers,
        image_manifest: root.image_manifest,
    })
}

/// Copies the blob of `layer` from the content store into `dir`.
fn copy_blob(
    executor: &KilnExecutor,
    dir: &Path,
    layer: &RootLayer,
) -> Result<(), LocalCacheError> {
    if layout::has_blob(dir, &layer.digest, layer.size) {
        return Ok(());
    }
    let mut file = executor
        .content
        .open(&layer.digest)
        .map_err(|e| LocalCacheError::Export {
            dir: dir.to_path_buf(),
            why: format!("read layer {}: {e}", layer.digest),
        })?;
    layout::put_blob(dir, &layer.digest, layer.size, &mut file)
}
