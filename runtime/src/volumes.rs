//! Named volumes: directories under `<root>/volumes/<name>/_data` that outlive
//! containers, as Docker's `local` driver keeps them, with their metadata in
//! `<root>/volumes/<name>/volume.json`.
//!
//! A volume is filled with the image's content at its mount point the first
//! time a container mounts it while it is empty (Docker's copy-up), unless the
//! mount says `nocopy`. Anonymous volumes (`-v /path`, the image's VOLUME
//! entries) are named volumes with a random 64-hex name and `Anonymous: true`;
//! `kiln rm -v` and `--rm` remove them with their container.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A volume as `kiln volume inspect` shows it (Docker's fields).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// Its name.
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// The host directory containers see.
    pub mountpoint: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// `--label`s.
    pub labels: BTreeMap<String, String>,
    /// Always `local`.
    pub scope: String,
    /// Made for one container (`-v /path`, image VOLUME), not by name.
    #[serde(default)]
    pub anonymous: bool,
}

/// The volumes of a kiln root.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
}

/// Whether `name` is a valid volume name (Docker's rule, as for containers).
pub fn valid_name(name: &str) -> bool {
    crate::container::valid_name(name) && !name.starts_with('/')
}

impl VolumeStore {
    /// Opens (creating if needed) `<root>/volumes`.
    pub fn open(root: &Path) -> Result<VolumeStore> {
        let dir = root.join("volumes");
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        Ok(VolumeStore { dir })
    }

    /// Volume `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Volume> {
        let bytes = fs::read(self.dir.join(name).join("volume.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Volume `name`, created if missing; the flag says whether it was new.
    pub fn ensure(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<(Volume, bool)> {
        if !valid_name(name) {
            return Err(Error::InvalidVolumeName(name.to_string()));
        }
        if let Some(volume) = self.get(name) {
            return Ok((volume, false));
        }
        let dir = self.dir.join(name);
        let data = dir.join("_data");
        fs::create_dir_all(&data).map_err(|e| Error::io(format!("create volume {name}"), e))?;
        let (secs, _) = kiln_image::time::now();
        let volume = Volume {
            name: name.to_string(),
            driver: "local".into(),
            mountpoint: data.to_string_lossy().into_owned(),
            created_at: kiln_image::time::format_rfc3339(secs),
            labels,
            scope: "local".into(),
            anonymous,
        };
        let tmp = dir.join("volume.json.tmp");
        let json = serde_json::to_vec_pretty(&volume).map_err(std::io::Error::other);
        json.and_then(|json| fs::write(&tmp, json))
            .and_then(|()| fs::rename(&tmp, dir.join("volume.json")))
            .map_err(|e| Error::io(format!("create volume {name}"), e))?;
        Ok((volume, true))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Vec<Volume> {
        let mut out: Vec<Volume> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| self.get(e.file_name().to_str()?))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Deletes volume `name` and its data (the caller has checked it is unused).
    pub fn remove(&self, name: &str) -> Result<()> {
        if self.get(name).is_none() {
            return Err(Error::NoSuchVolume(name.to_string()));
        }
        let dir = self.dir.join(name);
        let doomed = self.dir.join(format!(".rm-{name}"));
        fs::rename(&dir, &doomed)
            .and_then(|()| fs::remove_dir_all(&doomed))
            .map_err(|e| Error::io(format!("remove volume {name}"), e))
    }
}

/// Docker's copy-up: copies the image's content at `source` (a directory in
/// the container's mounted root filesystem) into the empty volume directory
/// `data`, keeping owners, modes, links and times (`cp -a`). A missing source
/// is nothing to copy.
pub fn copy_up(source: &Path, data: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(source) {
        Ok(meta) if meta.is_dir() => meta,
        _ => return Ok(()),
    };
    if fs::read_dir(data)
        .map(|mut d| d.next().is_some())
        .unwrap_or(true)
    {
        return Ok(());
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", source.display()))
        .arg(data)
        .status()
        .map_err(|e| Error::io("copy image content into volume: cp", e))?;
    let context = || format!("copy {} into volume {}", source.display(), data.display());
    if !status.success() {
        let failed = std::io::Error::other(format!("cp failed ({status})"));
        return Err(Error::io(context(), failed));
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    fs::set_permissions(data, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .and_then(|()| std::os::unix::fs::lchown(data, Some(meta.uid()), Some(meta.gid())))
        .map_err(|e| Error::io(context(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_list_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VolumeStore::open(tmp.path()).unwrap();
        let (v, new) = store.ensure("data", BTreeMap::new(), false).unwrap();
        assert!(new);
        assert!(Path::new(&v.mountpoint).is_dir());
        let (_, again) = store.ensure("data", BTreeMap::new(), false).unwrap();
        assert!(!again);
        assert!(store.ensure("-bad", BTreeMap::new(), false).is_err());
        assert_eq!(store.list().len(), 1);
        store.remove("data").unwrap();
        assert!(store.list().is_empty());
        assert!(store
            .remove("data")
            .unwrap_err()
            .to_string()
            .contains("no such volume"));
    }

    #[test]
    fn copy_up_fills_only_empty_volumes() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("src");
        fs::create_dir_all(source.join("sub")).unwrap();
        fs::write(source.join("sub/f"), "x").unwrap();
        let data = tmp.path().join("data");
        fs::create_dir(&data).unwrap();
        copy_up(&source, &data).unwrap();
        assert_eq!(fs::read_to_string(data.join("sub/f")).unwrap(), "x");
        fs::write(source.join("new"), "y").unwrap();
        copy_up(&source, &data).unwrap();
        assert!(
            !data.join("new").exists(),
            "a non-empty volume is left alone"
        );
        copy_up(&tmp.path().join("missing"), &data).unwrap();
    }
}
