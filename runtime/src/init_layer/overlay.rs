//! A build step's init layer as an overlay lower directory of its own.
//!
//! Fixing a `RUN` step's root filesystem in place (rename aside, undo after)
//! works on every snapshotter, but on overlayfs the undo leaves a copied-up
//! duplicate of the image's entry in the step's upper directory, which the
//! differ would then put in the step's layer. So for the overlay snapshotter
//! the fixes go where Docker puts them, into a layer between the image and
//! the step's writable layer: [`step_mounts`] mounts a scratch overlay (the
//! step's layers as lower directories, a scratch upper), runs [`ensure`] on
//! it, and returns the step's mounts with that scratch upper added as the
//! topmost lower directory. The step's upper directory is never touched.

use std::path::Path;

use kiln_snapshotter::{mount, Mount};

use super::{ensure, InitLayerError, Mode, BUILD_PATHS};

fn fail(key: &str, message: String) -> InitLayerError {
    InitLayerError::Snapshot {
        key: key.to_string(),
        message,
    }
}

/// The option `name=` of `mount`, if set.
fn option<'a>(mount: &'a Mount, name: &str) -> Option<&'a str> {
    mount
        .options
        .iter()
        .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
}

/// The step's mounts with an init layer below its upper directory, or
/// `None` when nothing needs fixing or the root mount is not a writable
/// overlay (the caller then uses [`ensure`] in [`Mode::Reversible`]).
/// `scratch` (removed with the step's work directory) holds the layer.
pub fn step_mounts(mounts: &[Mount], scratch: &Path) -> Result<Option<Vec<Mount>>, InitLayerError> {
    let Some(root) = mounts
        .first()
        .filter(|m| m.kind == "overlay" && m.target.is_none())
    else {
        return Ok(None);
    };
    let (Some(upper), Some(lowers)) = (option(root, "upperdir"), option(root, "lowerdir")) else {
        return Ok(None);
    };
    let key = scratch.display().to_string();
    let (init, work, probe) = (
        scratch.join("upper"),
        scratch.join("work"),
        scratch.join("probe"),
    );
    for dir in [&init, &work, &probe] {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(&key, format!("create {}: {e}", dir.display())))?;
    }
    let init_str = init.to_string_lossy();
    let mut planning = root.clone();
    planning.options.retain(|o| {
        !o.starts_with("upperdir=") && !o.starts_with("workdir=") && !o.starts_with("lowerdir=")
    });
    planning.options.push(format!("workdir={}", work.display()));
    planning.options.push(format!("upperdir={init_str}"));
    planning.options.push(format!("lowerdir={upper}:{lowers}"));
    mount::mount_all(&[planning], &probe).map_err(|e| fail(&key, e.to_string()))?;
    let fixed = ensure(&probe, BUILD_PATHS, Mode::Permanent);
    let _ = mount::unmount_all(&probe, true);
    if fixed?.is_empty() {
        return Ok(None);
    }
    let mut step = mounts.to_vec();
    for o in &mut step[0].options {
        if o.starts_with("lowerdir=") {
            *o = format!("lowerdir={init_str}:{lowers}");
        }
    }
    Ok(Some(step))
}
