//! Docker's path rules and the copy itself, walking both trees by
//! descriptor: every entry is opened with `O_NOFOLLOW` relative to its
//! parent's descriptor, so a directory swapped for a symlink during the copy
//! cannot redirect it.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use super::sys::{
    chmod, cstring, fchownat, fd_path, fstat, kind, mkdirat, mknodat, openat, openat_create,
    readlink, reopen, symlinkat, unlinkat, utimensat,
};
use super::tree::Tree;
use super::{CopyError, Owner};

/// What one copy is doing: whose files it creates, how much it copied.
pub(crate) struct Copy {
    /// Owner for created entries.
    pub(crate) owner: Owner,
    /// Bytes of file content copied (for the summary line).
    pub(crate) bytes: u64,
}

/// An I/O error with what was being done to what.
fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> CopyError {
    let what = what.into();
    move |source| CopyError::Io { what, source }
}

/// Applies Docker's path rules and copies `src` (in `src_tree`) to `dest`
/// (in `dest_tree`). A missing source is [`CopyError::SourceNotFound`].
pub(crate) fn run_copy(
    src_tree: &Tree,
    src: &str,
    dest_tree: &Tree,
    dest: &str,
    follow: bool,
    copy: &mut Copy,
) -> Result<(), CopyError> {
    let contents_only = src == "." || src.ends_with("/.");
    let follow = follow || src.ends_with('/') || contents_only;
    let src_fd = src_tree
        .open(src, 0, follow)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => CopyError::SourceNotFound,
            _ => CopyError::Io {
                what: src.to_string(),
                source: e,
            },
        })?;
    let src_stat = fstat(&src_fd).map_err(io_err(format!("stat {src}")))?;
    let src_is_dir = kind(&src_stat) == libc::S_IFDIR;
    if (src.ends_with('/') || contents_only) && !src_is_dir {
        return Err(CopyError::NotADirectory { path: src.into() });
    }
    let source = Source {
        fd: &src_fd,
        stat: &src_stat,
        is_dir: src_is_dir,
        contents_only,
        name: base_name(src),
    };
    match dest_tree.open(dest, 0, true) {
        Ok(dest_fd) => onto_existing(&source, &dest_fd, dest_tree, dest, copy),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            onto_missing(&source, dest_tree, dest, copy)
        }
        Err(e) => Err(io_err(dest)(e)),
    }
}

/// The opened source of a copy.
struct Source<'a> {
    fd: &'a OwnedFd,
    stat: &'a libc::stat,
    is_dir: bool,
    /// Only the directory's content (`SRC/.`).
    contents_only: bool,
    /// The last component as written.
    name: &'a str,
}

/// The destination exists: into it when a directory, over it when a file.
fn onto_existing(
    src: &Source,
    dest_fd: &OwnedFd,
    dest_tree: &Tree,
    dest: &str,
    copy: &mut Copy,
) -> Result<(), CopyError> {
    let dest_is_dir =
        kind(&fstat(dest_fd).map_err(io_err(format!("stat {dest}")))?) == libc::S_IFDIR;
    if dest_is_dir {
        let dir = dest_tree
            .open(dest, libc::O_DIRECTORY, true)
            .map_err(io_err(dest))?;
        if src.is_dir && src.contents_only {
            return copy_children(src.fd, &dir, copy);
        }
        let name = if src.name.is_empty() { "." } else { src.name };
        if name == "." {
            return copy_children(src.fd, &dir, copy);
        }
        return copy_entry(src.fd, src.stat, &dir, &cstring(name.as_bytes())?, copy);
    }
    if src.is_dir {
        return Err(CopyError::DirectoryToFile { path: dest.into() });
    }
    if dest.ends_with('/') {
        return Err(CopyError::NotADirectory { path: dest.into() });
    }
    let (parent, name) = parent_of(dest_tree, dest)?;
    copy_entry(src.fd, src.stat, &parent, &name, copy)
}

/// The destination does not exist: created (its directory must exist).
fn onto_missing(
    src: &Source,
    dest_tree: &Tree,
    dest: &str,
    copy: &mut Copy,
) -> Result<(), CopyError> {
    if dest.ends_with('/') && !src.is_dir {
        return Err(CopyError::MissingDestinationDirectory { path: dest.into() });
    }
    let (parent, name) = parent_of(dest_tree, dest)?;
    if !src.is_dir {
        return copy_entry(src.fd, src.stat, &parent, &name, copy);
    }
    make_dir(&parent, &name, src.stat)?;
    let flags = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY;
    let dir = openat(&parent, &name, flags).map_err(io_err(dest))?;
    copy_children(src.fd, &dir, copy)?;
    finish(&dir, None, src.stat, copy).map_err(io_err(dest))
}

/// The parent directory (opened) and last component of `path`.
fn parent_of(tree: &Tree, path: &str) -> Result<(OwnedFd, CString), CopyError> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => (".", trimmed),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(CopyError::InvalidDestination { path: path.into() });
    }
    let dir = tree
        .open(parent, libc::O_DIRECTORY, true)
        .map_err(io_err(format!("destination directory {parent}")))?;
    Ok((dir, cstring(name.as_bytes())?))
}

/// The last component of `path` as written (`""` for `/`).
pub(crate) fn base_name(path: &str) -> &str {
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
) -> Result<(), CopyError> {
    let fail = || io_err(name.to_string_lossy());
    match kind(st) {
        libc::S_IFREG => {
            let mut input = std::fs::File::from(reopen(src, libc::O_RDONLY).map_err(fail())?);
            let mut output = std::fs::File::from(create_file(dir, name).map_err(fail())?);
            copy.bytes += io::copy(&mut input, &mut output).map_err(fail())?;
            finish(&output.into(), None, st, copy).map_err(fail())
        }
        libc::S_IFDIR => {
            make_dir(dir, name, st)?;
            let flags = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY;
            let target = openat(dir, name, flags).map_err(fail())?;
            copy_children(src, &target, copy)?;
            finish(&target, None, st, copy).map_err(fail())
        }
        libc::S_IFLNK => {
            let target = readlink(src).map_err(fail())?;
            replace_non_dir(dir, name, |d, n| symlinkat(&target, d, n)).map_err(fail())?;
            finish(dir, Some(name), st, copy).map_err(fail())
        }
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
            replace_non_dir(dir, name, |d, n| mknodat(d, n, st)).map_err(fail())?;
            let node = openat(dir, name, libc::O_PATH | libc::O_NOFOLLOW).map_err(fail())?;
            finish(&node, None, st, copy).map_err(fail())
        }
        _ => Ok(()), // sockets are not copied (tar skips them too)
    }
}

/// Copies every entry of the directory `src` into the directory `dest`.
fn copy_children(src: &OwnedFd, dest: &OwnedFd, copy: &mut Copy) -> Result<(), CopyError> {
    let dir = reopen(src, libc::O_RDONLY | libc::O_DIRECTORY).map_err(CopyError::Os)?;
    let entries = std::fs::read_dir(fd_path(&dir)).map_err(CopyError::Os)?;
    for entry in entries {
        let entry = entry.map_err(CopyError::Os)?;
        let name = cstring(entry.file_name().as_bytes())?;
        let child = match openat(&dir, &name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(child) => child,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue, // gone meanwhile
            Err(e) => return Err(io_err(name.to_string_lossy())(e)),
        };
        let st = fstat(&child).map_err(CopyError::Os)?;
        copy_entry(&child, &st, dest, &name, copy)?;
    }
    Ok(())
}

/// Makes directory `name` in `dir` (an existing directory is reused; an
/// existing non-directory is an error, as Docker's).
fn make_dir(dir: &OwnedFd, name: &CStr, st: &libc::stat) -> Result<(), CopyError> {
    let err = match mkdirat(dir, name, 0o700 | (st.st_mode & 0o777)) {
        Ok(()) => return Ok(()),
        Err(err) => err,
    };
    if err.raw_os_error() != Some(libc::EEXIST) {
        return Err(io_err(name.to_string_lossy())(err));
    }
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY;
    match openat(dir, name, flags) {
        Ok(_) => Ok(()),
        Err(_) => Err(CopyError::NonDirectoryInTheWay {
            name: name.to_string_lossy().into_owned(),
        }),
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
    let fd = match openat_create(dir, name, flags) {
        Ok(fd) => fd,
        Err(err) => match err.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENXIO) | Some(libc::ETXTBSY) => {
                unlinkat(dir.as_raw_fd(), name)?;
                openat_create(dir, name, flags)?
            }
            Some(libc::EISDIR) => {
                return Err(io::Error::other(
                    "cannot overwrite directory with non-directory",
                ))
            }
            _ => return Err(err),
        },
    };
    if kind(&fstat(&fd)?) != libc::S_IFREG {
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
            unlinkat(dir.as_raw_fd(), name)?;
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
    let (path, flags) = match name {
        Some(name) => (name, libc::AT_SYMLINK_NOFOLLOW),
        None => (c"", libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW),
    };
    if let Some((uid, gid)) = owner {
        fchownat(fd, path, uid, gid, flags)?;
    }
    if kind(st) != libc::S_IFLNK {
        // fchmod does not work on O_PATH descriptors; the /proc path does.
        let proc_path =
            CString::new(fd_path(fd).as_os_str().as_bytes()).map_err(io::Error::other)?;
        chmod(&proc_path, st.st_mode & 0o7777)?;
    }
    let time_flags = if name.is_some() {
        libc::AT_SYMLINK_NOFOLLOW
    } else {
        libc::AT_EMPTY_PATH
    };
    utimensat(fd.as_raw_fd(), path, &times, time_flags);
    if name.is_none() {
        // utimensat ignores AT_EMPTY_PATH on some kernels: use the /proc path.
        let proc_path =
            CString::new(fd_path(fd).as_os_str().as_bytes()).map_err(io::Error::other)?;
        utimensat(libc::AT_FDCWD, &proc_path, &times, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_as_written() {
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("/a/b/."), "b");
        assert_eq!(base_name("/"), "");
    }
}
