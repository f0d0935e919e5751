//! The persistent build cache: `<root>/builder/cache/<key hex>.json` holds
//! the [`RootFs`] a vertex produced (committed snapshot name, layers with
//! diff_ids), written atomically (temp file, fsync, rename), so concurrent
//! builds and later invocations share it. A lookup is a hit only while the
//! snapshot and every layer blob still exist. Context vertices are answered
//! with the build's own context handle (their key already covers the files'
//! content), so a fully cached build reports every vertex as cached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kiln_image::ContentStore;
use kiln_snapshotter::Snapshotter;

use crate::context::Context;
use crate::executor::{Output, RootFs};
use crate::graph::{Op, Vertex};
use crate::solver::{CacheKey, CacheLookup};

/// The folder of cache entries under a kiln root.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join("builder/cache")
}

/// Deletes every cache entry and persisted cache mount under `root` (for
/// `kiln builder prune`); returns how many cache entries were removed. The
/// snapshots they name are left for the snapshot garbage collector.
pub fn prune(root: &Path) -> std::io::Result<usize> {
    let dir = cache_dir(root);
    let mut removed = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    let mounts = root.join("builder/cache-mounts");
    if mounts.exists() {
        std::fs::remove_dir_all(&mounts)?;
    }
    Ok(removed)
}

/// A [`CacheLookup`] over the kiln root's cache folder.
pub struct CacheStore<'a> {
    dir: PathBuf,
    content: &'a ContentStore,
    snapshotter: &'a dyn Snapshotter,
    context: Option<Arc<Context>>,
}

impl<'a> CacheStore<'a> {
    /// The cache of `root`, validating hits against `content` and
    /// `snapshotter`; `context` answers context vertices.
    pub fn new(
        root: &Path,
        content: &'a ContentStore,
        snapshotter: &'a dyn Snapshotter,
        context: Option<Arc<Context>>,
    ) -> CacheStore<'a> {
        CacheStore {
            dir: cache_dir(root),
            content,
            snapshotter,
            context,
        }
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.0.hex()))
    }

    fn valid(&self, root: &RootFs) -> bool {
        let snapshot_ok = root
            .snapshot
            .as_ref()
            .is_none_or(|s| self.snapshotter.stat(s).is_ok());
        snapshot_ok
            && root
                .layers
                .iter()
                .all(|l| self.content.exists(&l.digest).unwrap_or(false))
    }

    fn write(&self, key: &CacheKey, root: &RootFs) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(key);
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let bytes = serde_json::to_vec(root).map_err(std::io::Error::other)?;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}

impl CacheLookup<Output> for CacheStore<'_> {
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<Output> {
        match &vertex.op {
            Op::Context(_) => self.context.as_ref().map(|c| Output::Context {
                key: *key,
                context: Arc::clone(c),
            }),
            _ => {
                let bytes = std::fs::read(self.path(key)).ok()?;
                let root: RootFs = serde_json::from_slice(&bytes).ok()?;
                (root.key == *key && self.valid(&root)).then_some(Output::Root(root))
            }
        }
    }

    fn store(&self, key: &CacheKey, vertex: &Vertex, output: &Output) {
        let _ = vertex;
        if let Output::Root(root) = output {
            // A cache that cannot be written only costs a rebuild later.
            let _ = self.write(key, root);
        }
    }
}
