//! A container's root filesystem: a writable snapshot on top of its image's
//! layers, mounted only inside a private mount namespace.
//!
//! Mounting inside a private namespace (of the monitor, or of the CLI process
//! that runs a container in the foreground) means the mount disappears with the
//! last process of that namespace: a `kill -9` of kiln or of a monitor can never
//! leave a stuck mount on the host.

use std::io;
use std::path::Path;

use kiln_snapshotter::{mount, NativeSnapshotter, OverlaySnapshotter, Snapshotter};

use crate::error::{Error, Result};

/// The file recording which snapshotter a root uses (probed once).
const DRIVER_FILE: &str = "snapshots/driver";

/// Opens snapshotter `name` (`overlay` or `native`) of the kiln root, or — for
/// `None` — the root's default: overlay when the filesystem supports it (probed
/// once, then remembered in `<root>/snapshots/driver`), native otherwise.
pub fn open_snapshotter(root: &Path, name: Option<&str>) -> Result<Box<dyn Snapshotter>> {
    let name = match name {
        Some(name) => name.to_string(),
        None => default_driver(root),
    };
    match name.as_str() {
        "overlay" => OverlaySnapshotter::new(root)
            .map(|s| Box::new(s) as Box<dyn Snapshotter>)
            .map_err(Error::from),
        "native" => NativeSnapshotter::new(root)
            .map(|s| Box::new(s) as Box<dyn Snapshotter>)
            .map_err(Error::from),
        other => Err(Error::UnknownSnapshotter(other.to_string())),
    }
}

fn default_driver(root: &Path) -> String {
    let file = root.join(DRIVER_FILE);
    if let Ok(text) = std::fs::read_to_string(&file) {
        let text = text.trim();
        if text == "overlay" || text == "native" {
            return text.to_string();
        }
    }
    let _ = std::fs::create_dir_all(root.join("snapshots"));
    let chosen = if OverlaySnapshotter::supported(root) {
        "overlay"
    } else {
        "native"
    };
    let _ = std::fs::write(&file, chosen);
    chosen.to_string()
}

/// Moves the calling process into a new mount namespace whose mounts do not
/// propagate back to the host (`unshare(CLONE_NEWNS)` + recursive private).
///
/// Done once per process: later calls return at once (the process already has
/// its own namespace, and copying the mount table again costs time).
pub fn enter_private_mount_namespace() -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: unshare and mount with constant arguments.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        let none = c"none".as_ptr();
        let root = c"/".as_ptr();
        if libc::mount(
            none,
            root,
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    DONE.store(true, Ordering::Release);
    Ok(())
}

/// Whether `path` is a mount point in the caller's mount namespace
/// (from `/proc/self/mountinfo`, which also sees bind mounts on the same
/// filesystem).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.to_string_lossy();
    info.lines()
        .any(|line| line.split(' ').nth(4).map(unescape_mountinfo).as_deref() == Some(&wanted))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounts snapshot `key` on `target` unless something is mounted there already.
pub fn mount_snapshot(snapshotter: &dyn Snapshotter, key: &str, target: &Path) -> Result<()> {
    if is_mountpoint(target) {
        return Ok(());
    }
    std::fs::create_dir_all(target)
        .map_err(|e| Error::io(format!("create {}", target.display()), e))?;
    let mounts = snapshotter.mounts(key)?;
    Ok(mount::mount_all(&mounts, target)?)
}

/// Unmounts everything on `target` (lazily: busy mounts are detached).
pub fn unmount(target: &Path) -> Result<()> {
    Ok(mount::unmount_all(target, true)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert!(is_mountpoint(Path::new("/proc")));
        assert!(!is_mountpoint(Path::new("/proc/self")));
    }
}
