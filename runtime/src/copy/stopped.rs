//! A stopped container's files: its root filesystem mounted, with its
//! volumes and binds, in a private mount namespace of this process, so the
//! mounts vanish when the process exits.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::sys::{bind, cstring, fd_path};
use super::tree::Tree;
use super::CopyError;
use crate::container::{Container, ContainerStore};
use crate::rootfs;

/// Mounts a stopped container's root filesystem (with its volumes and binds)
/// in a private mount namespace of this process; returns where.
pub(crate) fn mount_stopped(
    root: &Path,
    store: &ContainerStore,
    container: &Container,
) -> Result<PathBuf, CopyError> {
    let record = &container.record;
    let failed = |message: String| CopyError::MountStopped { message };
    rootfs::enter_private_mount_namespace()
        .map_err(|e| failed(format!("private mount namespace: {e}")))?;
    let snapshotter = rootfs::open_snapshotter(root, Some(&record.snapshotter))
        .map_err(|e| failed(e.to_string()))?;
    let target = store.dir(&record.id).join("rootfs");
    rootfs::mount_snapshot(snapshotter.as_ref(), &record.snapshot_key, &target).map_err(|e| {
        failed(format!(
            "mount the root filesystem of container {}: {e}",
            record.id
        ))
    })?;
    let tree = Tree::container(&target).map_err(|e| failed(e.to_string()))?;
    let shared = record
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" || m.kind == "bind");
    for mount in shared {
        let Ok(at) = tree.open(&mount.destination, 0, true) else {
            continue;
        };
        let source = cstring(mount.source.as_bytes())?;
        let at_path = cstring(fd_path(&at).as_os_str().as_bytes())?;
        bind(&source, &at_path, mount.rw).map_err(|e| {
            failed(format!(
                "mount {} on {}: {e}",
                mount.source, mount.destination
            ))
        })?;
    }
    Ok(target)
}
