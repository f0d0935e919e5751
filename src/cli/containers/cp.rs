//! `kiln cp`: copies files between a container and the host, with
//! `docker cp`'s path rules.
//!
//! One side is `CONTAINER:PATH` (a path relative to the container's `/`).
//! A running container's files are reached through `/proc/<init pid>/root`
//! (which also shows its volumes and binds); a stopped one's root filesystem
//! is mounted in a private mount namespace of this process, with its volumes
//! and binds, and vanishes when it exits.
//!
//! Paths inside the container are resolved as the container would resolve
//! them — `openat2(RESOLVE_IN_ROOT)` — so a symlink in the container (even an
//! absolute one, or `..`) can never lead outside its root. The copy itself
//! walks directories by descriptor (`openat` with `O_NOFOLLOW` relative to
//! the parent's descriptor), so swapping a directory for a symlink during
//! the copy cannot redirect it either.
//!
//! Docker's rules: a file onto a missing path creates it (its directory must
//! exist), onto a file overwrites it, onto a directory copies into it; a
//! directory onto a missing path creates it with the source's content, onto
//! a directory copies the directory into it, or only its content when the
//! source ends in `/.`; a directory onto a file is an error. Symlinks are
//! copied as symlinks; `-L` follows one named as the source. Files copied
//! into a container belong to root unless `-a` keeps their uid/gid; files
//! copied out belong to the caller. Permissions and modification times are
//! kept.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_runtime::container::{Container, ContainerStore, Status};
use kiln_runtime::{lifecycle, rootfs};

use super::Exit;
use crate::cli::display::human_size;

/// `kiln cp [-a] [-L] SRC DEST`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// CONTAINER:SRC_PATH or a host path.
    src: String,
    /// CONTAINER:DEST_PATH or a host path.
    dest: String,
}

/// One side of the copy.
enum Side {
    Host(String),
    Container { name: String, path: String },
}

/// Docker's `splitCpArg`: an absolute path, a path starting with `.`, or one
/// without `:` is on the host.
fn parse_side(arg: &str) -> Side {
    if arg.starts_with('/') {
        return Side::Host(arg.to_string());
    }
    match arg.split_once(':') {
        Some((name, path)) if !name.starts_with('.') && !name.is_empty() => Side::Container {
            name: name.to_string(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
        },
        _ => Side::Host(arg.to_string()),
    }
}

/// A tree to resolve paths in: the host as it is, or a container's root.
struct Tree {
    /// Directory paths are resolved from (`AT_FDCWD` for the host).
    base: RawFd,
    /// Keeps a container root open.
    _root: Option<OwnedFd>,
    /// Resolve with `RESOLVE_IN_ROOT` (container).
    contained: bool,
}

impl Tree {
    fn host() -> Tree {
        Tree {
            base: libc::AT_FDCWD,
            _root: None,
            contained: false,
        }
    }

    fn container(root: &Path) -> io::Result<Tree> {
        let root = open_plain(root, libc::O_PATH | libc::O_DIRECTORY)?;
        Ok(Tree {
            base: root.as_raw_fd(),
            _root: Some(root),
            contained: true,
        })
    }

    /// Opens `path` as an `O_PATH` descriptor (plus `flags`); the last
    /// component is followed only with `follow`.
    fn open(&self, path: &str, flags: i32, follow: bool) -> io::Result<OwnedFd> {
        let path = if path.is_empty() { "." } else { path };
        let path = if self.contained && path.starts_with('/') {
            &path[1..]
        } else {
            path
        };
        let path = if path.is_empty() { "." } else { path };
        let mut flags = flags | libc::O_PATH;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        if self.contained {
            return kiln_inroot::openat2(self.base, path, flags, kiln_inroot::Resolve::InRoot);
        }
        open_host(&cstring(path.as_bytes()).map_err(io::Error::other)?, flags)
    }
}

/// Options of one copy.
struct Copy {
    /// Owner for created entries: `None` keeps what the process creates.
    owner: Owner,
    /// Bytes of file content copied (for the summary line).
    bytes: u64,
}

#[derive(Clone, Copy)]
enum Owner {
    /// Leave as created (the caller).
    Caller,
    /// Root (Docker's default into a container).
    Root,
    /// The source's uid/gid (`-a`).
    Keep,
}

/// Runs `kiln cp`.
pub fn cp(root: &Path, args: CpArgs) -> Result<()> {
    let (src, dest) = (parse_side(&args.src), parse_side(&args.dest));
    let (name, into_container) = match (&src, &dest) {
        (Side::Container { .. }, Side::Container { .. }) => {
            return Err(Exit::new(1, "copying between containers is not supported").into())
        }
        (Side::Host(_), Side::Host(_)) => {
            return Err(Exit::new(1, "must specify at least one container source").into())
        }
        (Side::Container { name, .. }, _) => (name.clone(), false),
        (_, Side::Container { name, .. }) => (name.clone(), true),
    };
    if matches!((&src, &dest), (Side::Host(p), _) | (_, Side::Host(p)) if p == "-") {
        return Err(Exit::new(1, "copying to or from a tar stream (-) is not supported").into());
    }
    let store = ContainerStore::open(root)?;
    let mut container = store
        .find(&name)
        .map_err(|e| Exit::new(1, &e.to_string()))?;
    lifecycle::reconcile(&store, &mut container);
    let _lock;
    let root_dir = if matches!(container.state.status, Status::Running | Status::Paused)
        && container.state.pid != 0
    {
        Path::new("/proc")
            .join(container.state.pid.to_string())
            .join("root")
    } else {
        _lock = store
            .lock(&container.record.id)
            .map_err(|e| Exit::new(1, &e.to_string()))?;
        mount_stopped(root, &store, &container).map_err(|e| Exit::new(1, &e))?
    };
    let tree = Tree::container(&root_dir)
        .map_err(|e| Exit::new(1, &format!("open root of container {name}: {e}")))?;
    let host = Tree::host();
    let mut copy = Copy {
        owner: match (into_container, args.archive) {
            (false, false) => Owner::Caller,
            (true, false) => Owner::Root,
            (_, true) => Owner::Keep,
        },
        bytes: 0,
    };
    let (src_path, dest_path) = (side_path(&src), side_path(&dest));
    let (src_tree, dest_tree) = if into_container {
        (&host, &tree)
    } else {
        (&tree, &host)
    };
    let outcome = run_copy(
        src_tree,
        src_path,
        dest_tree,
        dest_path,
        args.follow_link,
        &mut copy,
    );
    outcome.map_err(|message| match &src {
        Side::Container { path, .. } if message == NOT_FOUND => Exit::new(
            1,
            &format!("Could not find the file {path} in container {name}"),
        ),
        _ if message == NOT_FOUND => {
            Exit::new(1, &format!("lstat {src_path}: no such file or directory"))
        }
        _ => Exit::new(1, &message),
    })?;
    if !args.quiet {
        let shown = match &dest {
            Side::Container { name, path } => format!("{name}:{path}"),
            Side::Host(path) => path.clone(),
        };
        eprintln!("Successfully copied {} to {shown}", human_size(copy.bytes));
    }
    Ok(())
}

fn side_path(side: &Side) -> &str {
    match side {
        Side::Host(path) | Side::Container { path, .. } => path,
    }
}

const NOT_FOUND: &str = "source not found";

/// Applies Docker's path rules and copies.
fn run_copy(
    src_tree: &Tree,
    src: &str,
    dest_tree: &Tree,
    dest: &str,
    follow: bool,
    copy: &mut Copy,
) -> Result<(), String> {
    let contents_only = src == "." || src.ends_with("/.");
    let follow = follow || src.ends_with('/') || contents_only;
    let src_fd = src_tree
        .open(src, 0, follow)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => NOT_FOUND.to_string(),
            _ => format!("{src}: {e}"),
        })?;
    let src_stat = fstat(&src_fd).map_err(|e| format!("stat {src}: {e}"))?;
    let src_is_dir = kind(&src_stat) == libc::S_IFDIR;
    if (src.ends_with('/') || contents_only) && !src_is_dir {
        return Err(format!("{src}: not a directory"));
    }
    let src_name = base_name(src);
    match dest_tree.open(dest, 0, true) {
        Ok(dest_fd) => {
            let dest_is_dir =
                kind(&fstat(&dest_fd).map_err(|e| format!("stat {dest}: {e}"))?) == libc::S_IFDIR;
            if dest_is_dir {
                let dir = dest_tree
                    .open(dest, libc::O_DIRECTORY, true)
                    .map_err(|e| format!("{dest}: {e}"))?;
                if src_is_dir && contents_only {
                    return copy_children(&src_fd, &dir, copy);
                }
                let name = if src_name.is_empty() { "." } else { src_name };
                if name == "." {
                    return copy_children(&src_fd, &dir, copy);
                }
                return copy_entry(&src_fd, &src_stat, &dir, &cstring(name.as_bytes())?, copy);
            }
            if src_is_dir {
                return Err(format!("cannot copy directory to file {dest}"));
            }
            if dest.ends_with('/') {
                return Err(format!("{dest}: not a directory"));
            }
            let (parent, name) = parent_of(dest_tree, dest)?;
            copy_entry(&src_fd, &src_stat, &parent, &name, copy)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if dest.ends_with('/') && !src_is_dir {
                return Err(format!("destination directory {dest} does not exist"));
            }
            let (parent, name) = parent_of(dest_tree, dest)?;
            if src_is_dir {
                make_dir(&parent, &name, &src_stat, copy)?;
                let dir = openat(
                    &parent,
                    &name,
                    libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY,
                )
                .map_err(|e| format!("{dest}: {e}"))?;
                copy_children(&src_fd, &dir, copy)?;
                return finish(&dir, None, &src_stat, copy).map_err(|e| format!("{dest}: {e}"));
            }
            copy_entry(&src_fd, &src_stat, &parent, &name, copy)
        }
        Err(e) => Err(format!("{dest}: {e}")),
    }
}

/// The parent directory (opened) and last component of `path`.
fn parent_of(tree: &Tree, path: &str) -> Result<(OwnedFd, CString), String> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => (".", trimmed),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("{path}: invalid destination"));
    }
    let dir = tree
        .open(parent, libc::O_DIRECTORY, true)
        .map_err(|e| format!("destination directory {parent}: {e}"))?;
    Ok((dir, cstring(name.as_bytes())?))
}

/// The last component of `path` as written (`""` for `/`).
fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches("/.").trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or("")
}

/// Copies the entry `src` (an `O_PATH` descriptor, stat `st`) to `name` in
/// the directory `dir`.
fn copy_entry(
    src: &OwnedFd,
    st: &libc::stat,
    dir: &OwnedFd,
    name: &CStr,
    copy: &mut Copy,
) -> Result<(), String> {
    let shown = name.to_string_lossy();
    let fail = |e: io::Error| format!("{shown}: {e}");
    match kind(st) {
        libc::S_IFREG => {
            let mut input = std::fs::File::from(reopen(src, libc::O_RDONLY).map_err(fail)?);
            let out = create_file(dir, name).map_err(fail)?;
            let mut output = std::fs::File::from(out);
            copy.bytes += io::copy(&mut input, &mut output).map_err(fail)?;
            finish(&output.into(), None, st, copy).map_err(fail)
        }
        libc::S_IFDIR => {
            make_dir(dir, name, st, copy)?;
            let target = openat(
                dir,
                name,
                libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY,
            )
            .map_err(fail)?;
            copy_children(src, &target, copy)?;
            finish(&target, None, st, copy).map_err(fail)
        }
        libc::S_IFLNK => {
            let target = readlink(src).map_err(fail)?;
            replace_non_dir(dir, name, |d, n| {
                // SAFETY: C strings and a directory descriptor we own.
                check(unsafe { libc::symlinkat(target.as_ptr(), d, n.as_ptr()) })
            })
            .map_err(fail)?;
            finish(dir, Some(name), st, copy).map_err(fail)
        }
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
            replace_non_dir(dir, name, |d, n| {
                // SAFETY: mknodat with a name and a directory descriptor we own.
                check(unsafe { libc::mknodat(d, n.as_ptr(), st.st_mode, st.st_rdev) })
            })
            .map_err(fail)?;
            let node = openat(dir, name, libc::O_PATH | libc::O_NOFOLLOW).map_err(fail)?;
            finish(&node, None, st, copy).map_err(fail)
        }
        _ => Ok(()), // sockets are not copied (tar skips them too)
    }
}

/// Copies every entry of the directory `src` into the directory `dest`.
fn copy_children(src: &OwnedFd, dest: &OwnedFd, copy: &mut Copy) -> Result<(), String> {
    let dir = reopen(src, libc::O_RDONLY | libc::O_DIRECTORY).map_err(|e| e.to_string())?;
    let entries = std::fs::read_dir(fd_path(&dir)).map_err(|e| e.to_string())?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = cstring(entry.file_name().as_bytes())?;
        let child = match openat(&dir, &name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(child) => child,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue, // gone meanwhile
            Err(e) => return Err(format!("{}: {e}", name.to_string_lossy())),
        };
        let st = fstat(&child).map_err(|e| e.to_string())?;
        copy_entry(&child, &st, dest, &name, copy)?;
    }
    Ok(())
}

/// Makes directory `name` in `dir` (an existing directory is reused; an
/// existing non-directory is an error, as Docker's).
fn make_dir(dir: &OwnedFd, name: &CStr, st: &libc::stat, _copy: &Copy) -> Result<(), String> {
    // SAFETY: mkdirat with a name and a directory descriptor we own.
    let rc = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o700 | (st.st_mode & 0o777)) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EEXIST) {
        return Err(format!("{}: {err}", name.to_string_lossy()));
    }
    match openat(
        dir,
        name,
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
    ) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "cannot overwrite non-directory {} with directory",
            name.to_string_lossy()
        )),
    }
}

/// Creates (or truncates) the regular file `name` in `dir`, never following
/// a symlink: one in the way is replaced.
fn create_file(dir: &OwnedFd, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_WRONLY
        | libc::O_CREAT
        | libc::O_TRUNC
        | libc::O_NOFOLLOW
        | libc::O_CLOEXEC
        | libc::O_NONBLOCK;
    // SAFETY: openat with a name and a directory descriptor we own.
    let open = || unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, 0o600) };
    let mut fd = open();
    if fd < 0 {
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENXIO) | Some(libc::ETXTBSY) => {
                // SAFETY: as above.
                check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) })?;
                fd = open();
            }
            Some(libc::EISDIR) => {
                return Err(io::Error::other(
                    "cannot overwrite directory with non-directory",
                ))
            }
            _ => return Err(err),
        }
    }
    check(fd)?;
    // SAFETY: a descriptor just opened, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat(&fd)?;
    if kind(&st) != libc::S_IFREG {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(fd)
}

/// Runs `make`; when the name exists (and is not a directory), removes it and
/// runs `make` again.
fn replace_non_dir(
    dir: &OwnedFd,
    name: &CStr,
    make: impl Fn(RawFd, &CStr) -> io::Result<()>,
) -> io::Result<()> {
    match make(dir.as_raw_fd(), name) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            // SAFETY: unlinkat with a name and a directory descriptor we own.
            check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) })?;
            make(dir.as_raw_fd(), name)
        }
        other => other,
    }
}

/// Owner, mode and times of a created entry: `fd` itself, or — for a
/// symlink — `name` in the directory `fd`.
fn finish(fd: &OwnedFd, name: Option<&CStr>, st: &libc::stat, copy: &Copy) -> io::Result<()> {
    let owner = match copy.owner {
        Owner::Caller => None,
        Owner::Root => Some((0, 0)),
        Owner::Keep => Some((st.st_uid, st.st_gid)),
    };
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
    let empty = c"";
    let (path, flags) = match name {
        Some(name) => (name, libc::AT_SYMLINK_NOFOLLOW),
        None => (empty, libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW),
    };
    // SAFETY: *at calls on descriptors and names we own.
    unsafe {
        if let Some((uid, gid)) = owner {
            check(libc::fchownat(
                fd.as_raw_fd(),
                path.as_ptr(),
                uid,
                gid,
                flags,
            ))?;
        }
        if kind(st) != libc::S_IFLNK {
            // fchmod does not work on O_PATH descriptors; the /proc path does.
            let proc_path =
                cstring(fd_path(fd).as_os_str().as_bytes()).map_err(io::Error::other)?;
            check(libc::chmod(proc_path.as_ptr(), st.st_mode & 0o7777))?;
        }
        let time_flags = if name.is_some() {
            libc::AT_SYMLINK_NOFOLLOW
        } else {
            libc::AT_EMPTY_PATH
        };
        let _ = libc::utimensat(fd.as_raw_fd(), path.as_ptr(), times.as_ptr(), time_flags);
        if name.is_none() {
            // utimensat ignores AT_EMPTY_PATH on some kernels: use the /proc path.
            let proc_path =
                cstring(fd_path(fd).as_os_str().as_bytes()).map_err(io::Error::other)?;
            let _ = libc::utimensat(libc::AT_FDCWD, proc_path.as_ptr(), times.as_ptr(), 0);
        }
    }
    Ok(())
}

/// Mounts a stopped container's root filesystem (with its volumes and binds)
/// in a private mount namespace of this process; returns where.
fn mount_stopped(
    root: &Path,
    store: &ContainerStore,
    container: &Container,
) -> Result<std::path::PathBuf, String> {
    let record = &container.record;
    rootfs::enter_private_mount_namespace().map_err(|e| format!("private mount namespace: {e}"))?;
    let snapshotter =
        rootfs::open_snapshotter(root, Some(&record.snapshotter)).map_err(|e| e.to_string())?;
    let target = store.dir(&record.id).join("rootfs");
    rootfs::mount_snapshot(snapshotter.as_ref(), &record.snapshot_key, &target)
        .map_err(|e| format!("mount the root filesystem of container {}: {e}", record.id))?;
    let tree = Tree::container(&target).map_err(|e| e.to_string())?;
    for mount in record
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" || m.kind == "bind")
    {
        let Ok(at) = tree.open(&mount.destination, 0, true) else {
            continue;
        };
        let source = cstring(mount.source.as_bytes())?;
        let at_path = cstring(fd_path(&at).as_os_str().as_bytes())?;
        // SAFETY: mount with C strings we own.
        unsafe {
            let flags = libc::MS_BIND | libc::MS_REC;
            if libc::mount(
                source.as_ptr(),
                at_path.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) != 0
            {
                return Err(format!(
                    "mount {} on {}: {}",
                    mount.source,
                    mount.destination,
                    io::Error::last_os_error()
                ));
            }
            if !mount.rw {
                let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                libc::mount(
                    std::ptr::null(),
                    at_path.as_ptr(),
                    std::ptr::null(),
                    flags,
                    std::ptr::null(),
                );
            }
        }
    }
    Ok(target)
}

// ---- small system-call wrappers ----

fn cstring(bytes: &[u8]) -> Result<CString, String> {
    CString::new(bytes)
        .map_err(|_| format!("path contains a NUL byte: {:?}", OsStr::from_bytes(bytes)))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `open(2)` of a host path the user named, resolved by the host.
fn open_host(path: &CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: a valid NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    check(fd)?;
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn open_plain(path: &Path, flags: i32) -> io::Result<OwnedFd> {
    let path = cstring(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    open_host(&path, flags)
}

fn openat(dir: &OwnedFd, name: &CStr, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: openat with a name and a directory descriptor we own.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    check(fd)?;
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the very inode an `O_PATH` descriptor names, for reading.
fn reopen(fd: &OwnedFd, flags: i32) -> io::Result<OwnedFd> {
    open_plain(&fd_path(fd), flags)
}

fn fd_path(fd: &OwnedFd) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            &mut st,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    check(rc)?;
    Ok(st)
}

fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

fn readlink(fd: &OwnedFd) -> io::Result<CString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat on an O_PATH symlink descriptor with an empty name.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    CString::new(buf).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_follow_dockers_split() {
        assert!(matches!(parse_side("/abs:x"), Side::Host(_)));
        assert!(matches!(parse_side("./a:b"), Side::Host(_)));
        assert!(matches!(parse_side("file"), Side::Host(_)));
        match parse_side("web:/etc/hostname") {
            Side::Container { name, path } => {
                assert_eq!((name.as_str(), path.as_str()), ("web", "/etc/hostname"))
            }
            Side::Host(_) => panic!("container side expected"),
        }
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("/a/b/."), "b");
        assert_eq!(base_name("/"), "");
    }

    #[test]
    fn resolving_in_root_cannot_escape() {
        let tmp = std::env::temp_dir().join(format!("kiln-cp-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("etc")).unwrap();
        std::fs::write(tmp.join("etc/hostname"), "inside\n").unwrap();
        std::os::unix::fs::symlink("/", tmp.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc", tmp.join("up")).unwrap();
        let tree = Tree::container(&tmp).unwrap();
        for path in ["/escape/etc/hostname", "up/hostname"] {
            let fd = tree.open(path, 0, true).unwrap();
            let text = std::fs::read_to_string(fd_path(&fd)).unwrap();
            assert_eq!(text, "inside\n", "{path}");
        }
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
