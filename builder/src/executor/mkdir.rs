//! WORKDIR: creates the directory (and missing parents) in the stage's
//! tree, owned by the stage's USER when one is set (BuildKit chowns new
//! directories to it). The layer is kept only when something changed; the
//! driver then records the history entry as an empty layer.

use std::os::unix::fs::PermissionsExt;

use super::snapshot::Active;
use super::{KilnExecutor, Output, RootFs};
use crate::graph::MkdirOp;
use crate::solver::{CacheKey, ExecError};

/// Creates `op.path` over `inputs[0]` and commits the result.
pub fn execute(
    ex: &KilnExecutor,
    op: &MkdirOp,
    inputs: &[Output],
    key: CacheKey,
) -> Result<RootFs, ExecError> {
    let input = inputs
        .first()
        .ok_or_else(|| ExecError::other("WORKDIR without an input filesystem"))?
        .root()?;
    let active = Active::prepare(ex, input)?;
    active.with_mounted(|root| {
        let owner = match op.owner.as_deref().filter(|o| !o.is_empty()) {
            Some(user) => {
                let u = kiln_runtime::spec::resolve_user(root, user).map_err(|e| {
                    ExecError::other(format!("WORKDIR {}: user {user}: {e}", op.path))
                })?;
                Some((u.uid, u.gid))
            }
            None => None,
        };
        let rel = op.path.trim_start_matches('/');
        let mut current = String::new();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            if !current.is_empty() {
                current.push('/');
            }
            current.push_str(part);
            let inside = kiln_runtime::spec::resolve_in_rootfs(root, &current)
                .map_err(|e| ExecError::other(format!("WORKDIR {}: {e}", op.path)))?;
            if inside.symlink_metadata().is_ok() {
                continue;
            }
            std::fs::create_dir(&inside).map_err(|e| {
                ExecError::other(format!("WORKDIR {}: create {current}: {e}", op.path))
            })?;
            std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(op.mode))
                .map_err(|e| ExecError::other(format!("WORKDIR {}: chmod: {e}", op.path)))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&inside, Some(uid), Some(gid))
                    .map_err(|e| ExecError::other(format!("WORKDIR {}: chown: {e}", op.path)))?;
            }
        }
        Ok(())
    })?;
    active.finish(input, key)
}
