//! Docker's init-layer guarantee: before a low-level runtime sees a root
//! filesystem, the paths it mounts over or creates things in are real
//! directories and files *inside* that root filesystem, whatever the image
//! holds there (a symlink `dev -> /host/dir`, a relative `../../..` link, a
//! file where a directory should be, an `/etc` that is a symlink).
//!
//! Why: runtimes differ in how carefully they resolve these paths (Debian's
//! runc 1.1.5 creates its `/dev` symlinks through an unresolved join, so an
//! image whose `/dev` points at a host directory made runc write there).
//! Docker never hands runc such a root filesystem: its daemon writes an
//! "init layer" between the image and the container layer
//! (`daemon/initlayer/setup_unix.go`). kiln does the same:
//!
//! - containers (`kiln run/create`): [`snapshot::init_snapshot`] commits one
//!   init snapshot per image chain (`kiln-init-v1-<chain>`, made once, reused
//!   by every container of that image) holding the fixes; the container's
//!   writable snapshot is prepared on top of it, so the fixes are never part
//!   of the container's own diff. At every start the monitor runs
//!   [`ensure`] again ([`Mode::Permanent`]) on the mounted root filesystem, in
//!   case the container's own processes replaced one of the paths.
//! - build `RUN` steps: [`crate::oneshot::run_here`] puts the fixes in an
//!   overlay lower directory of their own below the step's writable layer
//!   ([`overlay::step_mounts`]); where the root is not a writable overlay
//!   (the native snapshotter) it calls [`ensure`] with [`Mode::Reversible`]
//!   and undoes it with [`Guard::undo`] after the step, before the builder
//!   diffs the step (BuildKit removes its mount stubs the same way). Either
//!   way the fixes do not reach the step's layer.
//!
//! The list is Docker's ([`CONTAINER_PATHS`]), minus `/.dockerenv` (kiln is not
//! Docker; tools that test for it would be misled) and `/dev/console` (hidden
//! under the `/dev` tmpfs every runtime mounts; the runtime makes it). Builds
//! ([`BUILD_PATHS`]) leave `/etc/hostname` and `/etc/mtab` alone: BuildKit
//! does not mount or change them.
//!
//! Every operation is descriptor-relative with `O_NOFOLLOW` (see [`fsat`]):
//! nothing in the image is ever followed to the host.

mod fsat;
pub mod overlay;
pub mod snapshot;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use fsat::Found;

/// What a required path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file (created empty).
    File,
    /// A symlink with exactly this target.
    Symlink(&'static str),
}

/// Docker's init-layer paths kiln enforces for containers.
pub const CONTAINER_PATHS: &[(&str, Kind)] = &[
    ("/dev", Kind::Dir),
    ("/dev/pts", Kind::Dir),
    ("/dev/shm", Kind::Dir),
    ("/proc", Kind::Dir),
    ("/sys", Kind::Dir),
    ("/etc/hosts", Kind::File),
    ("/etc/hostname", Kind::File),
    ("/etc/resolv.conf", Kind::File),
    ("/etc/mtab", Kind::Symlink("/proc/mounts")),
];

/// The paths enforced for a build's `RUN` step.
pub const BUILD_PATHS: &[(&str, Kind)] = &[
    ("/dev", Kind::Dir),
    ("/dev/pts", Kind::Dir),
    ("/dev/shm", Kind::Dir),
    ("/proc", Kind::Dir),
    ("/sys", Kind::Dir),
    ("/etc/hosts", Kind::File),
    ("/etc/resolv.conf", Kind::File),
];

/// How wrong entries are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Remove what is in the way for good (an init snapshot, a container's
    /// own root filesystem).
    Permanent,
    /// Rename what is in the way aside (`.kiln-init-aside-<name>` in the
    /// same directory) so that [`Guard::undo`] can put it back.
    Reversible,
}

/// Why the root filesystem could not be made safe.
#[derive(Debug, thiserror::Error)]
pub enum InitLayerError {
    /// A file operation on `path` inside the root filesystem `rootfs` failed.
    #[error("prepare rootfs {rootfs}: {path}: {source}")]
    Io {
        /// The root filesystem's directory.
        rootfs: PathBuf,
        /// The path inside it (absolute, container view).
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A snapshot operation failed while making the init snapshot.
    #[error("init layer snapshot {key}: {message}")]
    Snapshot {
        /// The snapshot key.
        key: String,
        /// The snapshotter's or mount's error.
        message: String,
    },
}

/// One change [`ensure`] made, enough to undo it.
#[derive(Debug, Clone)]
struct Change {
    /// The parent directory's components below the root.
    parent: Vec<String>,
    /// The entry's name.
    name: String,
    /// What kiln created there.
    kind: Kind,
    /// Where the image's entry was renamed to (reversible mode).
    aside: Option<String>,
}

/// The changes [`ensure`] made to a root filesystem; [`Guard::undo`]
/// reverts them (reversible mode). Dropping it keeps the changes.
#[derive(Debug)]
#[must_use = "call undo() to revert a reversible init layer"]
pub struct Guard {
    rootfs: PathBuf,
    changes: Vec<Change>,
}

/// Makes every path of `paths` real inside `rootfs` (see the module docs);
/// returns what was changed. Errors name the root filesystem, the path and
/// the cause.
pub fn ensure(rootfs: &Path, paths: &[(&str, Kind)], mode: Mode) -> Result<Guard, InitLayerError> {
    let root = fsat::open_root(rootfs).map_err(|source| InitLayerError::Io {
        rootfs: rootfs.to_path_buf(),
        path: "/".into(),
        source,
    })?;
    let mut guard = Guard {
        rootfs: rootfs.to_path_buf(),
        changes: Vec::new(),
    };
    for (path, kind) in paths {
        ensure_one(&root, path, *kind, mode, &mut guard.changes).map_err(|source| {
            InitLayerError::Io {
                rootfs: rootfs.to_path_buf(),
                path: path.to_string(),
                source,
            }
        })?;
    }
    Ok(guard)
}

fn ensure_one(
    root: &OwnedFd,
    path: &str,
    kind: Kind,
    mode: Mode,
    changes: &mut Vec<Change>,
) -> std::io::Result<()> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let Some((leaf, dirs)) = parts.split_last() else {
        return Ok(());
    };
    let mut dir = fsat::open_dir(root, ".")?;
    let mut walked = Vec::new();
    for part in dirs {
        fix_entry(&dir, &walked, part, Kind::Dir, mode, changes)?;
        dir = fsat::open_dir(&dir, part)?;
        walked.push(part.to_string());
    }
    fix_entry(&dir, &walked, leaf, kind, mode, changes)
}

/// Whether what is there already is what `kind` wants.
fn is_right(dir: &OwnedFd, name: &str, found: Found, kind: Kind) -> std::io::Result<bool> {
    Ok(match (found, kind) {
        (Found::Dir, Kind::Dir) | (Found::File(_), Kind::File) => true,
        (Found::Symlink, Kind::Symlink(target)) => fsat::read_link(dir, name)? == target.as_bytes(),
        _ => false,
    })
}

fn fix_entry(
    dir: &OwnedFd,
    parent: &[String],
    name: &str,
    kind: Kind,
    mode: Mode,
    changes: &mut Vec<Change>,
) -> std::io::Result<()> {
    let found = fsat::lookup(dir, name)?;
    if is_right(dir, name, found, kind)? {
        return Ok(());
    }
    let aside = match (found, mode) {
        (Found::Missing, _) => None,
        (_, Mode::Permanent) => {
            fsat::remove_all(dir, name)?;
            None
        }
        (_, Mode::Reversible) => {
            let aside = format!(".kiln-init-aside-{name}");
            fsat::remove_all(dir, &aside)?;
            fsat::rename_noreplace(dir, name, &aside)?;
            Some(aside)
        }
    };
    match kind {
        Kind::Dir => fsat::mkdir(dir, name)?,
        Kind::File => fsat::create_file(dir, name)?,
        Kind::Symlink(target) => fsat::symlink(dir, name, target)?,
    }
    changes.push(Change {
        parent: parent.to_vec(),
        name: name.to_string(),
        kind,
        aside,
    });
    Ok(())
}

impl Guard {
    /// Whether [`ensure`] changed nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Reverts the changes, newest first: an entry kiln created is removed
    /// if it is still empty (an empty directory, an empty file, kiln's
    /// symlink) and the image's entry renamed back; an entry the step filled
    /// is kept (the image's entry is then removed, as Docker's builder keeps
    /// what a step wrote over its init layer). Errors name the path.
    pub fn undo(self) -> Result<(), InitLayerError> {
        let root = fsat::open_root(&self.rootfs).map_err(|source| self.error("/", source))?;
        for change in self.changes.iter().rev() {
            let mut parts = change.parent.clone();
            parts.push(change.name.clone());
            let path = format!("/{}", parts.join("/"));
            undo_one(&root, change).map_err(|source| self.error(&path, source))?;
        }
        Ok(())
    }

    fn error(&self, path: &str, source: std::io::Error) -> InitLayerError {
        InitLayerError::Io {
            rootfs: self.rootfs.clone(),
            path: path.to_string(),
            source,
        }
    }
}

fn undo_one(root: &OwnedFd, change: &Change) -> std::io::Result<()> {
    let mut dir = fsat::open_dir(root, ".")?;
    for part in &change.parent {
        dir = match fsat::open_dir(&dir, part) {
            Ok(next) => next,
            // The step removed or replaced the parent: nothing left to undo.
            Err(_) => return Ok(()),
        };
    }
    let name = change.name.as_str();
    let found = fsat::lookup(&dir, name)?;
    let untouched = match (found, change.kind) {
        (Found::Dir, Kind::Dir) => fsat::unlink(&dir, name, true).is_ok(),
        (Found::File(0), Kind::File) => fsat::unlink(&dir, name, false).is_ok(),
        (Found::Symlink, Kind::Symlink(_)) => fsat::unlink(&dir, name, false).is_ok(),
        (Found::Missing, _) => true,
        _ => false,
    };
    if let Some(aside) = &change.aside {
        if untouched {
            fsat::rename_noreplace(&dir, aside, name)?;
        } else {
            fsat::remove_all(&dir, aside)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
