//! Context for libcontainer's "failed to prepare rootfs".
//!
//! libcontainer's container init reports a failed mount to its parent as
//! the bare words "failed to prepare rootfs" (the cause only goes to its
//! `tracing` log, which kiln does not collect). crun and runc name the mount
//! and the errno, so after such a failure kiln looks at the bundle's mounts
//! itself and names the first one that cannot work, with runc's words.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

/// What is wrong with the bundle's root filesystem or mounts, as one
/// `rootfs R: mount S on D: CAUSE` phrase (or the rootfs alone when no
/// mount is visibly wrong).
pub(crate) fn rootfs_failure(bundle: &Path) -> String {
    let Ok(spec) = Spec::load(bundle.join("config.json")) else {
        return format!("bundle {}", bundle.display());
    };
    let root = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let root = if root.is_absolute() {
        root
    } else {
        bundle.join(root)
    };
    for mount in spec.mounts().as_deref().unwrap_or_default() {
        let dest = mount.destination().to_string_lossy().into_owned();
        let source = mount.source().clone().unwrap_or_default();
        if let Some(cause) = mount_problem(&root, mount.typ().as_deref(), &source, &dest) {
            return format!(
                "rootfs {}: mount {} on {dest}: {cause}",
                root.display(),
                source.display()
            );
        }
    }
    format!("rootfs {} (no mount is visibly wrong)", root.display())
}

fn mount_problem(root: &Path, kind: Option<&str>, source: &PathBuf, dest: &str) -> Option<String> {
    let inside = crate::spec::resolve_in_rootfs(root, dest).ok()?;
    let target = std::fs::metadata(&inside).ok();
    if kind == Some("bind") {
        let Ok(src) = std::fs::metadata(source) else {
            return Some("source: no such file or directory".into());
        };
        return match target {
            Some(t) if t.is_dir() && !src.is_dir() => {
                Some("not a directory (a file cannot be mounted on a directory)".into())
            }
            Some(t) if !t.is_dir() && src.is_dir() => {
                Some("is a directory (a directory cannot be mounted on a file)".into())
            }
            _ => None,
        };
    }
    match target {
        Some(t) if !t.is_dir() => Some("not a directory".into()),
        _ => None,
    }
}
