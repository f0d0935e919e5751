//! `metadata.json`: the persisted table of snapshots, read and written under a
//! `flock` on a separate `lock` file (the JSON file itself is replaced by rename, so
//! it cannot carry the lock).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use kiln_image::lease::Holder;

use crate::sys;
use crate::{Error, Info, Kind, Labels, Result};

/// The format version written by this code.
const VERSION: u32 = 1;

/// One snapshot as persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Directory name under `snapshots/`; never reused.
    pub id: u64,
    /// Active, view or committed.
    pub kind: Kind,
    /// Committed parent's key.
    pub parent: Option<String>,
    /// Caller's labels.
    #[serde(default)]
    pub labels: Labels,
    /// Creation (or commit) time.
    pub created: SystemTime,
    /// The process that prepared it (kept by commit); the garbage collector
    /// keeps snapshots whose owner runs. `None` in records of older versions.
    #[serde(default)]
    pub owner: Option<Holder>,
}

impl Record {
    /// The public description of this record under `key`.
    pub fn info(&self, key: &str) -> Info {
        Info {
            kind: self.kind,
            name: key.to_string(),
            parent: self.parent.clone(),
            labels: self.labels.clone(),
            created: self.created,
        }
    }
}

/// The whole table.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Metadata {
    /// Format version.
    pub version: u32,
    /// Next snapshot directory id to hand out.
    pub next_id: u64,
    /// Every snapshot by key (active, view) or name (committed).
    pub snapshots: BTreeMap<String, Record>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            version: VERSION,
            next_id: 1,
            snapshots: BTreeMap::new(),
        }
    }
}

impl Metadata {
    /// Looks up `key`, failing with `NotFound`.
    pub fn get(&self, key: &str) -> Result<&Record> {
        self.snapshots.get(key).ok_or_else(|| Error::NotFound {
            key: key.to_string(),
        })
    }

    /// Fails with `AlreadyExists` if `key` is taken.
    pub fn ensure_free(&self, key: &str) -> Result<()> {
        if self.snapshots.contains_key(key) {
            return Err(Error::AlreadyExists {
                key: key.to_string(),
            });
        }
        Ok(())
    }

    /// Keys of the snapshots whose parent is `key`.
    pub fn children(&self, key: &str) -> Vec<String> {
        let is_child = |r: &Record| r.parent.as_deref() == Some(key);
        let children = self.snapshots.iter().filter(|(_, r)| is_child(r));
        children.map(|(k, _)| k.clone()).collect()
    }

    /// Ids of `parent` and its ancestors, nearest first.
    pub fn chain(&self, parent: Option<&str>) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        let mut next = parent;
        while let Some(key) = next {
            let record = self.get(key)?;
            ids.push(record.id);
            next = record.parent.as_deref();
            if ids.len() > self.snapshots.len() {
                break; // a cycle cannot be written by this code; do not spin on one
            }
        }
        Ok(ids)
    }
}

/// The metadata, loaded while holding the lock; dropping it releases the lock.
pub(crate) struct Locked {
    _lock: File,
    path: PathBuf,
    /// The table as it was when the lock was taken.
    pub meta: Metadata,
}

impl Locked {
    /// Locks `<dir>/lock` (exclusively for writers) and loads `<dir>/metadata.json`.
    pub fn acquire(dir: &Path, exclusive: bool) -> Result<Locked> {
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(Error::io("open lock file", &lock_path))?;
        sys::flock(&lock, exclusive, true).map_err(Error::io("lock", &lock_path))?;
        let path = dir.join("metadata.json");
        let meta = load(&path)?;
        Ok(Locked {
            _lock: lock,
            path,
            meta,
        })
    }

    /// Persists the table crash-safely. Only valid under an exclusive lock.
    pub fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.meta).map_err(|source| Error::Metadata {
            path: self.path.clone(),
            source,
        })?;
        sys::write_atomic(&self.path, &json).map_err(Error::io("write", &self.path))
    }
}

/// Reads the table; a missing file is an empty table.
fn load(path: &Path) -> Result<Metadata> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Metadata::default()),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    let meta: Metadata = serde_json::from_slice(&bytes).map_err(|source| Error::Metadata {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.version != VERSION {
        let msg = format!("unsupported metadata version {}", meta.version);
        return Err(Error::io("read", path)(io::Error::other(msg)));
    }
    Ok(meta)
}
