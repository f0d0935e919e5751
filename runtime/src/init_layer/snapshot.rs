//! The containers' init snapshot: one committed snapshot per image chain,
//! between the image's layers and each container's writable snapshot
//! (Docker's `<id>-init` layer, shared here by all containers of an image).

use std::path::Path;

use kiln_snapshotter::{mount, Error as SnapshotError, Kind as SnapshotKind, Labels, Snapshotter};

use super::{ensure, InitLayerError, Mode, CONTAINER_PATHS};

/// Versioned: a change to [`CONTAINER_PATHS`] must bump it, so that old
/// init snapshots are not reused.
const PREFIX: &str = "kiln-init-v1-";

/// The init snapshot's name for image chain `chain` (empty: no layers).
pub fn init_key(chain: &str) -> String {
    if chain.is_empty() {
        format!("{PREFIX}empty")
    } else {
        format!("{PREFIX}{chain}")
    }
}

/// Returns the committed init snapshot over `chain`, making it first if it
/// does not exist: a writable snapshot over the chain is mounted on
/// `scratch` (the caller must be in a private mount namespace), fixed with
/// [`ensure`] in [`Mode::Permanent`], unmounted and committed. When another
/// process commits the same name first, its snapshot is used.
pub fn init_snapshot(
    snapshotter: &dyn Snapshotter,
    chain: &str,
    scratch: &Path,
) -> Result<String, InitLayerError> {
    let name = init_key(chain);
    if is_committed(snapshotter, &name)? {
        return Ok(name);
    }
    let key = format!("{name}-active-{}", std::process::id());
    let fail = |message: String| InitLayerError::Snapshot {
        key: key.clone(),
        message,
    };
    let parent = (!chain.is_empty()).then_some(chain);
    let _ = snapshotter.remove(&key);
    let mounts = snapshotter
        .prepare(&key, parent, &Labels::new())
        .map_err(|e| fail(e.to_string()))?;
    let made = (|| {
        std::fs::create_dir_all(scratch)
            .map_err(|e| fail(format!("create {}: {e}", scratch.display())))?;
        mount::mount_all(&mounts, scratch).map_err(|e| fail(e.to_string()))?;
        let fixed = ensure(scratch, CONTAINER_PATHS, Mode::Permanent);
        let _ = mount::unmount_all(scratch, true);
        drop(fixed?);
        match snapshotter.commit(&name, &key) {
            Ok(()) | Err(SnapshotError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(fail(e.to_string())),
        }
    })();
    let _ = std::fs::remove_dir(scratch);
    // After a commit the key is gone; after a lost race or a failure it is
    // still there.
    if snapshotter.stat(&key).is_ok() {
        let _ = snapshotter.remove(&key);
    }
    made.map(|()| name)
}

fn is_committed(snapshotter: &dyn Snapshotter, key: &str) -> Result<bool, InitLayerError> {
    match snapshotter.stat(key) {
        Ok(info) => Ok(info.kind == SnapshotKind::Committed),
        Err(SnapshotError::NotFound { .. }) => Ok(false),
        Err(e) => Err(InitLayerError::Snapshot {
            key: key.to_string(),
            message: e.to_string(),
        }),
    }
}
