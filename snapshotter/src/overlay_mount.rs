//! Overlay mounts whose options do not fit in one page (layer count limit).
//!
//! `mount(2)` copies at most one page (4096 bytes) of options, and an overlay
//! snapshot's options name every lower directory by its full path
//! (`<root>/snapshots/overlay/snapshots/<id>/fs`), so without help the number of
//! layers an image may have would depend on the length of `--root` (83 layers
//! under a short root, 37 under a 78-byte one). Docker's overlay2 allows 128
//! layers (it uses short `l/` link names), containerd a similar number
//! (relative paths after a `chdir`). [`crate::mount::mount_all`] sends an
//! overlay mount whose options are longer than a page here, which shortens
//! them independently of the root path:
//!
//! 1. the new mount API (`fsopen("overlay")`, one `fsconfig` call per option and
//!    one `lowerdir+` call per lower directory, Linux 6.8+): no page limit at all,
//!    so the limit is overlayfs' own maximum stack of 500 lower layers;
//! 2. on older kernels (no `fsopen`, or no `lowerdir+`), plain `mount(2)` with
//!    each lower, upper and work directory opened (`O_PATH|O_DIRECTORY`) and
//!    named `/proc/self/fd/<n>`; the kernel resolves those links when it parses
//!    the options, and the descriptors are closed right after. About 18 bytes
//!    per layer: 200+ layers fit in a page (at least Docker's 128 always do).
//!
//! Both need the paths to be free of `,` and unescaped `:` (the overlay
//! snapshotter guarantees it). `chdir` + relative paths (containerd's way) is
//! not used: the working directory is per process and kiln mounts from several
//! threads at once.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::sys::cpath;

/// The kernel copies at most one page of `mount(2)` data.
pub(crate) const MAX_DATA: usize = 4095;

// Linux uapi <linux/mount.h> values (ABI, the same on every architecture).
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// `mount(2)` flags and the `fsmount` attribute each maps to.
const ATTRS: &[(libc::c_ulong, libc::c_uint)] = &[
    (libc::MS_RDONLY, 0x01),
    (libc::MS_NOSUID, 0x02),
    (libc::MS_NODEV, 0x04),
    (libc::MS_NOEXEC, 0x08),
    (libc::MS_NOATIME, 0x10),
    (libc::MS_STRICTATIME, 0x20),
    (libc::MS_NODIRATIME, 0x80),
];

/// Superblock flags the new API takes as `fsconfig` flags instead.
const SB_FLAGS: &[(libc::c_ulong, &str)] = &[
    (libc::MS_SYNCHRONOUS, "sync"),
    (libc::MS_DIRSYNC, "dirsync"),
];

/// Mounts overlayfs on `dest` with `data` (comma-separated options) and mount
/// `flags`, when `data` is too long for `mount(2)`; see the module docs.
pub(crate) fn mount_long(dest: &Path, data: &str, flags: libc::c_ulong) -> io::Result<()> {
    if flags & (libc::MS_REMOUNT | libc::MS_BIND) != 0 {
        let msg = "remount or bind flags on an overlay mount with over a page of options";
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    match with_new_api(dest, data, flags) {
        Err(Attempt::Unsupported) => with_fd_paths(dest, data, flags),
        Err(Attempt::Failed(e)) => Err(e),
        Ok(()) => Ok(()),
    }
}

/// How a new-API mount went wrong.
enum Attempt {
    /// This kernel lacks `fsopen` or overlay's `lowerdir+`: fall back.
    Unsupported,
    /// A real failure (missing directory, bad option, ...).
    Failed(io::Error),
}

/// One option of the comma-separated data: `key` or `key=value`.
fn options(data: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    data.split(',')
        .filter(|o| !o.is_empty())
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (o, None),
        })
}

/// The directories of a `lowerdir=` value, top first (`\` escapes undone).
pub(crate) fn split_lowers(value: &str) -> io::Result<Vec<String>> {
    let mut dirs = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => dirs.last_mut().unwrap().extend(chars.next()),
            ':' => dirs.push(String::new()),
            c => dirs.last_mut().unwrap().push(c),
        }
    }
    if dirs.iter().any(String::is_empty) {
        let msg =
            format!("empty directory in lowerdir={value} (data-only layers are not supported)");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    Ok(dirs)
}

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in option"))
}

/// A raw syscall's result: the value, or errno as an error.
fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// Takes ownership of a descriptor a syscall returned.
fn owned(ret: libc::c_long) -> OwnedFd {
    // SAFETY: `ret` is a fresh descriptor nobody else owns (checked >= 0).
    unsafe { OwnedFd::from_raw_fd(ret as RawFd) }
}

/// `fsconfig(fd, cmd, key, value, 0)`; commands take no key (an empty `key`
/// passes NULL).
fn fsconfig(fd: &OwnedFd, cmd: libc::c_uint, key: &str, value: Option<&str>) -> io::Result<()> {
    let key = (!key.is_empty()).then(|| cstring(key)).transpose()?;
    let value = value.map(cstring).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let (key_ptr, value_ptr) = (ptr(&key), ptr(&value));
    // SAFETY: valid descriptor and NUL-terminated strings (or null) that outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd.as_raw_fd(),
            cmd,
            key_ptr,
            value_ptr,
            0,
        )
    };
    check(ret).map(drop)
}

/// Sets every option on the filesystem context `fs` (lower dirs one by one).
fn configure(fs: &OwnedFd, data: &str, flags: libc::c_ulong) -> Result<(), Attempt> {
    let failed = Attempt::Failed;
    for (key, value) in options(data) {
        match (key, value) {
            ("lowerdir", Some(value)) => {
                for (i, dir) in split_lowers(value).map_err(failed)?.iter().enumerate() {
                    match fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", Some(dir)) {
                        Err(e) if i == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                            return Err(Attempt::Unsupported)
                        }
                        Err(e) => {
                            let log = kernel_log(fs);
                            let e = with_context(e, "lowerdir+", &format!("{dir}{log}"));
                            return Err(failed(e));
                        }
                        Ok(()) => {}
                    }
                }
            }
            (key, Some(value)) => fsconfig(fs, FSCONFIG_SET_STRING, key, Some(value))
                .map_err(|e| failed(with_context(e, key, value)))?,
            (key, None) => fsconfig(fs, FSCONFIG_SET_FLAG, key, None)
                .map_err(|e| failed(with_context(e, key, "")))?,
        }
    }
    for &(flag, name) in SB_FLAGS {
        if flags & flag != 0 {
            fsconfig(fs, FSCONFIG_SET_FLAG, name, None).map_err(failed)?;
        }
    }
    Ok(())
}

/// What the kernel logged on the filesystem context `fs` (its reason for a
/// failure, e.g. "overlayfs: ..."), as `: message; message`, or empty.
fn kernel_log(fs: &OwnedFd) -> String {
    let mut messages = Vec::new();
    let mut buf = [0u8; 1024];
    // The log holds at most 8 messages; each read returns one (ENODATA when empty).
    for _ in 0..8 {
        // SAFETY: reading into a buffer we own, of the length given.
        let n = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        let Ok(n @ 1..) = usize::try_from(n) else {
            break;
        };
        let line = String::from_utf8_lossy(&buf[..n]);
        // Lines are "e overlay: reason" (e: error, w: warning, i: info).
        messages.push(line.get(2..).unwrap_or(&line).trim().to_string());
    }
    if messages.is_empty() {
        return String::new();
    }
    format!(": {}", messages.join("; "))
}

/// Adds the option that failed to an error.
fn with_context(e: io::Error, key: &str, value: &str) -> io::Error {
    io::Error::new(e.kind(), format!("overlay option {key}={value}: {e}"))
}

/// Step 1 of the module docs: `fsopen`, `fsconfig`, `fsmount`, `move_mount`.
fn with_new_api(dest: &Path, data: &str, flags: libc::c_ulong) -> Result<(), Attempt> {
    let fstype = cstring("overlay").map_err(Attempt::Failed)?;
    // SAFETY: a NUL-terminated string that outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    let fs = match check(ret) {
        Ok(fd) => owned(fd),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
            return Err(Attempt::Unsupported)
        }
        Err(e) => return Err(Attempt::Failed(e)),
    };
    configure(&fs, data, flags)?;
    fsconfig(&fs, FSCONFIG_CMD_CREATE, "", None).map_err(|e| {
        let log = kernel_log(&fs);
        Attempt::Failed(io::Error::new(
            e.kind(),
            format!("create overlay: {e}{log}"),
        ))
    })?;
    let attrs = ATTRS
        .iter()
        .filter(|(flag, _)| flags & flag != 0)
        .fold(0, |acc, (_, attr)| acc | attr);
    // SAFETY: `fs` is a valid filesystem context descriptor.
    let ret = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    let mnt = owned(check(ret).map_err(Attempt::Failed)?);
    let target = cpath(dest).map_err(Attempt::Failed)?;
    let empty = cstring("").map_err(Attempt::Failed)?;
    // SAFETY: valid descriptors and NUL-terminated strings that outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    check(ret).map(drop).map_err(Attempt::Failed)
}

/// Opens `dir` as an `O_PATH` descriptor and returns it with its
/// `/proc/self/fd/<n>` name.
fn fd_path(dir: &str, fds: &mut Vec<File>) -> io::Result<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("open {dir}: {e}")))?;
    let name = format!("/proc/self/fd/{}", file.as_raw_fd());
    fds.push(file);
    Ok(name)
}

/// `data` with every directory option naming a descriptor of `fds` instead.
pub(crate) fn shorten(data: &str, fds: &mut Vec<File>) -> io::Result<String> {
    let mut out = Vec::new();
    for (key, value) in options(data) {
        let short = match (key, value) {
            ("lowerdir", Some(value)) => {
                let dirs = split_lowers(value)?;
                let names: io::Result<Vec<String>> =
                    dirs.iter().map(|dir| fd_path(dir, fds)).collect();
                format!("lowerdir={}", names?.join(":"))
            }
            ("upperdir" | "workdir", Some(value)) => format!("{key}={}", fd_path(value, fds)?),
            (key, Some(value)) => format!("{key}={value}"),
            (key, None) => key.to_string(),
        };
        out.push(short);
    }
    Ok(out.join(","))
}

/// Step 2 of the module docs: `mount(2)` with `/proc/self/fd/<n>` paths.
pub(crate) fn with_fd_paths(dest: &Path, data: &str, flags: libc::c_ulong) -> io::Result<()> {
    let mut fds = Vec::new();
    let short = shorten(data, &mut fds)?;
    if short.len() > MAX_DATA {
        let msg = format!(
            "overlay options are {} bytes even with descriptor paths ({} directories), \
             over one page; Linux 6.8+ (lowerdir+) lifts this limit",
            short.len(),
            fds.len()
        );
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    crate::mount::sys_mount(Some("overlay"), dest, Some("overlay"), flags, Some(&short))
    // `fds` close here: the mount holds the directories now.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_split_on_unescaped_colons() {
        assert_eq!(split_lowers("/a:/b\\:c:/d").unwrap(), ["/a", "/b:c", "/d"]);
        assert!(split_lowers("/a::/b").is_err());
        assert!(split_lowers("").is_err());
    }

    #[test]
    fn shorten_names_descriptors() {
        let dir = std::env::temp_dir();
        let d = dir.to_str().unwrap();
        let mut fds = Vec::new();
        let data = format!("index=off,workdir={d},upperdir={d},lowerdir={d}:{d},userxattr");
        let short = shorten(&data, &mut fds).unwrap();
        assert_eq!(fds.len(), 4);
        let n: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let want = format!(
            "index=off,workdir=/proc/self/fd/{},upperdir=/proc/self/fd/{},\
             lowerdir=/proc/self/fd/{}:/proc/self/fd/{},userxattr",
            n[0], n[1], n[2], n[3]
        );
        assert_eq!(short, want);
    }

    use crate::conformance::TempRoot;
    use crate::mount::unmount;
    use std::fs;
    use std::path::PathBuf;

    /// `n` layer directories under a 150-byte directory name, nearest first:
    /// layer `i` holds `f<i>` and `top`, both reading `i`.
    fn layers(root: &TempRoot, n: usize) -> (PathBuf, Vec<String>) {
        let base = root.path().join("d".repeat(150));
        let dirs = (1..=n).rev().map(|i| {
            let dir = base.join(format!("layer-{i}"));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(format!("f{i}")), i.to_string()).unwrap();
            fs::write(dir.join("top"), i.to_string()).unwrap();
            dir.to_str().unwrap().to_string()
        });
        let dirs = dirs.collect();
        let dest = base.join("merged");
        fs::create_dir_all(&dest).unwrap();
        (base, dirs)
    }

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn descriptor_paths_mount_200_layers_under_a_long_root() {
        let root = TempRoot::new();
        let (base, dirs) = layers(&root, 200);
        let (upper, work, dest) = (base.join("upper"), base.join("work"), base.join("merged"));
        fs::create_dir_all(&upper).unwrap();
        fs::create_dir_all(&work).unwrap();
        let data = format!(
            "workdir={},upperdir={},lowerdir={}",
            work.display(),
            upper.display(),
            dirs.join(":")
        );
        assert!(data.len() > MAX_DATA, "{} bytes", data.len());
        with_fd_paths(&dest, &data, 0).unwrap();
        let seen = (read(&dest, "top"), read(&dest, "f1"), read(&dest, "f128"));
        fs::write(dest.join("new"), "upper").unwrap();
        unmount(&dest).unwrap();
        assert_eq!(seen, ("200".into(), "1".into(), "128".into()));
        assert_eq!(read(&upper, "new"), "upper");
    }

    #[test]
    fn overlay_stack_limit_of_500_layers_mounts() {
        let root = TempRoot::new();
        let (base, dirs) = layers(&root, 500);
        let dest = base.join("merged");
        let data = format!("lowerdir={}", dirs.join(":"));
        mount_long(&dest, &data, libc::MS_NOSUID | libc::MS_NODEV).unwrap();
        let seen = (read(&dest, "top"), read(&dest, "f1"), read(&dest, "f500"));
        let mounted = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = mounted.lines().find(|l| l.contains(dest.to_str().unwrap()));
        let line = line.map(str::to_string).unwrap_or_default();
        unmount(&dest).unwrap();
        assert_eq!(seen, ("500".into(), "1".into(), "500".into()));
        assert!(line.contains("nosuid") && line.contains("nodev"), "{line}");
    }

    #[test]
    fn over_500_layers_fail_naming_the_layer() {
        let root = TempRoot::new();
        let (base, dirs) = layers(&root, 501);
        let dest = base.join("merged");
        let err = mount_long(&dest, &format!("lowerdir={}", dirs.join(":")), 0).unwrap_err();
        assert!(err.to_string().contains("layer-1:"), "{err}");
    }

    #[test]
    fn shorten_names_the_missing_directory() {
        let err = shorten("lowerdir=/nonexistent-kiln-lower", &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-kiln-lower"), "{err}");
    }
}
