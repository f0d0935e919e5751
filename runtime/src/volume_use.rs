//! Named volumes against the containers that use them: Docker's rules for
//! `volume ls --filter`, `volume rm` and `volume prune`, for the CLI and a
//! Compose engine's `down -v`.
//!
//! A volume is *in use* while any container (running or not) names it in its
//! mounts; such a volume cannot be removed, even with `force` (Docker's rule:
//! `-f` only ignores missing volumes). [`VolumeUsers::prune`] follows Docker
//! 23+: without `all` it removes only anonymous unused volumes, with `all`
//! every unused one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::container::{ContainerError, ContainerStore};
use crate::volumes::{Volume, VolumeStore};

/// Docker's label on anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// Why a volume operation was refused or failed, in Docker's words.
#[derive(Debug, thiserror::Error)]
pub enum VolumeUseError {
    /// The container store could not be read.
    #[error(transparent)]
    Containers(#[from] ContainerError),
    /// Containers still name the volume.
    #[error("remove {name}: volume is in use - [{}]", .ids.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// The containers' IDs.
        ids: Vec<String>,
    },
    /// No such volume (and no `force`).
    #[error("get {name}: no such volume")]
    NotFound {
        /// The volume.
        name: String,
    },
    /// The volume store failed to remove it.
    #[error("{message}")]
    Remove {
        /// The store's message (names the volume).
        message: String,
    },
    /// `volume ls --filter` without `=`.
    #[error("bad format of filter (expected name=value)")]
    FilterFormat,
    /// A filter key Docker does not know.
    #[error("invalid filter '{0}'")]
    FilterKey(String),
    /// `dangling=` with a value that is not a boolean.
    #[error("invalid filter 'dangling={0}'")]
    FilterDangling(String),
}

/// The labels Docker shows for `volume`: its own plus, for an anonymous
/// volume, [`ANONYMOUS_LABEL`].
pub fn labels(volume: &Volume) -> BTreeMap<String, String> {
    let mut labels = volume.labels.clone();
    if volume.anonymous {
        labels.entry(ANONYMOUS_LABEL.to_string()).or_default();
    }
    labels
}

/// Volume name -> the IDs of the containers whose mounts name it.
#[derive(Debug, Clone, Default)]
pub struct VolumeUsers {
    users: BTreeMap<String, Vec<String>>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// The removed volumes' names.
    pub deleted: Vec<String>,
    /// Bytes of the files they held.
    pub reclaimed: u64,
}

impl VolumeUsers {
    /// Reads every container of the store under `root`.
    pub fn of(root: &Path) -> Result<VolumeUsers, ContainerError> {
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in ContainerStore::open(root)?.list()? {
            let named = c
                .record
                .mounts
                .iter()
                .filter(|m| m.kind == "volume" && !m.name.is_empty());
            for m in named {
                users
                    .entry(m.name.clone())
                    .or_default()
                    .push(c.record.id.clone());
            }
        }
        Ok(VolumeUsers { users })
    }

    /// The IDs of the containers using `name` (empty when unused).
    pub fn of_volume(&self, name: &str) -> &[String] {
        self.users.get(name).map_or(&[], Vec::as_slice)
    }

    /// Removes the volume `name` unless a container uses it; a missing
    /// volume is an error unless `force` (then `Ok(false)`).
    pub fn remove(
        &self,
        volumes: &VolumeStore,
        name: &str,
        force: bool,
    ) -> Result<bool, VolumeUseError> {
        if let Some(ids) = self.users.get(name) {
            return Err(VolumeUseError::InUse {
                name: name.into(),
                ids: ids.clone(),
            });
        }
        if volumes.get(name).is_none() {
            if force {
                return Ok(false);
            }
            return Err(VolumeUseError::NotFound { name: name.into() });
        }
        volumes.remove(name).map_err(|e| VolumeUseError::Remove {
            message: e.to_string(),
        })?;
        Ok(true)
    }

    /// Removes the unused volumes: anonymous ones, or all with `all`.
    pub fn prune(&self, volumes: &VolumeStore, all: bool) -> Result<Pruned, VolumeUseError> {
        let mut pruned = Pruned::default();
        for volume in volumes.list() {
            if self.users.contains_key(&volume.name) || !(all || volume.anonymous) {
                continue;
            }
            let size = dir_size(Path::new(&volume.mountpoint));
            volumes
                .remove(&volume.name)
                .map_err(|e| VolumeUseError::Remove {
                    message: e.to_string(),
                })?;
            pruned.reclaimed += size;
            pruned.deleted.push(volume.name);
        }
        Ok(pruned)
    }

    /// The volumes that pass `volume ls --filter` values (`dangling=`,
    /// `name=` substring, `label=KEY[=VALUE]`, `driver=`): different keys
    /// must all match, values of one key match if any does.
    pub fn filter(
        &self,
        volumes: Vec<Volume>,
        given: &[String],
    ) -> Result<Vec<Volume>, VolumeUseError> {
        let mut filters: Vec<(&str, &str)> = Vec::new();
        for f in given {
            let (key, value) = f.split_once('=').ok_or(VolumeUseError::FilterFormat)?;
            if !matches!(key, "dangling" | "name" | "label" | "driver") {
                return Err(VolumeUseError::FilterKey(key.into()));
            }
            if key == "dangling" && !matches!(value, "true" | "false" | "1" | "0") {
                return Err(VolumeUseError::FilterDangling(value.into()));
            }
            filters.push((key, value));
        }
        let passes = |v: &Volume| {
            filters.iter().all(|(key, _)| {
                filters
                    .iter()
                    .filter(|(k, _)| k == key)
                    .any(|(_, value)| self.matches(v, key, value))
            })
        };
        Ok(volumes.into_iter().filter(passes).collect())
    }

    fn matches(&self, v: &Volume, key: &str, value: &str) -> bool {
        match key {
            "dangling" => self.users.contains_key(&v.name) != matches!(value, "true" | "1"),
            "name" => v.name.contains(value),
            "driver" => v.driver == value,
            "label" => {
                let labels = labels(v);
                match value.split_once('=') {
                    Some((k, want)) => labels.get(k).map(String::as_str) == Some(want),
                    None => labels.contains_key(value),
                }
            }
            _ => false,
        }
    }
}

/// Bytes of the files under `dir` (not following symlinks).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{new_id, ContainerRecord, MountPoint};

    /// A root with volumes `data` (used by a stopped container), `spare`
    /// (unused, labelled) and an unused anonymous one.
    fn setup() -> (tempfile::TempDir, VolumeStore, String) {
        let tmp = tempfile::tempdir().unwrap();
        let volumes = VolumeStore::open(tmp.path()).unwrap();
        volumes.ensure("data", BTreeMap::new(), false).unwrap();
        let labels = BTreeMap::from([("tier".to_string(), "db".to_string())]);
        volumes.ensure("spare", labels, false).unwrap();
        volumes
            .ensure(&"f".repeat(64), BTreeMap::new(), true)
            .unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let id = new_id().unwrap();
        store
            .create(&ContainerRecord {
                id: id.clone(),
                name: "app".into(),
                created: kiln_image::time::format_rfc3339_nanos(1, 0),
                image_id: String::new(),
                manifest: String::new(),
                path: "true".into(),
                args: vec![],
                config: Default::default(),
                host_config: Default::default(),
                mounts: vec![MountPoint {
                    kind: "volume".into(),
                    name: "data".into(),
                    destination: "/data".into(),
                    rw: true,
                    ..MountPoint::default()
                }],
                runtime: "kiln".into(),
                snapshotter: "overlay".into(),
                snapshot_key: String::new(),
                endpoints_config: Default::default(),
            })
            .unwrap();
        (tmp, volumes, id)
    }

    fn names(list: Vec<Volume>) -> Vec<String> {
        list.into_iter().map(|v| v.name).collect()
    }

    #[test]
    fn a_used_volume_is_kept_even_with_force() {
        let (tmp, volumes, id) = setup();
        let users = VolumeUsers::of(tmp.path()).unwrap();
        assert_eq!(users.of_volume("data"), std::slice::from_ref(&id));
        let err = users.remove(&volumes, "data", true).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!("remove data: volume is in use - [{id}]")
        );
        let err = users.remove(&volumes, "nope", false).err().unwrap();
        assert_eq!(err.to_string(), "get nope: no such volume");
        assert!(!users.remove(&volumes, "nope", true).unwrap());
        assert!(users.remove(&volumes, "spare", false).unwrap());
        assert!(volumes.get("spare").is_none());
    }

    #[test]
    fn prune_takes_anonymous_unused_volumes_or_all_unused() {
        let (tmp, volumes, _) = setup();
        let users = VolumeUsers::of(tmp.path()).unwrap();
        let anonymous = "f".repeat(64);
        let data = volumes.get(&anonymous).unwrap().mountpoint;
        std::fs::write(Path::new(&data).join("file"), b"12345").unwrap();
        let pruned = users.prune(&volumes, false).unwrap();
        assert_eq!((pruned.deleted, pruned.reclaimed), (vec![anonymous], 5));
        let pruned = users.prune(&volumes, true).unwrap();
        assert_eq!(pruned.deleted, ["spare"]);
        assert_eq!(names(volumes.list()), ["data"]);
    }

    #[test]
    fn ls_filters_combine_as_docker() {
        let (tmp, volumes, _) = setup();
        let users = VolumeUsers::of(tmp.path()).unwrap();
        let filter = |given: &[&str]| {
            let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
            users.filter(volumes.list(), &given).map(names)
        };
        assert_eq!(filter(&["dangling=false"]).unwrap(), ["data"]);
        assert_eq!(filter(&["label=tier=db"]).unwrap(), ["spare"]);
        assert_eq!(
            filter(&["label", "x"][..1]).err().unwrap().to_string(),
            "bad format of filter (expected name=value)"
        );
        assert_eq!(
            filter(&[&format!("label={ANONYMOUS_LABEL}")]).unwrap(),
            ["f".repeat(64)]
        );
        assert_eq!(
            filter(&["name=dat", "name=spa", "dangling=1"]).unwrap(),
            ["spare"]
        );
        assert_eq!(
            filter(&["size=1"]).err().unwrap().to_string(),
            "invalid filter 'size'"
        );
        assert_eq!(
            filter(&["dangling=yes"]).err().unwrap().to_string(),
            "invalid filter 'dangling=yes'"
        );
    }
}
