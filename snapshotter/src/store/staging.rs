//! Staging directories: where a new snapshot is populated before it is recorded.
//!
//! Each one is `flock`ed by its creator for as long as it lives, so recovery can
//! delete exactly those whose creator died (`try_claim` succeeds only on them).

use std::fs::{self, DirBuilder, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{sys, Error, Result};

/// A locked directory under `staging/`, deleted on drop unless persisted.
#[derive(Debug)]
pub(crate) struct Staging {
    path: PathBuf,
    lock: Option<File>,
}

impl Staging {
    /// Creates and locks a uniquely named directory (mode 0700) in `parent`.
    /// Call with the store lock held, so recovery cannot see it unlocked.
    pub fn create(parent: &Path) -> Result<Staging> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!("{}-{nanos}-{n}", std::process::id()));
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(Error::io("create directory", &path))?;
        let mut staging = Staging { path, lock: None };
        let lock = sys::open_dir(&staging.path).map_err(Error::io("open", &staging.path))?;
        sys::flock(&lock, true, true).map_err(Error::io("lock", &staging.path))?;
        staging.lock = Some(lock);
        Ok(staging)
    }

    /// The directory to populate.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the directory to `dest` and makes the rename durable.
    pub fn persist(mut self, dest: &Path) -> Result<()> {
        fs::rename(&self.path, dest).map_err(Error::io("rename staged snapshot to", dest))?;
        self.lock = None;
        let parent = dest.parent().unwrap_or(Path::new("/"));
        sys::fsync_dir(parent).map_err(Error::io("sync", parent))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.lock.is_some() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Locks `path` without waiting; `Some` means nobody else holds it.
pub(crate) fn try_claim(path: &Path) -> Option<File> {
    let file = sys::open_dir(path).ok()?;
    sys::flock(&file, true, false).ok()?;
    Some(file)
}
