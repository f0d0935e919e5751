//! A container's root filesystem: a writable snapshot on top of its image's
//! layers, mounted only inside a private mount namespace.
//!
//! Mounting inside a private namespace (of the monitor, or of the CLI process
//! that runs a container in the foreground) means the mount disappears with the
//! last process of that namespace: a `kill -9` of kiln or of a monitor can never
//! leave a stuck mount on the host.

use std::cell::Cell;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Set once the whole process is private: the namespace was entered while
/// the process had a single thread, so every thread made since inherits it.
static PROCESS_PRIVATE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set once this thread alone has entered a namespace of its own.
    static THREAD_PRIVATE: Cell<bool> = const { Cell::new(false) };
}

/// Moves the calling **thread** into a new mount namespace whose mounts do
/// not propagate back to the host (`unshare(CLONE_NEWNS)` + recursive
/// private). Call it on the thread that is about to mount.
///
/// `unshare(CLONE_NEWNS)` moves only the calling thread (it also gives the
/// thread its own root/cwd, `CLONE_FS`), so "done" is remembered per thread:
///
/// - called while the process has a single thread (the `kiln` binary at
///   start, a monitor, a `oneshot-run`), it covers the whole process: every
///   thread made afterwards inherits the namespace, and later calls return at
///   once from any thread;
/// - called from one thread of a multi-threaded process (a library caller
///   such as a Compose executor creating containers from a thread pool),
///   that thread gets a namespace of its own, remembered in a thread-local
///   flag; another thread that mounts calls it again and gets its own.
///
/// A mount made on such a thread is seen by that thread, the threads and
/// processes it starts afterwards (a runtime, [`crate::netns`]'s helper
/// thread), and nobody else; it disappears when the last of them ends, and
/// removing a container (which deletes its mount point) detaches it from
/// every namespace. Use [`is_mountpoint`] (which reads the calling thread's
/// table) to ask about them. This is kiln's choice over one dedicated mount
/// thread: each container's work stays on the thread that asked for it, with
/// no hand-off, and the cost (copying the mount table once per thread) is
/// paid once per thread, not per container.
pub fn enter_private_mount_namespace() -> io::Result<()> {
    if PROCESS_PRIVATE.load(Ordering::Acquire) || THREAD_PRIVATE.with(Cell::get) {
        return Ok(());
    }
    // Only this thread exists: nobody can start another one meanwhile.
    let whole_process = thread_count() == Some(1);
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
    if whole_process {
        PROCESS_PRIVATE.store(true, Ordering::Release);
    } else {
        THREAD_PRIVATE.with(|done| done.set(true));
    }
    Ok(())
}

/// The number of threads of this process (`Threads:` of `/proc/self/status`).
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The mount table of the calling thread's mount namespace
/// (`/proc/thread-self`: `/proc/self` is the main thread's, which differs on a
/// thread that entered a namespace of its own).
fn own_mountinfo() -> io::Result<String> {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .or_else(|_| std::fs::read_to_string("/proc/self/mountinfo"))
}

/// Whether `path` is a mount point in the calling thread's mount namespace
/// (from its `mountinfo`, which also sees bind mounts on the same
/// filesystem).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = own_mountinfo() else {
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
