//! The destination side: creating entries inside a root directory, resolving
//! every existing path chroot-style (`openat2(RESOLVE_IN_ROOT)`: symlinks in
//! the destination are followed but never leave the root), and creating the
//! last component with `*at` calls that never follow it.
//!
//! Rules (BuildKit's `fsutil` copy): missing parents are created 0755 with the
//! `--chown` owner when given (else root), following symlinks inside the
//! root, dangling ones included (`/hl -> /nonexist`: `/hl/x` creates
//! `/nonexist/x`; see `resolve`); an existing non-directory is replaced; an
//! existing directory under a directory entry is merged (its attributes
//! updated), and so is a directory entry over a link (written through it,
//! its target created when missing); a file over an existing directory is
//! an error (`cannot replace to directory ... with file`) except in archives
//! ([`Writer::replace_dirs`], Docker's rule); directory mtimes are set after
//! all their contents.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use super::resolve;
use super::sys::{self, Resolve, Time};
use super::FileError;

/// What an entry is, with what it needs.
pub(super) enum Body<'a> {
    /// A directory.
    Dir,
    /// A regular file with this content.
    File(&'a mut dyn Read),
    /// A symlink to this target (stored as is).
    Symlink(String),
    /// A hard link to this earlier entry (a root-relative path).
    HardLink(String),
    /// A fifo or device node (`st_mode` type bits and `rdev`).
    Node(u32, u64),
}

/// The attributes an entry gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time.
    pub atime: Time,
    /// Modification time.
    pub mtime: Time,
}

/// Writes entries below one root directory.
pub(super) struct Writer {
    root: OwnedFd,
    /// How the error messages name the root (`""` for the stage root).
    shown: String,
    /// Owner of directories created on the way.
    pub parent_owner: (u32, u32),
    /// A non-directory replaces an existing directory (with all below it)
    /// instead of failing: archive extraction, as Docker's untar ("remove
    /// and replace, unless both are directories"); COPY keeps fsutil's
    /// "cannot replace to directory … with file".
    pub replace_dirs: bool,
    /// Directory mtimes to set at the end: (path, atime, mtime).
    dir_times: Vec<(String, Time, Time)>,
    /// The last parent directory opened, by path.
    cached: Option<(String, OwnedFd)>,
}

/// `a/b` -> (`a`, `b`); `b` -> (``, `b`).
pub(super) fn split(rel: &str) -> (&str, &str) {
    match rel.rfind('/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => ("", rel),
    }
}

/// `dir/name` for a root-relative `dir` (`""` is the root).
pub(super) fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

impl Writer {
    /// A writer into the directory `root`; `shown` prefixes paths in errors.
    pub(super) fn open(root: &Path, shown: &str) -> Result<Writer, FileError> {
        let fd = sys::open_root(root)
            .map_err(|e| FileError::io("open destination", root.display(), e))?;
        Ok(Writer::from_fd(fd, shown))
    }

    /// A writer into an open directory.
    pub(super) fn from_fd(root: OwnedFd, shown: &str) -> Writer {
        Writer {
            root,
            shown: shown.trim_end_matches('/').to_string(),
            parent_owner: (0, 0),
            replace_dirs: false,
            dir_times: Vec::new(),
            cached: None,
        }
    }

    /// The root directory's descriptor.
    pub(super) fn root_fd(&self) -> i32 {
        self.root.as_raw_fd()
    }

    /// The path as shown to users.
    pub(super) fn show(&self, rel: &str) -> String {
        format!("{}/{}", self.shown, rel)
    }

    /// Whether `rel` resolves (following symlinks in the root) to a directory.
    pub(super) fn is_dir(&self, rel: &str) -> bool {
        sys::open(
            self.root.as_raw_fd(),
            rel,
            libc::O_PATH | libc::O_DIRECTORY,
            Resolve::InRoot,
        )
        .is_ok()
    }

    /// Opens directory `rel`, creating what is missing (0755,
    /// [`Writer::parent_owner`]); symlinks on the way are followed inside
    /// the root, dangling ones too (see `resolve`).
    pub(super) fn mkdir_all(&mut self, rel: &str) -> Result<OwnedFd, FileError> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        if let Ok(fd) = sys::open(self.root.as_raw_fd(), rel, flags, Resolve::InRoot) {
            return Ok(fd);
        }
        let (uid, gid) = self.parent_owner;
        let mut created = |dir: i32, name: &str| -> io::Result<()> {
            sys::chown_at(dir, name, uid, gid)?;
            sys::chmod_at(dir, name, 0o755)
        };
        resolve::mkdir_all(self.root.as_raw_fd(), rel, &mut created).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::ENOTDIR) => {
                    FileError(format!("cannot copy to non-directory: {}", self.show(rel)))
                }
                _ => FileError::io("create directory", self.show(rel), e),
            }
        })
    }

    /// The parent directory of `rel`, created if missing, cached between calls.
    fn parent(&mut self, dir: &str) -> Result<(), FileError> {
        if self.cached.as_ref().is_some_and(|(p, _)| p == dir) {
            return Ok(());
        }
        let fd = self.mkdir_all(dir)?;
        self.cached = Some((dir.to_string(), fd));
        Ok(())
    }

    /// Creates (or replaces, or merges into) the entry `rel` with `meta`.
    /// `keep_meta` leaves an existing directory's attributes alone.
    pub(super) fn put(
        &mut self,
        rel: &str,
        meta: &Meta,
        body: Body<'_>,
        keep_meta: bool,
    ) -> Result<(), FileError> {
        if rel.is_empty() {
            return self.put_root(meta, &body, keep_meta);
        }
        let (dir, name) = split(rel);
        self.parent(dir)?;
        let p = self
            .cached
            .as_ref()
            .map(|(_, fd)| fd.as_raw_fd())
            .unwrap_or(-1);
        let shown = self.show(rel);
        let existing = sys::lstat_at(p, name).map_err(|e| FileError::io("stat", &shown, e))?;
        let existing_kind = existing.map(|st| st.st_mode & libc::S_IFMT);
        if let Body::Dir = body {
            match existing_kind {
                Some(libc::S_IFDIR) if keep_meta => return Ok(()),
                Some(libc::S_IFDIR) => {}
                Some(libc::S_IFLNK) => {
                    // An existing link to a directory (merged /usr): write
                    // through it; a dangling one: create its target in the
                    // root and write through it (BuildKit).
                    self.mkdir_all(rel)?;
                    return Ok(());
                }
                Some(_) => sys::unlink_at(p, name, false)
                    .map_err(|e| FileError::io("replace", &shown, e))?,
                None => {}
            }
            if existing_kind != Some(libc::S_IFDIR) {
                sys::mkdir_at(p, name, 0o700)
                    .map_err(|e| FileError::io("create directory", &shown, e))?;
            }
            self.attrs(p, name, rel, meta, true)?;
            self.dir_times
                .push((rel.to_string(), meta.atime, meta.mtime));
            return Ok(());
        }
        match existing_kind {
            Some(libc::S_IFDIR) if self.replace_dirs => {
                resolve::remove_tree(p, name).map_err(|e| FileError::io("replace", &shown, e))?
            }
            Some(libc::S_IFDIR) => {
                return Err(FileError(format!(
                    "cannot replace to directory {shown} with file"
                )))
            }
            Some(_) => {
                sys::unlink_at(p, name, false).map_err(|e| FileError::io("replace", &shown, e))?
            }
            None => {}
        }
        let chmod = match body {
            Body::Dir => unreachable_dir(),
            Body::File(reader) => {
                let mut file =
                    sys::create_at(p, name).map_err(|e| FileError::io("create", &shown, e))?;
                io::copy(reader, &mut file).map_err(|e| FileError::io("write", &shown, e))?;
                true
            }
            Body::Symlink(target) => {
                sys::symlink_at(&target, p, name)
                    .map_err(|e| FileError::io("create symlink", &shown, e))?;
                false
            }
            Body::HardLink(first) => {
                let (fdir, fname) = split(&first);
                let from = sys::open(
                    self.root.as_raw_fd(),
                    fdir,
                    libc::O_PATH | libc::O_DIRECTORY,
                    Resolve::InRoot,
                )
                .map_err(|e| FileError::io("open", self.show(fdir), e))?;
                sys::link_at(from.as_raw_fd(), fname, p, name)
                    .map_err(|e| FileError::io("link", &shown, e))?;
                return Ok(());
            }
            Body::Node(kind, rdev) => {
                sys::mknod_at(p, name, kind | 0o600, rdev)
                    .map_err(|e| FileError::io("create node", &shown, e))?;
                true
            }
        };
        self.attrs(p, name, rel, meta, chmod)?;
        sys::utimes_at(p, name, meta.atime, meta.mtime)
            .map_err(|e| FileError::io("set times", &shown, e))
    }

    /// A directory entry naming the root itself: attributes only.
    fn put_root(&mut self, meta: &Meta, body: &Body<'_>, keep_meta: bool) -> Result<(), FileError> {
        if !matches!(body, Body::Dir) {
            return Err(FileError(format!(
                "cannot replace to directory {}/ with file",
                self.shown
            )));
        }
        if keep_meta {
            return Ok(());
        }
        let root = self.root.as_raw_fd();
        self.attrs(root, ".", "", meta, true)?;
        self.dir_times.push((String::new(), meta.atime, meta.mtime));
        Ok(())
    }

    /// Owner, then mode (so setuid bits survive the chown).
    fn attrs(
        &self,
        dir: i32,
        name: &str,
        rel: &str,
        meta: &Meta,
        chmod: bool,
    ) -> Result<(), FileError> {
        sys::chown_at(dir, name, meta.uid, meta.gid)
            .map_err(|e| FileError::io("chown", self.show(rel), e))?;
        if chmod {
            sys::chmod_at(dir, name, meta.mode & 0o7777)
                .map_err(|e| FileError::io("chmod", self.show(rel), e))?;
        }
        Ok(())
    }

    /// Sets the directory times recorded by [`Writer::put`], deepest first.
    pub(super) fn finish(mut self) -> Result<(), FileError> {
        self.cached = None;
        let mut times = std::mem::take(&mut self.dir_times);
        times.sort_by_key(|(p, _, _)| {
            std::cmp::Reverse(p.matches('/').count() + usize::from(!p.is_empty()))
        });
        for (rel, atime, mtime) in times {
            let (dir, name) = split(&rel);
            let (dir, name) = if rel.is_empty() {
                ("", ".")
            } else {
                (dir, name)
            };
            let fd = sys::open(
                self.root.as_raw_fd(),
                dir,
                libc::O_PATH | libc::O_DIRECTORY,
                Resolve::InRoot,
            )
            .map_err(|e| FileError::io("open", self.show(dir), e))?;
            sys::utimes_at(fd.as_raw_fd(), name, atime, mtime)
                .map_err(|e| FileError::io("set times", self.show(&rel), e))?;
        }
        Ok(())
    }
}

fn unreachable_dir() -> bool {
    // Directories return earlier in `put`.
    false
}
