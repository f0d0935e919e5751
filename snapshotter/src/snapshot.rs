//! The `Snapshotter` trait and the plain data it trades in.
//!
//! Modelled on containerd's snapshots API: keys and committed names share one
//! namespace; `prepare` makes a writable *active* snapshot, `view` a read-only one,
//! `commit` turns an active snapshot into a *committed* one under a new name (for
//! kiln, the layer's chain ID), and only committed snapshots can be parents.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Free-form labels attached to a snapshot (e.g. for garbage collection).
pub type Labels = BTreeMap<String, String>;

/// What state a snapshot is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Made by `prepare`: writable, can be committed, cannot be a parent.
    Active,
    /// Made by `view`: read-only, cannot be committed or be a parent.
    View,
    /// Made by `commit`: immutable, can be a parent, has no mounts.
    Committed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Active => "active",
            Kind::View => "a view",
            Kind::Committed => "committed",
        })
    }
}

/// What `stat` and `list` report about one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Active, view or committed.
    pub kind: Kind,
    /// The key (active, view) or committed name.
    pub name: String,
    /// The committed parent, if any.
    pub parent: Option<String>,
    /// Labels given at `prepare` (carried over by `commit`).
    pub labels: Labels,
    /// When the snapshot was prepared, viewed, or (for committed ones) committed.
    pub created: SystemTime,
}

/// Disk space used by one snapshot's own directory (not its parents').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Allocated bytes (`st_blocks * 512`), each inode counted once.
    pub bytes: u64,
    /// Distinct inodes, including the snapshot's root directory.
    pub inodes: u64,
}

/// One mount the caller must perform, as data (like containerd's `mount.Mount`).
///
/// `kind` is `"overlay"` or `"bind"`; `options` mixes mount flags (`ro`, `rw`,
/// `rbind`, ...) with filesystem data (`lowerdir=...`). [`crate::mount::mount_all`]
/// knows how to perform it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Filesystem type: `"overlay"` or `"bind"`.
    pub kind: String,
    /// What to mount: a directory for binds, `"overlay"` for overlays.
    pub source: String,
    /// Where to mount, relative to the caller's mount root; `None` means the root.
    pub target: Option<String>,
    /// Flags and filesystem options.
    pub options: Vec<String>,
}

impl Mount {
    /// Whether the options ask for a read-only mount (`ro`, or an overlay without
    /// an `upperdir`).
    pub fn is_read_only(&self) -> bool {
        let ro_flag = self.options.iter().rev().find(|o| *o == "ro" || *o == "rw");
        if ro_flag.is_some_and(|o| o == "ro") {
            return true;
        }
        self.kind == "overlay" && !self.options.iter().any(|o| o.starts_with("upperdir="))
    }
}

/// What a snapshot's own directory holds, relative to its parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contents {
    /// Only what the snapshot changed over its parents, deletions as overlayfs
    /// whiteouts (the overlay snapshotter: the directory is an upper or lower
    /// directory of overlay mounts).
    Changes,
    /// The whole tree (the native snapshotter copies its parent on `prepare`);
    /// the changes are found by comparing with the parent's tree.
    WholeTree,
}

/// Where a snapshot keeps its files on disk, as data: what the differ and the
/// builder read instead of parsing mount options (`upperdir=`, `lowerdir=`).
///
/// The directories are the snapshotter's own; callers only read them, except the
/// owner of an active snapshot, who may write into `own` what it would write
/// through the mount. A view's own directory stays empty: a view shows its parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The snapshot's own directory (overlay: the upper directory of an active
    /// snapshot, the top lower directory of a committed one).
    pub own: PathBuf,
    /// The own directories of its committed parent chain, nearest first.
    pub parents: Vec<PathBuf>,
    /// What `own` (and each parent's directory) holds.
    pub contents: Contents,
}

/// A store of layered filesystem snapshots.
///
/// Implementations keep their metadata under `<root>/snapshots/<name>/` and are safe
/// to use from several threads and several processes at once. They never mount
/// anything: every method that gives access to a snapshot returns [`Mount`]s.
pub trait Snapshotter: Send + Sync {
    /// The implementation's name (`"overlay"`, `"native"`), also its state directory.
    fn name(&self) -> &'static str;

    /// Creates the writable active snapshot `key` on top of the committed `parent`
    /// and returns how to mount it.
    fn prepare(&self, key: &str, parent: Option<&str>, labels: &Labels) -> Result<Vec<Mount>>;

    /// Creates the read-only active snapshot `key` showing `parent` (or an empty
    /// tree) and returns how to mount it.
    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>>;

    /// Returns the mounts of the active or view snapshot `key` again.
    fn mounts(&self, key: &str) -> Result<Vec<Mount>>;

    /// Turns the active snapshot `key` into the committed snapshot `name`; `key`
    /// stops existing. Fails with [`crate::Error::AlreadyExists`] if `name` is
    /// taken, leaving `key` as it was. The caller must have unmounted `key`.
    fn commit(&self, name: &str, key: &str) -> Result<()>;

    /// Removes the snapshot `key` and its files. Refuses one that has children.
    /// The caller must have unmounted it.
    fn remove(&self, key: &str) -> Result<()>;

    /// Describes the snapshot `key`.
    fn stat(&self, key: &str) -> Result<Info>;

    /// Describes every snapshot, sorted by name.
    fn list(&self) -> Result<Vec<Info>>;

    /// Where the snapshot `key` (active, view or committed) and its parents keep
    /// their files; see [`Layout`].
    fn layout(&self, key: &str) -> Result<Layout>;

    /// Measures the snapshot's own files by walking its directory.
    fn usage(&self, key: &str) -> Result<Usage>;

    /// Garbage collection: removes every snapshot that is not named by
    /// `roots` (called with every snapshot's description, under the
    /// snapshotter's exclusive lock), not owned by a running process and not
    /// a parent of a kept one. See the `store::gc` module docs.
    fn collect(
        &self,
        roots: &dyn Fn(&[Info]) -> Result<std::collections::BTreeSet<String>>,
    ) -> Result<crate::Collected>;
}

/// The path as a string, for mount options.
pub(crate) fn path_str(path: &Path) -> Result<String> {
    let text = path.to_str().ok_or_else(|| Error::UnusablePath {
        path: path.to_path_buf(),
        reason: "not valid UTF-8",
    })?;
    Ok(text.to_string())
}

/// A `bind` mount of `dir`, read-only or not.
pub(crate) fn bind(dir: &Path, read_only: bool) -> Result<Mount> {
    Ok(Mount {
        kind: "bind".into(),
        source: path_str(dir)?,
        target: None,
        options: vec!["rbind".into(), if read_only { "ro" } else { "rw" }.into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(kind: &str, options: &[&str]) -> Mount {
        Mount {
            kind: kind.into(),
            source: "x".into(),
            target: None,
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn read_only_detection() {
        assert!(mount("bind", &["rbind", "ro"]).is_read_only());
        assert!(!mount("bind", &["rbind", "rw"]).is_read_only());
        assert!(!mount("bind", &["ro", "rw"]).is_read_only());
        assert!(mount("overlay", &["lowerdir=a:b"]).is_read_only());
        assert!(!mount("overlay", &["lowerdir=a", "upperdir=b", "workdir=c"]).is_read_only());
    }
}
