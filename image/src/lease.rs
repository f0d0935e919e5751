//! Leases: garbage-collection roots held by a running kiln process.
//!
//! As in containerd (docs/garbage-collection.md: "a lease is a resource ...
//! used to reference other resources such as snapshots and content"), a lease
//! has an id, an optional expiry and the resources it holds; while it exists
//! nothing it holds is collected. containerd needs a daemon to expire leases of
//! clients that died; kiln has no daemon, so a lease also names its holder
//! process (pid and start time): a lease whose holder is gone, or whose expiry
//! passed, is stale, and [`LeaseStore::live`] ignores and deletes it. A
//! `kill -9` of a build therefore never pins content forever.
//!
//! Layout: `<root>/leases/<id>` (JSON, [`LeaseRecord`]), replaced whole through
//! `<id>.tmp` + fsync + rename, so a reader always sees one complete version.
//! Only the holding [`Lease`] writes its file (an in-process mutex orders its
//! threads). Readers take no lock: the garbage collectors read the leases
//! under the lock that also guards what they delete (the image index lock for
//! content, the snapshot table lock for snapshots), and a holder adds a
//! resource *before* it depends on it, so either the collector sees the
//! resource in the lease or the resource was not yet in use.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::fsutil::{create_dir_all, replace_file};

/// The lease file format version written by this code.
pub const LEASE_VERSION: u32 = 1;

/// The process holding a lease (or owning a snapshot): its pid and its start
/// time in clock ticks since boot (`/proc/<pid>/stat` field 22), so that a
/// recycled pid is not mistaken for the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id (in kiln's pid namespace).
    pub pid: u32,
    /// Start time in clock ticks since boot; `None` when it could not be read.
    #[serde(default)]
    pub start: Option<u64>,
}

impl Holder {
    /// The calling process.
    pub fn current() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            start: process_start(pid),
        }
    }

    /// Whether the holder still runs: the pid exists, is not a zombie, and
    /// (when recorded) started at the recorded time.
    pub fn is_alive(&self) -> bool {
        let Some((state, start)) = proc_stat(self.pid) else {
            return false;
        };
        state != 'Z' && state != 'X' && self.start.is_none_or(|s| s == start)
    }
}

/// The start time of `pid` (clock ticks since boot), if it runs.
pub fn process_start(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, start)| start)
}

/// `(state, starttime)` from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain anything;
    // the fields after the last ')' are plain.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3), starttime is field 22: 19 fields further.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// What a lease file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Format version ([`LEASE_VERSION`]).
    pub version: u32,
    /// The lease id (also its file name).
    pub id: String,
    /// The process holding it.
    pub holder: Holder,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Expiry, Unix seconds; `None`: until released or the holder dies.
    #[serde(default)]
    pub expires: Option<u64>,
    /// Content held: each digest and everything it references (a manifest
    /// holds its config and layers, an index its manifests).
    #[serde(default)]
    pub digests: BTreeSet<Digest>,
    /// Snapshots held by key (with their parent chains).
    #[serde(default)]
    pub snapshots: BTreeSet<String>,
}

impl LeaseRecord {
    /// Whether the lease still protects its resources at `now` (Unix seconds).
    pub fn is_live(&self, now: u64) -> bool {
        self.expires.is_none_or(|e| now < e) && self.holder.is_alive()
    }
}

/// The leases of a kiln root, `<root>/leases/`.
#[derive(Debug, Clone)]
pub struct LeaseStore {
    dir: PathBuf,
}

impl LeaseStore {
    /// The lease folder of `root` (created if missing).
    pub fn new(root: &Path) -> Result<LeaseStore> {
        let dir = root.join("leases");
        create_dir_all(&dir)?;
        Ok(LeaseStore { dir })
    }

    /// Creates a lease held by this process, without expiry.
    pub fn create(&self) -> Result<Lease> {
        self.create_with(Holder::current(), None)
    }

    /// Creates a lease for `holder` that expires at `expires` (Unix seconds).
    pub fn create_with(&self, holder: Holder, expires: Option<u64>) -> Result<Lease> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let created = crate::time::now().0;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{created}-{n}", holder.pid);
        let record = LeaseRecord {
            version: LEASE_VERSION,
            id: id.clone(),
            holder,
            created,
            expires,
            digests: BTreeSet::new(),
            snapshots: BTreeSet::new(),
        };
        let lease = Lease {
            path: self.dir.join(&id),
            tmp: self.dir.join(format!("{id}.tmp")),
            record: Mutex::new(record),
            released: false,
        };
        lease.persist(&lease.lock())?;
        Ok(lease)
    }

    /// Every live lease; stale ones (holder gone, expired, unreadable) are
    /// deleted on the way (best effort: a failed delete is retried next time).
    pub fn live(&self) -> Result<Vec<LeaseRecord>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ImageError::io("read directory", &self.dir, e)),
        };
        let now = crate::time::now().0;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ImageError::io("read directory", &self.dir, e))?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "tmp") {
                continue; // a holder's write in progress (or its crash leftover)
            }
            match read_record(&path)? {
                Some(record) if record.is_live(now) => out.push(record),
                Some(_) | None => {
                    let _ = fs::remove_file(&path);
                    let _ = fs::remove_file(path.with_extension("tmp"));
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// Reads one lease file; `None` if it vanished or is not a lease this code
/// can read (a stale or foreign file).
fn read_record(path: &Path) -> Result<Option<LeaseRecord>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ImageError::io("read", path, e)),
    };
    Ok(serde_json::from_slice::<LeaseRecord>(&bytes)
        .ok()
        .filter(|r| r.version == LEASE_VERSION))
}

/// A lease held by this process; released (its file deleted) on drop.
#[derive(Debug)]
pub struct Lease {
    path: PathBuf,
    tmp: PathBuf,
    record: Mutex<LeaseRecord>,
    released: bool,
}

impl Lease {
    /// The lease id.
    pub fn id(&self) -> String {
        self.lock().id.clone()
    }

    /// A copy of what the lease holds now.
    pub fn record(&self) -> LeaseRecord {
        self.lock().clone()
    }

    /// Adds content to the lease (and persists it) before the caller depends
    /// on it.
    pub fn add_digests(&self, digests: &[Digest]) -> Result<()> {
        let mut record = self.lock();
        let before = record.digests.len();
        record.digests.extend(digests.iter().copied());
        if record.digests.len() == before {
            return Ok(());
        }
        self.persist(&record)
    }

    /// Adds snapshot keys to the lease (and persists it).
    pub fn add_snapshots(&self, keys: &[String]) -> Result<()> {
        let mut record = self.lock();
        let before = record.snapshots.len();
        record.snapshots.extend(keys.iter().cloned());
        if record.snapshots.len() == before {
            return Ok(());
        }
        self.persist(&record)
    }

    /// Deletes the lease: what it held may be collected from now on.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ImageError::io("remove lease", &self.path, e)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LeaseRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn persist(&self, record: &LeaseRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|source| ImageError::StateJson {
            path: self.path.clone(),
            source,
        })?;
        replace_file(&self.path, &self.tmp, &bytes)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.released {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
