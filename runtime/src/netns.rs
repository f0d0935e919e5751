//! A container's private network namespace, made by kiln rather than by the
//! low-level runtime, so that every runtime gets the same network: a
//! loopback interface that is up (crun and runc bring it up themselves,
//! libcontainer 0.7 does not), and later the bridge networks' veth pairs.
//!
//! The namespace is pinned by a bind mount of its nsfs file on
//! `<container dir>/netns` (or, for `--network container:X`, X's namespace
//! pinned there with [`pin`]), made inside the monitor's private mount namespace:
//! the spec tells the runtime to join that path, restarts reuse it, and it
//! disappears with the monitor — nothing to clean up on the host.

use std::io;
use std::path::Path;

use crate::rootfs::is_mountpoint;

/// Makes sure `path` holds a network namespace with `lo` up: creates one
/// (on a short-lived thread, which alone enters it) unless one is already
/// mounted there.
pub fn ensure(path: &Path) -> io::Result<()> {
    if is_mountpoint(path) {
        return Ok(());
    }
    let target = path.to_path_buf();
    std::thread::spawn(move || -> io::Result<()> {
        // SAFETY: unshare affects only this thread, which ends right after.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        loopback_up()?;
        bind_nsfs(Path::new("/proc/thread-self/ns/net"), &target)
    })
    .join()
    .map_err(|_| io::Error::other("network namespace thread panicked"))?
}

/// Pins the network namespace file `source` (`/proc/<pid>/ns/net` of
/// another container, for `--network container:X`) on `path` with a bind
/// mount, so the spec's `Join(path)` joins it.
pub fn pin(source: &Path, path: &Path) -> io::Result<()> {
    if is_mountpoint(path) {
        let target = c_path(path)?;
        // SAFETY: unmounting a path of our own container directory.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
    bind_nsfs(source, path)
}

/// Bind-mounts the nsfs file `source` onto `target` (made as an empty file
/// when missing): what keeps a namespace alive without a process in it.
fn bind_nsfs(source: &Path, target: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target)?;
    let (source, target) = (c_path(source)?, c_path(target)?);
    // SAFETY: bind-mounting an nsfs file onto a file we made.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn c_path(path: &Path) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: a datagram socket and SIOC[GS]IFFLAGS ioctls on an ifreq we own.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut rc = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if rc == 0 {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            rc = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let err = io::Error::last_os_error();
        libc::close(socket);
        if rc != 0 {
            return Err(err);
        }
    }
    Ok(())
}
