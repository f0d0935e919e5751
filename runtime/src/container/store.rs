//! [`ContainerStore`]: the containers of a kiln root, one directory each.
//!
//! ```text
//! <root>/containers/
//!   .lock                 held while a name is claimed or a container removed
//!   <id>/
//!     config.json         ContainerRecord (written once)
//!     state.json          State (rewritten atomically, under <id>/lock)
//!     lock                per-container lock
//!     <id>-json.log       stdout/stderr as JSON lines (Docker's json-file)
//!     bundle/config.json  the OCI runtime spec
//!     rootfs/             mount point of the writable snapshot
//!     runtime/            the low-level runtime's state (--root)
//!     etc/                hostname, hosts, resolv.conf bind-mounted in
//! ```
//!
//! Writers replace files by rename, so a reader never sees half a file and a
//! crash leaves either the old or the new version.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use kiln_image::FileLock;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{ContainerError, Result};
use super::names::valid_name;
use super::record::ContainerRecord;
use super::state::State;

/// A container as found in the store: its definition and its last known state.
#[derive(Debug, Clone)]
pub struct Container {
    /// Definition.
    pub record: ContainerRecord,
    /// State as last written.
    pub state: State,
}

/// The containers under `<root>/containers`.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    dir: PathBuf,
}

impl ContainerStore {
    /// Opens (creating if needed) the store of the kiln root `root`.
    pub fn open(root: &Path) -> Result<ContainerStore> {
        let dir = root.join("containers");
        fs::create_dir_all(&dir).map_err(|e| ContainerError::io("create", &dir, e))?;
        Ok(ContainerStore { dir })
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Locks the whole store (name claims, removals).
    pub fn lock_store(&self) -> Result<FileLock> {
        lock(&self.dir.join(".lock"))
    }

    /// Locks container `id` (state changes).
    pub fn lock(&self, id: &str) -> Result<FileLock> {
        lock(&self.dir(id).join("lock"))
    }

    /// Adds a container in status `created`, failing if its name is taken or
    /// invalid. The directory is made under a temporary name and renamed, so a
    /// crash never leaves a container without a record.
    pub fn create(&self, record: &ContainerRecord) -> Result<()> {
        if !valid_name(&record.name) {
            return Err(ContainerError::InvalidName(record.name.clone()));
        }
        let _guard = self.lock_store()?;
        if let Some(holder) = self
            .list()?
            .into_iter()
            .find(|c| c.record.name == record.name)
        {
            return Err(ContainerError::NameInUse {
                name: record.name.clone(),
                id: holder.record.id,
            });
        }
        let staging = self.dir.join(format!(".new-{}", record.id));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|e| ContainerError::io("create", &staging, e))?;
        write_json(&staging.join("config.json"), record, true)?;
        write_json(&staging.join("state.json"), &State::default(), false)?;
        let dir = self.dir(&record.id);
        fs::rename(&staging, &dir).map_err(|e| ContainerError::io("create", &dir, e))
    }

    /// Every container, oldest first. Directories that are not complete
    /// containers (a crash during `create` or `rm`) are skipped.
    pub fn list(&self) -> Result<Vec<Container>> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| ContainerError::io("read", &self.dir, e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str() else { continue };
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            match self.get(id) {
                Ok(container) => out.push(container),
                // Not a complete container (or its record is unreadable):
                // left to `leftovers`.
                Err(ContainerError::NotFound(_) | ContainerError::Corrupt { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.record.created.cmp(&b.record.created));
        Ok(out)
    }

    /// Container `id` (a full ID).
    pub fn get(&self, id: &str) -> Result<Container> {
        let dir = self.dir(id);
        let record: ContainerRecord = match read_json(&dir.join("config.json")) {
            Err(ContainerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(ContainerError::NotFound(id.to_string()))
            }
            other => other?,
        };
        // The directory may be renamed away by a concurrent `rm` between the
        // two reads: then the container is gone, not an error of the store.
        let state = match self.state(id) {
            Err(ContainerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(ContainerError::NotFound(id.to_string()))
            }
            other => other?,
        };
        Ok(Container { record, state })
    }

    /// The container named by `key`: a full ID, a name, or a unique ID prefix
    /// (Docker's order of precedence).
    pub fn find(&self, key: &str) -> Result<Container> {
        let key = key.strip_prefix('/').unwrap_or(key);
        if key.is_empty() {
            return Err(ContainerError::NotFound(key.to_string()));
        }
        let all = self.list()?;
        if let Some(c) = all
            .iter()
            .find(|c| c.record.id == key || c.record.name == key)
        {
            return Ok(c.clone());
        }
        let mut matches = all.into_iter().filter(|c| c.record.id.starts_with(key));
        match (matches.next(), matches.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => Err(ContainerError::Ambiguous(key.to_string())),
            _ => Err(ContainerError::NotFound(key.to_string())),
        }
    }

    /// Rewrites the record of an existing container (only `create` does, once
    /// its mounts are resolved).
    pub fn save_record(&self, record: &ContainerRecord) -> Result<()> {
        write_json(&self.dir(&record.id).join("config.json"), record, true)
    }

    /// The state of container `id` as last written. A state file that is not
    /// valid JSON (cut short by a power loss: state is not fsync'd) reads as
    /// `dead`, so the container can still be listed and removed.
    pub fn state(&self, id: &str) -> Result<State> {
        match read_json(&self.dir(id).join("state.json")) {
            Err(ContainerError::Corrupt { path, source }) => Ok(State {
                status: super::state::Status::Dead,
                error: format!("unreadable state {}: {source}", path.display()),
                ..State::default()
            }),
            other => other,
        }
    }

    /// Replaces the state of container `id` (the caller holds its lock).
    pub fn save_state(&self, id: &str, state: &State) -> Result<()> {
        write_json(&self.dir(id).join("state.json"), state, false)
    }

    /// Reads, changes and writes the state of `id` under its lock.
    pub fn update_state(&self, id: &str, change: impl FnOnce(&mut State)) -> Result<State> {
        let _guard = self.lock(id)?;
        let mut state = self.state(id)?;
        change(&mut state);
        self.save_state(id, &state)?;
        Ok(state)
    }

    /// Deletes container `id`'s directory (the caller has unmounted and
    /// stopped everything). The record goes first (renamed away), so a crash
    /// half-way leaves no half container in `list`.
    pub fn remove_dir(&self, id: &str) -> Result<()> {
        let _guard = self.lock_store()?;
        let dir = self.dir(id);
        let doomed = self.dir.join(format!(".rm-{id}"));
        match fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ContainerError::io("remove", &dir, e)),
        }
        fs::remove_dir_all(&doomed).map_err(|e| ContainerError::io("remove", &doomed, e))
    }

    /// Leftovers of interrupted `create`/`rm` (`.new-*`, `.rm-*`), for cleanup.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with(".new-") || name.starts_with(".rm-")
            })
            .collect()
    }
}

fn lock(path: &Path) -> Result<FileLock> {
    FileLock::exclusive(path)
        .map_err(|e| ContainerError::io("lock", path, std::io::Error::other(e.to_string())))
}

/// Reads a JSON file.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| ContainerError::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ContainerError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a JSON file atomically: temp file in the same directory, rename;
/// with `durable`, the temp file is fsync'd before the rename, so the new
/// version survives a power loss.
///
/// The record is written durably. State is not: it changes several times per
/// container start and its fsyncs would be most of `kiln run`'s time; after a
/// power loss no container process survives anyway, and a state file that
/// cannot be read is taken as `dead` (see [`ContainerStore::state`]).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ContainerError::Corrupt {
        path: path.to_path_buf(),
        source,
    })?;
    let mut file = fs::File::create(&tmp).map_err(|e| ContainerError::io("write", &tmp, e))?;
    file.write_all(&bytes)
        .and_then(|()| if durable { file.sync_all() } else { Ok(()) })
        .map_err(|e| ContainerError::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ContainerError::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::names::new_id;
    use crate::container::state::Status;

    fn record(name: &str) -> ContainerRecord {
        ContainerRecord {
            id: new_id().unwrap(),
            name: name.into(),
            created: kiln_image::time::format_rfc3339_nanos(1, 2),
            image_id: String::new(),
            manifest: String::new(),
            path: "true".into(),
            args: vec![],
            config: Default::default(),
            host_config: Default::default(),
            mounts: vec![],
            runtime: "kiln".into(),
            snapshotter: "overlay".into(),
            snapshot_key: String::new(),
            endpoints_config: Default::default(),
        }
    }

    #[test]
    fn create_find_update_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let web = record("web");
        store.create(&web).unwrap();
        assert!(matches!(
            store.create(&record("web")),
            Err(ContainerError::NameInUse { .. })
        ));
        assert!(matches!(
            store.create(&record("-x")),
            Err(ContainerError::InvalidName(_))
        ));
        assert_eq!(store.find("web").unwrap().record.id, web.id);
        assert_eq!(store.find("/web").unwrap().record.id, web.id);
        assert_eq!(store.find(&web.id[..6]).unwrap().record.name, "web");
        assert!(matches!(
            store.find("nope"),
            Err(ContainerError::NotFound(_))
        ));
        let state = store
            .update_state(&web.id, |s| s.status = Status::Running)
            .unwrap();
        assert_eq!(state.status, Status::Running);
        assert_eq!(store.get(&web.id).unwrap().state.status, Status::Running);
        store.remove_dir(&web.id).unwrap();
        assert!(store.list().unwrap().is_empty());
        assert!(store.leftovers().is_empty());
        store.remove_dir(&web.id).unwrap();
    }

    #[test]
    fn a_container_removed_between_reads_is_not_found_not_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let gone = record("gone");
        let kept = record("kept");
        store.create(&gone).unwrap();
        store.create(&kept).unwrap();
        // As if `rm` renamed the directory after config.json was read.
        fs::remove_file(store.dir(&gone.id).join("state.json")).unwrap();
        assert!(matches!(
            store.get(&gone.id),
            Err(ContainerError::NotFound(_))
        ));
        let names: Vec<_> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|c| c.record.name)
            .collect();
        assert_eq!(names, ["kept"]);
        assert_eq!(store.find("kept").unwrap().record.id, kept.id);
    }

    #[test]
    fn ambiguous_prefixes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let mut a = record("a1");
        let mut b = record("b1");
        a.id = format!("ab{}", &a.id[2..]);
        b.id = format!("ab{}", &b.id[2..]);
        store.create(&a).unwrap();
        store.create(&b).unwrap();
        assert!(matches!(
            store.find("ab"),
            Err(ContainerError::Ambiguous(_))
        ));
        assert_eq!(store.list().unwrap().len(), 2);
    }
}
