//! Reading files of a container's root filesystem without escaping it.
//!
//! Paths are resolved chroot-style: every symlink met on the way is followed
//! as if the rootfs were `/` (an absolute target restarts at the rootfs, `..`
//! stops at it), so `/etc/passwd -> /../../host/etc/passwd` reads a file of
//! the image, never of the host. The final open uses `O_NOFOLLOW`, so a
//! symlink swapped in after resolution is refused rather than followed.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use super::SpecError;

/// Linux's own limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;

/// Resolves `path` (interpreted inside the container) to a host path under
/// `rootfs`, following symlinks chroot-style. Missing components are kept
/// as-is (the result then simply does not exist).
pub fn resolve_in_rootfs(rootfs: &Path, path: &str) -> Result<PathBuf, SpecError> {
    let mut pending: VecDeque<OsString> = components(Path::new(path));
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = join(rootfs, &resolved).join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(SpecError::SymlinkLoop {
                        path: path.to_owned(),
                        rootfs: rootfs.to_owned(),
                    });
                }
                let target =
                    std::fs::read_link(&candidate).map_err(|e| SpecError::io(&candidate, e))?;
                if target.is_absolute() {
                    resolved.clear();
                }
                for (i, c) in components(&target).into_iter().enumerate() {
                    pending.insert(i, c);
                }
            }
            Ok(_) => resolved.push(part),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => resolved.push(part),
            Err(e) => return Err(SpecError::io(candidate, e)),
        }
    }
    Ok(join(rootfs, &resolved))
}

/// Reads a text file of the rootfs (resolved as [`resolve_in_rootfs`]);
/// `Ok(None)` when it does not exist.
pub fn read_rootfs_file(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let host_path = resolve_in_rootfs(rootfs, path)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&host_path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SpecError::io(host_path, e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| SpecError::io(&host_path, e))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The normal and `..` components of a path (root and `.` dropped).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(rootfs: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = rootfs.to_path_buf();
    p.extend(parts);
    p
}
