//! Performing the [`Mount`]s a snapshotter returns. For callers (builder, runtime,
//! tests): snapshotters themselves never mount.
//!
//! Options split into mount flags (`ro`, `rw`, `bind`, `rbind`, `nosuid`, `nodev`,
//! `noexec`, atime flags, `sync`, `dirsync`, `remount`, propagation such as
//! `rprivate`) and filesystem data (everything else, e.g. `lowerdir=a:b`), which is
//! joined with commas. `bind` mounts always get `MS_BIND` (`rbind` adds `MS_REC`);
//! since the kernel ignores per-mount flags on the initial bind, `ro` and the other
//! per-mount flags are applied with a second, remounting call. Propagation flags go
//! in a third call.
//!
//! An overlay mount whose data is longer than the one page `mount(2)` copies
//! (long `lowerdir=` chains: many layers, long root paths) goes through
//! [`crate::overlay_mount`], which names the directories without their full
//! paths; any other mount with over a page of data is refused.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::ptr;

use crate::sys::cpath;
use crate::{Error, Mount, Result};

use crate::overlay_mount::{self, MAX_DATA};

/// Flags that a bind mount only honours on remount.
const PER_MOUNT: libc::c_ulong = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME;

/// `(option, clears?, flag)`.
const FLAGS: &[(&str, bool, libc::c_ulong)] = &[
    ("defaults", false, 0),
    ("ro", false, libc::MS_RDONLY),
    ("rw", true, libc::MS_RDONLY),
    ("bind", false, libc::MS_BIND),
    ("rbind", false, libc::MS_BIND | libc::MS_REC),
    ("nosuid", false, libc::MS_NOSUID),
    ("suid", true, libc::MS_NOSUID),
    ("nodev", false, libc::MS_NODEV),
    ("dev", true, libc::MS_NODEV),
    ("noexec", false, libc::MS_NOEXEC),
    ("exec", true, libc::MS_NOEXEC),
    ("noatime", false, libc::MS_NOATIME),
    ("atime", true, libc::MS_NOATIME),
    ("nodiratime", false, libc::MS_NODIRATIME),
    ("diratime", true, libc::MS_NODIRATIME),
    ("relatime", false, libc::MS_RELATIME),
    ("norelatime", true, libc::MS_RELATIME),
    ("strictatime", false, libc::MS_STRICTATIME),
    ("sync", false, libc::MS_SYNCHRONOUS),
    ("async", true, libc::MS_SYNCHRONOUS),
    ("dirsync", false, libc::MS_DIRSYNC),
    ("remount", false, libc::MS_REMOUNT),
];

/// Propagation options, applied after the mount.
const PROPAGATION: &[(&str, libc::c_ulong)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

/// Options split into what `mount(2)` takes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    flags: libc::c_ulong,
    propagation: libc::c_ulong,
    data: String,
}

fn parse_options(options: &[String]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut data = Vec::new();
    for option in options {
        if let Some(&(_, clear, flag)) = FLAGS.iter().find(|(name, ..)| name == option) {
            if clear {
                parsed.flags &= !flag;
            } else {
                parsed.flags |= flag;
            }
        } else if let Some(&(_, flag)) = PROPAGATION.iter().find(|(name, _)| name == option) {
            parsed.propagation |= flag;
        } else {
            data.push(option.as_str());
        }
    }
    parsed.data = data.join(",");
    parsed
}

/// Where `mount` goes under the caller's `target`.
pub fn destination(mount: &Mount, target: &Path) -> PathBuf {
    match &mount.target {
        Some(sub) => target.join(sub.trim_start_matches('/')),
        None => target.to_path_buf(),
    }
}

/// Performs `mounts` in order on `target` (each at its own sub-target, if any).
/// On failure, the mounts already made are undone and the error names the target.
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<()> {
    for (done, mount) in mounts.iter().enumerate() {
        if let Err(e) = mount_one(mount, target) {
            for made in mounts[..done].iter().rev() {
                let _ = unmount(&destination(made, target));
            }
            return Err(e);
        }
    }
    Ok(())
}

fn mount_one(mount: &Mount, target: &Path) -> Result<()> {
    let dest = destination(mount, target);
    let err = |source| Error::Mount {
        target: dest.clone(),
        kind: mount.kind.clone(),
        source_path: mount.source.clone(),
        source,
    };
    let parsed = parse_options(&mount.options);
    let bind = mount.kind == "bind";
    let flags = parsed.flags | if bind { libc::MS_BIND } else { 0 };
    if parsed.data.len() > MAX_DATA && mount.kind == "overlay" {
        overlay_mount::mount_long(&dest, &parsed.data, flags).map_err(err)?;
    } else if parsed.data.len() > MAX_DATA {
        let msg = format!("options are {} bytes, over one page", parsed.data.len());
        return Err(err(io::Error::new(io::ErrorKind::InvalidInput, msg)));
    } else {
        let fstype = (!bind).then_some(mount.kind.as_str());
        let data = (!parsed.data.is_empty()).then_some(parsed.data.as_str());
        sys_mount(Some(&mount.source), &dest, fstype, flags, data).map_err(err)?;
    }
    let remount = bind && flags & PER_MOUNT != 0 && flags & libc::MS_REMOUNT == 0;
    let mut extra = Ok(());
    if remount {
        let flags = libc::MS_REMOUNT | libc::MS_BIND | (flags & PER_MOUNT);
        extra = sys_mount(None, &dest, None, flags, None);
    }
    if extra.is_ok() && parsed.propagation != 0 {
        extra = sys_mount(None, &dest, None, parsed.propagation, None);
    }
    if let Err(e) = extra {
        let _ = unmount(&dest);
        return Err(err(e));
    }
    Ok(())
}

/// `mount(2)` with optional source, type and data.
pub(crate) fn sys_mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in option"))
    };
    let source = source.map(cstr).transpose()?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    let target = cpath(target)?;
    let ptr_of = |c: &Option<CString>| c.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a valid NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            ptr_of(&source),
            target.as_ptr(),
            ptr_of(&fstype),
            flags,
            ptr_of(&data).cast(),
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn umount2(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let c = cpath(target)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    if unsafe { libc::umount2(c.as_ptr(), flags | libc::UMOUNT_NOFOLLOW) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Unmounts the topmost mount on `target`.
pub fn unmount(target: &Path) -> Result<()> {
    umount2(target, 0).map_err(|source| Error::Unmount {
        target: target.to_path_buf(),
        source,
    })
}

/// Unmounts everything stacked on `target` until it is no longer a mount point.
/// With `lazy`, busy mounts are detached (`MNT_DETACH`) instead of failing.
pub fn unmount_all(target: &Path, lazy: bool) -> Result<()> {
    let flags = if lazy { libc::MNT_DETACH } else { 0 };
    loop {
        match umount2(target, flags) {
            Ok(()) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(()),
            Err(source) => {
                let target = target.to_path_buf();
                return Err(Error::Unmount { target, source });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_flags_from_data() {
        let parsed = parse_options(&opts(&["rbind", "ro", "lowerdir=/a:/b", "index=off"]));
        assert_eq!(parsed.flags, libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY);
        assert_eq!(parsed.data, "lowerdir=/a:/b,index=off");
        assert_eq!(parsed.propagation, 0);
    }

    #[test]
    fn later_options_win_and_propagation_is_separate() {
        let parsed = parse_options(&opts(&["ro", "nosuid", "rw", "rprivate"]));
        assert_eq!(parsed.flags, libc::MS_NOSUID);
        assert_eq!(parsed.propagation, libc::MS_PRIVATE | libc::MS_REC);
        assert_eq!(parsed.data, "");
    }

    #[test]
    fn destination_joins_relative_targets() {
        let mut m = Mount {
            kind: "bind".into(),
            source: "/s".into(),
            target: Some("/etc/hosts".into()),
            options: vec![],
        };
        assert_eq!(destination(&m, Path::new("/r")), Path::new("/r/etc/hosts"));
        m.target = None;
        assert_eq!(destination(&m, Path::new("/r")), Path::new("/r"));
    }

    #[test]
    fn mount_errors_name_the_target() {
        let m = Mount {
            kind: "bind".into(),
            source: "/nonexistent-kiln-source".into(),
            target: None,
            options: opts(&["rbind"]),
        };
        let err = mount_all(&[m], Path::new("/nonexistent-kiln-target")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-kiln-target"),
            "{err}"
        );
    }
}
