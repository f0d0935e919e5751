//! Rebuilding a context COPY from its previous build: when a few files of a
//! large context changed, the step starts from the files its last build
//! wrote instead of copying everything again.
//!
//! After a COPY/ADD from the build context runs on the overlay snapshotter,
//! a record is kept under `<root>/builder/cache/rebase/<identity>`: the
//! committed snapshot it produced, that snapshot's parent, and every
//! destination path it wrote with the stamp of regular files (content
//! digest, mode, owner, mtime, size). The
//! identity is the step's cache key with the context's content left out
//! (same instruction, same options, same parent filesystem), so the next
//! build of the same step with changed files finds it.
//!
//! On a cache miss with a record whose snapshot still exists and whose
//! parent is the new step's parent (and not under `--no-cache`, which copies
//! everything afresh):
//! 1. the previous snapshot's own directory is cloned into the new active
//!    snapshot's upper directory with hard links (directories are made
//!    afresh with their owner, mode, xattrs and times; files, links, nodes and
//!    whiteouts are linked, never written in place: committed snapshots are
//!    immutable, overlayfs copies a lower file up before any change, and the
//!    copy replaces a file by unlinking it first);
//! 2. the copy runs as usual, except that a regular file the previous build
//!    wrote at the same destination from content with the same digest and
//!    with the same size, mode, owner and mtime (its record's stamp) is kept
//!    as it is (the record is only written for a copy whose every path is
//!    where it says, and the cloned snapshot is immutable);
//! 3. after unmounting, the destination paths the previous build wrote and
//!    this one did not (nor any of their descendants) are removed from the
//!    upper directory, so a base-image file the previous copy had replaced
//!    shows again.
//!
//! The result is the same tree a full copy gives. A record is only written
//! when every path the copy wrote is found under the same name in the upper
//! directory (no destination parent was a symlink leading elsewhere), and
//! only for copies of context paths (no ADD of archives or URLs, no inline
//! heredoc files). Records are a cache: a missing, unreadable or stale one
//! means a full copy.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use kiln_snapshotter::Snapshotter;

use super::file::{FileStamp, Produced};
use super::Output;
use crate::graph::{CopySource, FileAction, Op, Vertex};
use crate::solver::{cache_key, CacheKey};
use crate::Digest;

/// First line of a record file.
const MAGIC: &str = "kiln-rebase-v1";

/// The identity of a context COPY step: its cache key with the content left
/// out; `None` for steps this module does not handle.
pub fn identity(vertex: &Vertex, inputs: &[Output]) -> Option<CacheKey> {
    let Op::File(action) = &vertex.op else {
        return None;
    };
    if !eligible(action) || !matches!(inputs.get(action.from?), Some(Output::Context { .. })) {
        return None;
    }
    let keys: Vec<CacheKey> = inputs.iter().map(Output::key).collect();
    let any_content = Digest::of(b"kiln-rebase: the step's content, whatever it is");
    Some(cache_key(vertex, &keys, Some(any_content)))
}

/// Whether `action` only copies context paths (nothing fetched, extracted
/// or written inline).
fn eligible(action: &FileAction) -> bool {
    action.add.is_none()
        && action
            .sources
            .iter()
            .all(|s| matches!(s, CopySource::Path(_)))
}

/// What the previous build of a step wrote.
pub struct Record {
    /// Its committed snapshot (on the same parent as the new step's).
    pub snapshot: String,
    /// Every destination path it wrote, with the stamp of regular files
    /// copied from the context.
    pub paths: HashMap<String, Option<FileStamp>>,
}

fn record_path(root: &Path, identity: &CacheKey) -> PathBuf {
    crate::cache_store::cache_dir(root)
        .join("rebase")
        .join(identity.0.hex())
}

/// The record of `identity` if it is usable on top of `parent` (its
/// snapshot still exists and has the same parent).
pub fn load(
    root: &Path,
    snapshotter: &dyn Snapshotter,
    identity: &CacheKey,
    parent: Option<&str>,
) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(root, identity)).ok()?;
    let mut lines = text.split('\n');
    let mut head = lines.next()?.split(' ');
    if head.next()? != MAGIC {
        return None;
    }
    let snapshot = head.next()?.to_string();
    let recorded_parent = match head.next()? {
        "-" => None,
        p => Some(p.to_string()),
    };
    if recorded_parent.as_deref() != parent {
        return None;
    }
    let info = snapshotter.stat(&snapshot).ok()?;
    if info.parent.as_deref() != parent {
        return None;
    }
    let mut paths = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (stamp, path) = match line.strip_prefix("- ") {
            Some(path) => (None, path),
            None => {
                let mut f = line.splitn(8, ' ');
                let mut next = || f.next();
                let digest: Digest = next()?.parse().ok()?;
                let mode = u32::from_str_radix(next()?, 8).ok()?;
                let (uid, gid) = (next()?.parse().ok()?, next()?.parse().ok()?);
                let mtime = (next()?.parse().ok()?, next()?.parse().ok()?);
                let size = next()?.parse().ok()?;
                let stamp = FileStamp {
                    digest,
                    mode,
                    uid,
                    gid,
                    mtime,
                    size,
                };
                (Some(stamp), next()?)
            }
        };
        paths.insert(path.to_string(), stamp);
    }
    Some(Record { snapshot, paths })
}

/// Keeps what a copy into `upper` wrote as the record of `identity`, if
/// every written path is under its own name in `upper`: each directory
/// above a written path is a real directory there (a destination parent
/// that was a symlink in the base image would have sent the file elsewhere).
pub fn save(
    root: &Path,
    identity: &CacheKey,
    snapshot: &str,
    parent: Option<&str>,
    upper: &Path,
    produced: &Produced,
) -> std::io::Result<()> {
    let mut text = format!("{MAGIC} {snapshot} {}\n", parent.unwrap_or("-"));
    let mut dirs_seen: HashSet<&str> = HashSet::new();
    for (path, stamp) in produced {
        if path.is_empty() || path.contains('\n') {
            return Ok(()); // not a record this module can rely on
        }
        let mut p = path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !dirs_seen.insert(p) {
                break;
            }
            if !upper.join(p).symlink_metadata().is_ok_and(|m| m.is_dir()) {
                return Ok(());
            }
        }
        match stamp {
            None => text.push_str(&format!("- {path}\n")),
            Some(s) => text.push_str(&format!(
                "{} {:o} {} {} {} {} {} {path}\n",
                s.digest, s.mode, s.uid, s.gid, s.mtime.0, s.mtime.1, s.size
            )),
        }
    }
    crate::fsutil::replace(&record_path(root, identity), text.as_bytes())
}

/// The own directory of the committed overlay snapshot `name` (its top
/// layer), through a temporary view that is removed again: `None` on the
/// native snapshotter.
pub fn own_dir(snapshotter: &dyn Snapshotter, name: &str) -> Option<PathBuf> {
    let key = super::snapshot::unique("rebase-view");
    let mounts = snapshotter.view(&key, Some(name)).ok();
    let _ = snapshotter.remove(&key);
    let [mount] = mounts?.try_into().ok()?;
    let lowers = mount
        .options
        .iter()
        .find_map(|o| o.strip_prefix("lowerdir="));
    match (mount.kind.as_str(), lowers) {
        ("overlay", Some(l)) => l.split(':').next().map(PathBuf::from),
        // A snapshot without parent is viewed as a bind of its own dir.
        ("bind", _) if snapshotter.name() == "overlay" => Some(PathBuf::from(mount.source)),
        _ => None,
    }
}

/// Clones the tree `from` into the empty directory `to` with hard links
/// (see the module docs). The directories are made first, walking the tree
/// on this thread; the links (one `linkat` each, most of the cost) are then
/// made by [`CLONE_THREADS`] threads, a directory at a time.
pub fn clone_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut dirs = Vec::new();
    collect_dirs(from, to, PathBuf::new(), &mut dirs)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let link_all = || -> std::io::Result<()> {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(dir) = dirs.get(i) else {
                return Ok(());
            };
            link_files(from, to, dir)?;
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..CLONE_THREADS).map(|_| scope.spawn(link_all)).collect();
        let mut result = link_all();
        for helper in helpers {
            let joined = helper
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("clone thread panicked")));
            result = result.and(joined);
        }
        result
    })?;
    // Attributes and times last, innermost first: creating entries changes
    // a directory's times.
    let (src, dst) = (open_dir_path(from)?, open_dir_path(to)?);
    for dir in dirs.iter().rev() {
        let rel = if dir.rel.as_os_str().is_empty() {
            c".".to_owned()
        } else {
            CString::new(dir.rel.as_os_str().as_bytes()).map_err(std::io::Error::other)?
        };
        let (s, d) = (
            open_dir_at(src.as_fd(), &rel)?,
            open_dir_at(dst.as_fd(), &rel)?,
        );
        copy_attrs(s.as_fd(), d.as_fd())?;
        copy_times_at(src.as_fd(), dst.as_fd(), &rel)?;
    }
    Ok(())
}

/// Threads making hard links while cloning a tree.
const CLONE_THREADS: usize = 2;

/// One directory of a tree being cloned: its path below the root and the
/// names of its non-directory entries.
struct CloneDir {
    rel: PathBuf,
    others: Vec<std::ffi::OsString>,
}

/// Creates every directory of `from` below `to` (parents first) and lists
/// what each holds.
fn collect_dirs(
    from: &Path,
    to: &Path,
    rel: PathBuf,
    dirs: &mut Vec<CloneDir>,
) -> std::io::Result<()> {
    let mut others = Vec::new();
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(from.join(&rel))? {
        let entry = entry?;
        // The type comes from the directory listing (no stat per entry).
        if entry.file_type()?.is_dir() {
            subdirs.push(entry.file_name());
        } else {
            others.push(entry.file_name());
        }
    }
    dirs.push(CloneDir {
        rel: rel.clone(),
        others,
    });
    for name in subdirs {
        let child = rel.join(&name);
        std::fs::create_dir(to.join(&child))?;
        collect_dirs(from, to, child, dirs)?;
    }
    Ok(())
}

/// Hard-links the non-directory entries of one directory.
fn link_files(from: &Path, to: &Path, dir: &CloneDir) -> std::io::Result<()> {
    if dir.others.is_empty() {
        return Ok(());
    }
    let src = open_dir_path(&from.join(&dir.rel))?;
    let dst = open_dir_path(&to.join(&dir.rel))?;
    for name in &dir.others {
        let name = CString::new(name.as_bytes()).map_err(std::io::Error::other)?;
        // Flags 0: a symlink is linked itself, never followed.
        // SAFETY: valid descriptors and names.
        check(unsafe {
            libc::linkat(
                src.as_raw_fd(),
                name.as_ptr(),
                dst.as_raw_fd(),
                name.as_ptr(),
                0,
            )
        })?;
    }
    Ok(())
}

fn check(rc: libc::c_int) -> std::io::Result<libc::c_int> {
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc)
}

fn open_dir_path(path: &Path) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    open_dir_at_raw(libc::AT_FDCWD, &c)
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &CString) -> std::io::Result<OwnedFd> {
    open_dir_at_raw(dir.as_raw_fd(), name)
}

fn open_dir_at_raw(dir: RawFd, name: &CString) -> std::io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid descriptor and name; the result is owned here.
    let fd = check(unsafe { libc::openat(dir, name.as_ptr(), flags) })?;
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: BorrowedFd<'_>, name: &std::ffi::CStr) -> std::io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointers; filled on success.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded.
    Ok(unsafe { st.assume_init() })
}

fn fstat(fd: BorrowedFd<'_>) -> std::io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid pointer; filled on success.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded.
    Ok(unsafe { st.assume_init() })
}

/// Owner, mode and every xattr (overlayfs's opaque marker included) of the
/// directory `src` onto `dst`.
fn copy_attrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> std::io::Result<()> {
    let st = fstat(src)?;
    // SAFETY: valid descriptors.
    check(unsafe { libc::fchown(dst.as_raw_fd(), st.st_uid, st.st_gid) })?;
    check(unsafe { libc::fchmod(dst.as_raw_fd(), st.st_mode & 0o7777) })?;
    for name in list_xattrs(src)? {
        let value = get_xattr(src, &name)?;
        // SAFETY: valid descriptor, C string and a buffer of the given length.
        check(unsafe {
            libc::fsetxattr(
                dst.as_raw_fd(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        })?;
    }
    Ok(())
}

/// The access and modification times of `rel` below `src` onto `rel`
/// below `dst`.
fn copy_times_at(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    rel: &std::ffi::CStr,
) -> std::io::Result<()> {
    let st = stat_at(src, rel)?;
    let times = [
        libc::timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec,
        },
        libc::timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec,
        },
    ];
    // SAFETY: a valid descriptor and path, two timespecs.
    check(unsafe {
        libc::utimensat(
            dst.as_raw_fd(),
            rel.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

/// Sets the access and modification times of `path` to those in `md`.
fn set_times(path: &Path, md: &std::fs::Metadata) -> std::io::Result<()> {
    let times = [
        libc::timespec {
            tv_sec: md.atime(),
            tv_nsec: md.atime_nsec(),
        },
        libc::timespec {
            tv_sec: md.mtime(),
            tv_nsec: md.mtime_nsec(),
        },
    ];
    let c = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a valid path and two timespecs.
    check(unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

fn list_xattrs(fd: BorrowedFd<'_>) -> std::io::Result<Vec<CString>> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            break;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            _ => return Err(e),
        }
    }
    Ok(buf
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

fn get_xattr(fd: BorrowedFd<'_>, name: &CString) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe {
            libc::fgetxattr(
                fd.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) || buf.len() > 1 << 20 {
            return Err(e);
        }
        buf.resize(buf.len() * 4, 0);
    }
}

/// Removes from `upper` the paths `previous` wrote that `produced` did not
/// write, keeping ancestors of written paths.
pub fn remove_stale(
    upper: &Path,
    previous: &HashMap<String, Option<FileStamp>>,
    produced: &Produced,
) -> std::io::Result<()> {
    let mut keep: HashSet<&str> = HashSet::with_capacity(produced.len() * 2);
    for (path, _) in produced {
        let mut p = path.as_str();
        while keep.insert(p) {
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
    }
    let mut stale: Vec<&String> = previous
        .keys()
        .filter(|p| !keep.contains(p.as_str()))
        .collect();
    // Parents first: removing a directory removes what it holds.
    stale.sort();
    for path in stale {
        let disk = upper.join(path);
        let md = match disk.symlink_metadata() {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        // The parent keeps the times the copy gave it.
        let parent = disk.parent().unwrap_or(upper).to_path_buf();
        let parent_times = parent.symlink_metadata()?;
        if md.is_dir() {
            std::fs::remove_dir_all(&disk)?;
        } else {
            std::fs::remove_file(&disk)?;
        }
        set_times(&parent, &parent_times)?;
    }
    Ok(())
}
