//! Reading files of a container's root filesystem without escaping it.
//!
//! [`read_rootfs_file`] reads through `kiln-inroot`. [`resolve_in_rootfs`]
//! gives callers that must create things (mount points, a working directory)
//! a path: it is used before any process of the container runs, so nothing
//! inside can swap a component while it is used. Paths are resolved chroot-style: every symlink met on the way is followed
//! as if the rootfs were `/` (an absolute target restarts at the rootfs, `..`
//! stops at it), so `/etc/passwd -> /../../host/etc/passwd` reads a file of
//! the image, never of the host. The final open uses `O_NOFOLLOW`, so a
//! symlink swapped in after resolution is refused rather than followed.

use std::collections::VecDeque;
use std::ffi::OsString;
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

/// Reads a text file of the rootfs (at most 16 MiB), `Ok(None)` when it does
/// not exist. Resolved by the kernel inside the rootfs
/// ([`kiln_inroot::Root::read_file`], `openat2(RESOLVE_IN_ROOT)`), so a link
/// such as `/etc/passwd -> /../../host/etc/passwd` reads a file of the image
/// or nothing, never one of the host.
pub fn read_rootfs_file(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let inside = |e: kiln_inroot::Error| match e.raw_os_error() {
        Some(libc::ELOOP) => SpecError::SymlinkLoop {
            path: path.to_owned(),
            rootfs: rootfs.to_owned(),
        },
        _ => SpecError::io(
            rootfs.join(path.trim_start_matches('/')),
            std::io::Error::other(e),
        ),
    };
    let root = kiln_inroot::Root::open(rootfs).map_err(inside)?;
    let bytes = root
        .read_file(path, kiln_inroot::MAX_SMALL_FILE)
        .map_err(inside)?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
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
