//! `--cache-from type=local`: records of cache directories answer the
//! steps the root's own cache misses (see the module docs of
//! [`crate::local_cache`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kiln_image::ContentStore;
use kiln_snapshotter::Snapshotter;

use super::{layout, read_config, CacheRecord, LocalCacheError};
use crate::cache_store::CacheStore;
use crate::executor::{Output, RootFs, TreeLayer};
use crate::graph::{Op, Vertex};
use crate::solver::{CacheKey, CacheLookup};
use crate::Digest;

/// The records of one or more cache directories, by key.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    records: HashMap<Digest, (PathBuf, CacheRecord)>,
}

impl Imported {
    /// Reads every directory's cache config (the first directory listing a
    /// key wins); a directory that is not a kiln cache is an error.
    pub fn open(dirs: &[PathBuf]) -> Result<Imported, LocalCacheError> {
        let mut records = HashMap::new();
        for dir in dirs {
            for record in read_config(dir)?.records {
                if record.own.is_some_and(|i| i >= record.layers.len()) {
                    continue; // unusable; a miss
                }
                records
                    .entry(record.key)
                    .or_insert_with(|| (dir.clone(), record));
            }
        }
        Ok(Imported { records })
    }

    /// How many records were read.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was read.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The root's [`CacheStore`], falling back to imported records: see the
/// module docs.
pub struct ImportingCache<'a> {
    local: CacheStore<'a>,
    imported: Imported,
    content: &'a ContentStore,
    snapshotter: &'a dyn Snapshotter,
    warnings: Mutex<Vec<String>>,
}

impl<'a> ImportingCache<'a> {
    /// `local` first, then `imported`, whose hits are materialised into
    /// `content` and `snapshotter` (and stored in `local`).
    pub fn new(
        local: CacheStore<'a>,
        imported: Imported,
        content: &'a ContentStore,
        snapshotter: &'a dyn Snapshotter,
    ) -> ImportingCache<'a> {
        ImportingCache {
            local,
            imported,
            content,
            snapshotter,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Why imported records could not be used (one line each; those steps
    /// ran instead).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn warn(&self, line: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(line);
        }
    }
}

impl CacheLookup<Output> for ImportingCache<'_> {
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<Output> {
        if let Some(hit) = self.local.lookup(key, vertex) {
            return Some(hit);
        }
        if matches!(vertex.op, Op::Context(_)) {
            return None;
        }
        let (dir, record) = self.imported.records.get(&key.0)?;
        match materialise(self.content, self.snapshotter, dir, record) {
            Ok(root) => {
                let out = Output::Root(root);
                self.local.store(key, vertex, &out);
                Some(out)
            }
            Err(e) => {
                self.warn(format!(
                    "cache from {}: {}: {e}; running the step instead",
                    dir.display(),
                    vertex.name
                ));
                None
            }
        }
    }

    fn store(&self, key: &CacheKey, vertex: &Vertex, output: &Output) {
        self.local.store(key, vertex, output)
    }
}

/// Copies the record's blobs into `content` (digest-checked), makes the
/// committed snapshot chain and describes the step's result.
fn materialise(
    content: &ContentStore,
    snapshotter: &dyn Snapshotter,
    dir: &Path,
    record: &CacheRecord,
) -> Result<RootFs, String> {
    for layer in &record.layers {
        let path = layout::blob_path(dir, &layer.digest);
        if !content.exists(&layer.digest).unwrap_or(false) {
            let file =
                std::fs::File::open(&path).map_err(|e| format!("open {}: {e}", path.display()))?;
            let (_, size) = content
                .ingest(file, Some(&layer.digest))
                .map_err(|e| format!("blob {}: {e}", layer.digest))?;
            if size != layer.size {
                return Err(format!(
                    "blob {}: {size} bytes, the record says {}",
                    layer.digest, layer.size
                ));
            }
        }
    }
    let chain: Vec<(Digest, Digest)> = record
        .layers
        .iter()
        .map(|l| (l.digest, l.diff_id))
        .collect();
    let top = kiln_snapshotter::unpack::unpack_layers(content, &chain, snapshotter)
        .map_err(|e| e.to_string())?;
    let layers: Vec<TreeLayer> = record.layers.iter().cloned().map(TreeLayer::Blob).collect();
    Ok(RootFs {
        key: CacheKey(record.key),
        snapshot: (!top.is_empty()).then_some(top),
        own: record.own.and_then(|i| layers.get(i).cloned()),
        layers,
        image_manifest: record.image_manifest,
    })
}
