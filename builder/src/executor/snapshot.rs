//! The steps every filesystem-changing op shares: prepare an active
//! snapshot on the input tree, mount it on the host, let the op change it
//! and commit it under the vertex's name (the layer is exported later, only
//! if an image contains it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use kiln_snapshotter::{mount, Contents, Labels, Mount};

use super::{BuiltLayer, KilnExecutor, RootFs, TreeLayer};
use crate::solver::{CacheKey, ExecError};

/// The committed snapshot name of the vertex with `key`.
pub fn committed_name(key: &CacheKey) -> String {
    format!("build-{}", key.0.hex())
}

/// A process-unique suffix for temporary snapshot keys and folders.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// An active snapshot being changed by one vertex; removed on drop unless
/// committed.
pub struct Active<'a> {
    ex: &'a KilnExecutor,
    /// The snapshotter key.
    pub key: String,
    /// The parent (committed) snapshot.
    pub parent: Option<String>,
    /// The mounts of the active snapshot.
    pub mounts: Vec<Mount>,
    /// A scratch folder for this step (`<root>/builder/run/<key>`).
    pub work: PathBuf,
    done: bool,
}

impl<'a> Active<'a> {
    /// Prepares an active snapshot over `input` (its committed snapshot).
    pub fn prepare(ex: &'a KilnExecutor, input: &RootFs) -> Result<Active<'a>, ExecError> {
        let key = unique("build-active");
        let parent = input.snapshot.clone();
        let mounts = ex
            .snapshotter
            .prepare(&key, parent.as_deref(), &Labels::new())
            .map_err(|e| ExecError::other(format!("prepare snapshot {key}: {e}")))?;
        let work = ex.root.join("builder/run").join(&key);
        std::fs::create_dir_all(&work)
            .map_err(|e| ExecError::other(format!("create {}: {e}", work.display())))?;
        Ok(Active {
            ex,
            key,
            parent,
            mounts,
            work,
            done: false,
        })
    }

    /// The upper directory of an overlay active snapshot mounted as an
    /// overlay (over a parent), where its changes land; `None` for other
    /// mounts (native copies, and a parentless snapshot's plain bind). From
    /// the snapshotter's layout, never from mount options.
    pub fn upper_dir(&self) -> Option<PathBuf> {
        let layout = self.ex.snapshotter.layout(&self.key).ok()?;
        let layered = layout.contents == Contents::Changes && !layout.parents.is_empty();
        layered.then_some(layout.own)
    }

    /// Mounts the active snapshot on the host, runs `change` on its root,
    /// unmounts (also when `change` fails).
    pub fn with_mounted<T>(
        &self,
        change: impl FnOnce(&Path) -> Result<T, ExecError>,
    ) -> Result<T, ExecError> {
        with_mounted(&self.mounts, &self.work.join("root"), change)
    }

    /// Commits the snapshot as the vertex's; returns the vertex's root
    /// filesystem on top of `input`. The layer is not written here: an image
    /// that contains it exports it ([`crate::export::built_layer`]).
    pub fn finish(mut self, input: &RootFs, key: CacheKey) -> Result<RootFs, ExecError> {
        let name = committed_name(&key);
        if self.ex.snapshotter.stat(&name).is_err() {
            // Another build may commit the same step at the same time: then
            // its snapshot (same inputs, same key) is used.
            if let Err(e) = self.ex.snapshotter.commit(&name, &self.key) {
                if self.ex.snapshotter.stat(&name).is_err() {
                    return Err(ExecError::other(format!("commit snapshot {name}: {e}")));
                }
            } else {
                self.done = true;
            }
        }
        let mut out = input.clone();
        out.key = key;
        out.snapshot = Some(name.clone());
        out.image_manifest = None;
        // Every RUN, COPY/ADD and WORKDIR makes a layer, even one that changed
        // nothing, as BuildKit does (difftest cases 05, 10, 14).
        let own = BuiltLayer {
            snapshot: name,
            parent: self.parent.clone(),
        };
        out.layers.push(TreeLayer::Built(own.clone()));
        out.own = Some(TreeLayer::Built(own));
        Ok(out)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.ex.snapshotter.remove(&self.key);
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Mounts `mounts` on `dir` (created), runs `f`, unmounts.
pub fn with_mounted<T>(
    mounts: &[Mount],
    dir: &Path,
    f: impl FnOnce(&Path) -> Result<T, ExecError>,
) -> Result<T, ExecError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ExecError::other(format!("create {}: {e}", dir.display())))?;
    mount::mount_all(mounts, dir)
        .map_err(|e| ExecError::other(format!("mount {}: {e}", dir.display())))?;
    let result = f(dir);
    let unmounted = unmount_patiently(dir);
    let value = result?;
    unmounted.map_err(|e| ExecError::other(format!("unmount {}: {e}", dir.display())))?;
    Ok(value)
}

/// Unmounts `dir`, retrying while it is busy: another thread's freshly
/// forked child holds copies of this process's descriptors until it execs
/// (measured: an occasional EBUSY while parallel steps start processes).
/// After about a second the mount is detached lazily instead.
fn unmount_patiently(dir: &Path) -> kiln_snapshotter::Result<()> {
    for _ in 0..50 {
        match mount::unmount_all(dir, false) {
            Ok(()) => return Ok(()),
            Err(kiln_snapshotter::Error::Unmount { source, .. })
                if source.raw_os_error() == Some(libc::EBUSY) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => return Err(e),
        }
    }
    mount::unmount_all(dir, true)
}

/// A read-only view of `input` mounted on `dir` for the duration of `f`
/// (an empty folder for the empty tree).
pub fn with_view<T>(
    ex: &KilnExecutor,
    input: &RootFs,
    dir: &Path,
    f: impl FnOnce(&Path) -> Result<T, ExecError>,
) -> Result<T, ExecError> {
    let Some(parent) = &input.snapshot else {
        std::fs::create_dir_all(dir)
            .map_err(|e| ExecError::other(format!("create {}: {e}", dir.display())))?;
        return f(dir);
    };
    let key = unique("build-view");
    let mounts = ex
        .snapshotter
        .view(&key, Some(parent))
        .map_err(|e| ExecError::other(format!("view of snapshot {parent}: {e}")))?;
    let result = with_mounted(&mounts, dir, f);
    let _ = ex.snapshotter.remove(&key);
    result
}
