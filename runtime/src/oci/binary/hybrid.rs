//! Making a hybrid cgroup host look like cgroup v1 to one child process.

use std::io;

/// `Command::pre_exec` hook: moves the child into a private mount namespace and
/// detaches `/sys/fs/cgroup/unified` there, so a runtime that refuses hybrid
/// hosts (Debian's crun 1.8) sees plain cgroup v1. The host's mounts are not
/// affected. Only raw system calls: safe between fork and exec.
pub(super) fn hide_unified_hierarchy() -> io::Result<()> {
    // SAFETY: plain system calls with static NUL-terminated strings.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = libc::MS_REC | libc::MS_PRIVATE;
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::umount2(c"/sys/fs/cgroup/unified".as_ptr(), libc::MNT_DETACH) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
