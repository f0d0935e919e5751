//! Where user mounts land: each destination resolved inside the root
//! filesystem before any runtime sees it. (The syntax checks of `-v`,
//! `--mount` and `--tmpfs` values live in `kiln_parser::values`.)

use std::path::Path;

use super::{resolve_in_rootfs, MountSpec, SpecError};

/// Rewrites each mount's destination to where it resolves inside `rootfs`
/// (symlinks followed chroot-style), so that no runtime meets a symlink on
/// the way and a destination through a dangling link is created inside the
/// root filesystem, where runc creates it.
pub fn resolve_destinations(rootfs: &Path, mounts: &mut [MountSpec]) -> Result<(), SpecError> {
    for mount in mounts {
        let resolved = resolve_in_rootfs(rootfs, mount.destination())?;
        let inside = resolved.strip_prefix(rootfs).unwrap_or(&resolved);
        let new = format!("/{}", inside.to_string_lossy());
        match mount {
            MountSpec::Bind { destination, .. } | MountSpec::Tmpfs { destination, .. } => {
                *destination = new
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_resolve_inside_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexist", dir.path().join("dangling")).unwrap();
        let mut mounts = vec![MountSpec::Tmpfs {
            destination: "/dangling/x".into(),
            options: vec![],
        }];
        resolve_destinations(dir.path(), &mut mounts).unwrap();
        assert_eq!(mounts[0].destination(), "/nonexist/x");
    }
}
