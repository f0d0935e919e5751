//! Snapshot garbage collection: remove every snapshot nothing keeps.
//!
//! Kept are: the keys the caller names as roots (images' chain IDs, build
//! cache records, containers' root filesystems, leases; computed by the
//! caller, which knows those stores), every snapshot whose owner process
//! still runs (the process that prepared it, recorded at prepare time and
//! carried over by commit: an unpack, a build or a `create` in progress), and
//! the parent chains of all of these. Everything else goes, including active
//! snapshots of killed builds and unpacks (`build-active-*`, `extract-*`).
//! Records written before owners were recorded have none; for those the pid
//! in the key (`extract-<pid>-…`, `build-<what>-<pid>-…`) is used, and an
//! active snapshot with no recognisable owner is kept.
//!
//! The roots are computed *under the exclusive table lock*, so a concurrent
//! writer either committed before (and its owner is alive, or it is named by
//! a root it wrote before releasing its process) or waits until the sweep is
//! over. Directories are deleted after the table is saved, each under its
//! directory lock, as [`super::Store::remove`] does.

use std::collections::BTreeSet;
use std::fs;

use kiln_image::lease::Holder;

use super::meta::{Locked, Metadata, Record};
use super::{Store, FS};
use crate::{sys, usage, Error, Info, Kind, Result};

/// Computes, from every snapshot's description, the keys to keep.
pub(crate) type Roots<'a> = &'a dyn Fn(&[Info]) -> Result<BTreeSet<String>>;

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Keys and names of the removed snapshots, sorted.
    pub removed: Vec<String>,
    /// The disk space their own directories used.
    pub reclaimed: u64,
}

impl Store {
    /// Removes every snapshot that `roots`, a live owner or a kept child does
    /// not keep; see the module docs.
    pub fn collect(&self, roots: Roots<'_>) -> Result<Collected> {
        let (doomed, claims, reclaimed) = {
            let mut locked = Locked::acquire(self.dir(), true)?;
            let infos: Vec<Info> = locked
                .meta
                .snapshots
                .iter()
                .map(|(key, record)| record.info(key))
                .collect();
            let kept = keep_closure(&locked.meta, roots(&infos)?);
            let doomed: Vec<(String, u64)> = locked
                .meta
                .snapshots
                .iter()
                .filter(|(key, _)| !kept.contains(*key))
                .map(|(key, record)| (key.clone(), record.id))
                .collect();
            if doomed.is_empty() {
                return Ok(Collected::default());
            }
            let mut claims = Vec::with_capacity(doomed.len());
            for (key, id) in &doomed {
                let dir = self.snapshot_dir(*id);
                if let Ok(claim) = sys::open_dir(&dir) {
                    sys::flock(&claim, true, true).map_err(Error::io("lock", &dir))?;
                    claims.push(claim);
                }
                locked.meta.snapshots.remove(key);
            }
            let reclaimed = match locked.save() {
                Ok(()) => None,
                Err(Error::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOSPC) => {
                    // A full disk: free the doomed trees first, then write the
                    // table (see `empty_for_space`).
                    let freed = self.empty_for_space(&doomed)?;
                    locked.save()?;
                    Some(freed)
                }
                Err(e) => return Err(e),
            };
            (doomed, claims, reclaimed)
        };
        let mut out = Collected {
            reclaimed: reclaimed.unwrap_or(0),
            ..Collected::default()
        };
        for (key, id) in doomed {
            let dir = self.snapshot_dir(id);
            if reclaimed.is_none() {
                out.reclaimed += usage::measure(&dir.join(FS)).map_or(0, |u| u.bytes);
            }
            remove_tree(&dir)?;
            out.removed.push(key);
        }
        drop(claims);
        Ok(out)
    }

    /// Deletes the trees of `doomed` while they are still in the table, so
    /// that the table can be rewritten on a full disk (H7: a build that hit
    /// ENOSPC must be recoverable). Safe because nothing uses them: a crash
    /// now leaves records of missing or partial trees that nobody needs, and
    /// the next collection removes them (a missing tree is no error there).
    fn empty_for_space(&self, doomed: &[(String, u64)]) -> Result<u64> {
        let mut freed = 0;
        for (_, id) in doomed {
            let dir = self.snapshot_dir(*id);
            freed += usage::measure(&dir.join(FS)).map_or(0, |u| u.bytes);
            remove_tree(&dir)?;
        }
        Ok(freed)
    }
}

/// Deletes a snapshot directory; one already gone is fine.
fn remove_tree(dir: &std::path::Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove snapshot directory", dir)(e))
        }
        _ => Ok(()),
    }
}

/// The roots that exist, the snapshots with a live owner, and all their
/// ancestors.
fn keep_closure(meta: &Metadata, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut kept = BTreeSet::new();
    let mut stack: Vec<String> = roots
        .into_iter()
        .filter(|k| meta.snapshots.contains_key(k))
        .collect();
    stack.extend(
        meta.snapshots
            .iter()
            .filter(|(key, record)| owner_alive(key, record))
            .map(|(key, _)| key.clone()),
    );
    while let Some(key) = stack.pop() {
        if !kept.insert(key.clone()) {
            continue;
        }
        if let Some(parent) = meta.snapshots.get(&key).and_then(|r| r.parent.clone()) {
            stack.push(parent);
        }
    }
    kept
}

/// Whether the process that made the snapshot still runs (see the module
/// docs for records without an owner).
fn owner_alive(key: &str, record: &Record) -> bool {
    if let Some(owner) = &record.owner {
        return owner.is_alive();
    }
    match pid_in_key(key) {
        Some(pid) => Holder { pid, start: None }.is_alive(),
        None => record.kind != Kind::Committed,
    }
}

/// The pid in the temporary keys kiln's unpacker and builder make:
/// `extract-<pid>-<n>-<chain>` and `build-<what>-<pid>-<n>`.
fn pid_in_key(key: &str) -> Option<u32> {
    let mut parts = key.split('-');
    match parts.next()? {
        "extract" => parts.next()?.parse().ok(),
        "build" => {
            parts.next()?;
            parts.next()?.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Labels;
    use std::path::Path;

    fn mkfs(dir: &Path, _parent: Option<&Path>) -> Result<()> {
        fs::create_dir(dir.join(FS)).map_err(Error::io("create directory", dir))?;
        fs::write(dir.join(FS).join("f"), [7u8; 8192]).map_err(Error::io("write", dir))
    }

    /// A process that has exited (reaped), as the owner of a killed writer.
    fn dead() -> Holder {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = kiln_image::lease::process_start(pid);
        child.wait().unwrap();
        Holder { pid, start }
    }

    fn make(store: &Store, key: &str, parent: Option<&str>, commit_as: Option<&str>) {
        let labels = Labels::new();
        store
            .create(key, parent, Kind::Active, &labels, &mkfs)
            .unwrap();
        if let Some(name) = commit_as {
            store.commit(name, key).unwrap();
        }
    }

    /// Rewrites the owners of `keys` as if their processes were killed.
    fn orphan(store: &Store, keys: &[&str]) {
        let mut locked = Locked::acquire(store.dir(), true).unwrap();
        for key in keys {
            locked.meta.snapshots.get_mut(*key).unwrap().owner = Some(dead());
        }
        locked.save().unwrap();
    }

    fn keys(store: &Store) -> Vec<String> {
        store.list().unwrap().into_iter().map(|i| i.name).collect()
    }

    #[test]
    fn collect_keeps_roots_their_parents_and_live_owners_only() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path(), "t").unwrap();
        make(&store, "a", None, Some("base"));
        make(&store, "b", Some("base"), Some("mid"));
        make(&store, "c", None, Some("orphan"));
        make(&store, "build-active-1-0", Some("mid"), None);
        make(&store, "extract-1-0-ab", Some("orphan"), None);
        make(&store, "mine", None, None);
        let all = [
            "base",
            "mid",
            "orphan",
            "build-active-1-0",
            "extract-1-0-ab",
        ];
        orphan(&store, &all);

        let seen = std::cell::RefCell::new(Vec::new());
        let roots = |infos: &[Info]| {
            seen.replace(infos.iter().map(|i| i.name.clone()).collect());
            Ok(BTreeSet::from(["mid".to_string(), "gone".to_string()]))
        };
        let out = store.collect(&roots).unwrap();
        assert_eq!(seen.borrow().len(), 6, "roots see every snapshot");
        assert_eq!(
            out.removed,
            ["build-active-1-0", "extract-1-0-ab", "orphan"]
        );
        assert!(out.reclaimed >= 3 * 8192, "{out:?}");
        assert_eq!(keys(&store), ["base", "mid", "mine"]);
        assert_eq!(
            fs::read_dir(store.dir().join("snapshots")).unwrap().count(),
            3
        );

        let out = store.collect(&|_: &[Info]| Ok(BTreeSet::new())).unwrap();
        assert_eq!(out.removed, ["base", "mid"]);
        assert_eq!(keys(&store), ["mine"], "a live owner keeps its snapshot");
    }

    #[test]
    fn commit_keeps_the_owner() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path(), "t").unwrap();
        make(&store, "a", None, Some("layer"));
        let locked = Locked::acquire(store.dir(), false).unwrap();
        let owner = locked.meta.snapshots["layer"].owner;
        assert_eq!(owner, Some(Holder::current()));
    }

    #[test]
    fn pids_in_temporary_keys() {
        assert_eq!(pid_in_key("extract-42-0-abcd"), Some(42));
        assert_eq!(pid_in_key("build-active-7-3"), Some(7));
        assert_eq!(pid_in_key("build-0123abcd"), None);
        assert_eq!(pid_in_key("container-0123"), None);
        assert_eq!(pid_in_key("sha256:abcd"), None);
    }

    #[test]
    fn collect_works_on_a_full_disk() {
        use std::io::Write;
        use std::process::Command;
        let tmp = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(tmp.path())
            .status()
            .unwrap();
        assert!(mounted.success());
        let result = std::panic::catch_unwind(|| {
            let store = Store::open(tmp.path(), "t").unwrap();
            make(&store, "a", None, Some("layer"));
            orphan(&store, &["layer"]);
            // Fill the disk to the last byte.
            let mut filler = fs::File::create(tmp.path().join("filler")).unwrap();
            while filler.write_all(&[1u8; 4096]).is_ok() {}
            while filler.write_all(&[1u8]).is_ok() {}
            drop(filler);
            let out = store.collect(&|_: &[Info]| Ok(BTreeSet::new())).unwrap();
            assert_eq!(out.removed, ["layer"]);
            assert!(out.reclaimed >= 8192, "{out:?}");
            assert!(keys(&store).is_empty());
            assert_eq!(
                fs::read_dir(store.dir().join("snapshots")).unwrap().count(),
                0
            );
        });
        let _ = Command::new("umount").arg(tmp.path()).status();
        result.unwrap();
    }
}
