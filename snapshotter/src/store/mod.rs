//! The state both snapshotters share: `<root>/snapshots/<impl>/` with
//! `metadata.json`, its `lock`, `snapshots/<id>/` (one directory per snapshot, named
//! by a never-reused number) and `staging/` (snapshots being populated).
//!
//! Concurrency: every read of the table takes a shared `flock`, every change an
//! exclusive one, and the table is re-read each time, so any number of threads and
//! processes can share a root. Populating a new snapshot (the native snapshotter's
//! copy) happens in `staging/` *outside* the lock; the staging directory is itself
//! `flock`ed so that recovery can tell it from a crashed writer's leftover. Under the
//! exclusive lock the staged directory is renamed to `snapshots/<id>` and recorded.
//!
//! Crash safety: the table is replaced with temp + fsync + rename. A crash can
//! leave only unreferenced directories (in `staging/`, or in `snapshots/` after a
//! `remove` recorded but not finished); opening a snapshotter deletes those that no
//! live process holds a lock on. Snapshot *contents* are not fsynced.
//!
//! Each record names the process that created it (its owner); `gc` removes
//! whatever no root, live owner or kept child needs.

mod gc;
mod meta;
mod staging;

pub use gc::Collected;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{sys, usage, Error, Info, Kind, Labels, Result, Usage};
use meta::{Locked, Metadata, Record};
use staging::{try_claim, Staging};

/// Name of the directory holding a snapshot's tree inside its snapshot directory.
pub(crate) const FS: &str = "fs";
const SNAPSHOTS: &str = "snapshots";
const STAGING: &str = "staging";

/// An active or view snapshot, resolved to directories.
#[derive(Debug, Clone)]
pub(crate) struct Snap {
    /// Active or view.
    pub kind: Kind,
    /// The snapshot's own directory (`snapshots/<id>`).
    pub dir: PathBuf,
    /// Directories of the committed parent chain, nearest first.
    pub parents: Vec<PathBuf>,
}

/// Fills a freshly staged snapshot directory: `(staging dir, parent's snapshot dir)`.
pub(crate) type Populate<'a> = &'a dyn Fn(&Path, Option<&Path>) -> Result<()>;

/// A snapshotter's state directory.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `<root>/snapshots/<name>` and removes leftovers of
    /// crashed writers.
    pub fn open(root: &Path, name: &str) -> Result<Store> {
        let dir = root.join("snapshots").join(name);
        for sub in [SNAPSHOTS, STAGING] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(Error::io("create directory", &path))?;
        }
        let dir = fs::canonicalize(&dir).map_err(Error::io("resolve", &dir))?;
        let store = Store { dir };
        store.recover()?;
        Ok(store)
    }

    /// The state directory (`<root>/snapshots/<name>`, canonical).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn snapshot_dir(&self, id: u64) -> PathBuf {
        self.dir.join(SNAPSHOTS).join(id.to_string())
    }

    /// Creates the active or view snapshot `key` over `parent`; `populate` fills
    /// its directory (outside the lock).
    pub fn create(
        &self,
        key: &str,
        parent: Option<&str>,
        kind: Kind,
        labels: &Labels,
        populate: Populate<'_>,
    ) -> Result<Snap> {
        validate_key(key)?;
        let (parent_id, staging) = {
            let locked = Locked::acquire(&self.dir, false)?;
            locked.meta.ensure_free(key)?;
            let parent_id = committed_parent(&locked.meta, key, parent)?;
            (parent_id, Staging::create(&self.dir.join(STAGING))?)
        };
        let parent_dir = parent_id.map(|id| self.snapshot_dir(id));
        populate(staging.path(), parent_dir.as_deref())?;

        let mut locked = Locked::acquire(&self.dir, true)?;
        locked.meta.ensure_free(key)?;
        if committed_parent(&locked.meta, key, parent)? != parent_id {
            // The parent was removed and re-made while we copied it.
            let key = parent.unwrap_or_default().to_string();
            return Err(Error::NotFound { key });
        }
        let id = locked.meta.next_id;
        locked.meta.next_id += 1;
        let dir = self.snapshot_dir(id);
        staging.persist(&dir)?;
        let record = Record {
            id,
            kind,
            parent: parent.map(str::to_string),
            labels: labels.clone(),
            created: SystemTime::now(),
            owner: Some(kiln_image::lease::Holder::current()),
        };
        locked.meta.snapshots.insert(key.to_string(), record);
        if let Err(e) = locked.save() {
            let _ = fs::remove_dir_all(&dir); // unrecorded: nobody else can see it
            return Err(e);
        }
        self.resolve(&locked.meta, key)
    }

    /// Resolves the active or view snapshot `key`.
    pub fn active(&self, key: &str) -> Result<Snap> {
        let locked = Locked::acquire(&self.dir, false)?;
        self.resolve(&locked.meta, key)
    }

    fn resolve(&self, meta: &Metadata, key: &str) -> Result<Snap> {
        let record = meta.get(key)?;
        if record.kind == Kind::Committed {
            let (key, kind) = (key.to_string(), record.kind);
            return Err(Error::NotActive { key, kind });
        }
        let chain = meta.chain(record.parent.as_deref())?;
        Ok(Snap {
            kind: record.kind,
            dir: self.snapshot_dir(record.id),
            parents: chain.into_iter().map(|id| self.snapshot_dir(id)).collect(),
        })
    }

    /// The `fs` directory of `key` (any kind) and those of its parent chain,
    /// nearest first.
    pub fn dirs(&self, key: &str) -> Result<(PathBuf, Vec<PathBuf>)> {
        let locked = Locked::acquire(&self.dir, false)?;
        let record = locked.meta.get(key)?;
        let chain = locked.meta.chain(record.parent.as_deref())?;
        let parents = chain.into_iter().map(|id| self.snapshot_dir(id).join(FS));
        Ok((self.snapshot_dir(record.id).join(FS), parents.collect()))
    }

    /// Turns the active snapshot `key` into the committed snapshot `name`.
    pub fn commit(&self, name: &str, key: &str) -> Result<()> {
        validate_key(name)?;
        let mut locked = Locked::acquire(&self.dir, true)?;
        let record = locked.meta.get(key)?.clone();
        if record.kind != Kind::Active {
            let (key, kind) = (key.to_string(), record.kind);
            return Err(Error::NotActive { key, kind });
        }
        locked.meta.ensure_free(name)?;
        locked.meta.snapshots.remove(key);
        let committed = Record {
            kind: Kind::Committed,
            created: SystemTime::now(),
            ..record
        };
        locked.meta.snapshots.insert(name.to_string(), committed);
        locked.save()
    }

    /// Forgets `key` (unless it has children), then deletes its directory. If the
    /// deletion fails the snapshot is still gone from the table; the directory is
    /// retried by the next `open`.
    pub fn remove(&self, key: &str) -> Result<()> {
        let (dir, _claim) = {
            let mut locked = Locked::acquire(&self.dir, true)?;
            let id = locked.meta.get(key)?.id;
            let children = locked.meta.children(key);
            if !children.is_empty() {
                let key = key.to_string();
                return Err(Error::HasChildren { key, children });
            }
            let dir = self.snapshot_dir(id);
            // Hold the directory's lock so recovery elsewhere leaves it to us.
            let claim = sys::open_dir(&dir).map_err(Error::io("open", &dir))?;
            sys::flock(&claim, true, true).map_err(Error::io("lock", &dir))?;
            locked.meta.snapshots.remove(key);
            locked.save()?;
            (dir, claim)
        };
        fs::remove_dir_all(&dir).map_err(Error::io("remove snapshot directory", &dir))
    }

    /// Describes `key`.
    pub fn stat(&self, key: &str) -> Result<Info> {
        let locked = Locked::acquire(&self.dir, false)?;
        Ok(locked.meta.get(key)?.info(key))
    }

    /// Describes every snapshot, sorted by key.
    pub fn list(&self) -> Result<Vec<Info>> {
        let locked = Locked::acquire(&self.dir, false)?;
        let all = locked.meta.snapshots.iter();
        Ok(all.map(|(key, record)| record.info(key)).collect())
    }

    /// Measures `key`'s own tree.
    pub fn usage(&self, key: &str) -> Result<Usage> {
        let id = Locked::acquire(&self.dir, false)?.meta.get(key)?.id;
        usage::measure(&self.snapshot_dir(id).join(FS))
    }

    /// Deletes staged and snapshot directories that the table does not reference
    /// and that no live process has locked. Best effort: failures are left for the
    /// next open.
    fn recover(&self) -> Result<()> {
        let locked = Locked::acquire(&self.dir, true)?;
        let known: BTreeSet<String> = locked
            .meta
            .snapshots
            .values()
            .map(|r| r.id.to_string())
            .collect();
        for sub in [SNAPSHOTS, STAGING] {
            let path = self.dir.join(sub);
            let entries = fs::read_dir(&path).map_err(Error::io("read directory", &path))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if sub == STAGING || !known.contains(&name) {
                    if let Some(_claim) = try_claim(&entry.path()) {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks that `parent` (if any) is committed; returns its directory id.
fn committed_parent(meta: &Metadata, key: &str, parent: Option<&str>) -> Result<Option<u64>> {
    let Some(parent) = parent else {
        return Ok(None);
    };
    let record = meta.get(parent)?;
    if record.kind != Kind::Committed {
        return Err(Error::ParentNotCommitted {
            key: key.to_string(),
            parent: parent.to_string(),
            kind: record.kind,
        });
    }
    Ok(Some(record.id))
}

/// Keys and names must be non-empty.
fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        let reason = "keys must not be empty";
        return Err(Error::InvalidKey {
            key: key.to_string(),
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
