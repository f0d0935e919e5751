//! Walking to (and creating) a directory inside a destination root, the way
//! BuildKit's copy does it (fsutil `MkdirAll` over continuity's `RootPath`):
//! every symlink met on the way is followed *inside the root*, as if the
//! root were `/`: an absolute target starts again at the root, a relative
//! one continues from the link's directory, `..` never climbs above the root.
//! What is missing is created, also where a link points to a name that does
//! not exist yet: with `/hl -> /nonexist`, `COPY f /hl/x` creates
//! `/nonexist/x` in the root, as BuildKit does.
//!
//! Nothing is looked up by host path: each step is one name below an open
//! directory, opened with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, and links
//! are read and followed here, by hand, at most [`MAX_LINKS`] of them (the
//! kernel's own limit), so a link loop fails with `ELOOP`. The walk is a
//! loop, not a recursion, and keeps one directory open at a time.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::sys::{self, Resolve};

/// How many symlinks one walk follows before giving up (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Opens the directory `rel` (root-relative) below `root`, creating what is
/// missing with `mkdir(name, 0755)` and then `created(parent, name)` (for
/// owner and mode). Fails with `ENOTDIR` when a component is not a directory
/// and `ELOOP` after [`MAX_LINKS`] links.
pub(super) fn mkdir_all(
    root: RawFd,
    rel: &str,
    created: &mut dyn FnMut(RawFd, &str) -> io::Result<()>,
) -> io::Result<OwnedFd> {
    let dir_flags = libc::O_RDONLY | libc::O_DIRECTORY;
    let mut todo: VecDeque<String> = components(rel).collect();
    // The real directories walked so far, below the root, and the last one.
    let mut names: Vec<String> = Vec::new();
    let mut cur = sys::open(root, ".", dir_flags, Resolve::Beneath)?;
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            names.pop();
            cur = sys::open(root, &names.join("/"), dir_flags, Resolve::Beneath)?;
            continue;
        }
        let fd = cur.as_raw_fd();
        match sys::lstat_at(fd, &name)?.map(|st| st.st_mode & libc::S_IFMT) {
            None => {
                if sys::mkdir_at(fd, &name, 0o755)? {
                    created(fd, &name)?;
                }
            }
            Some(libc::S_IFDIR) => {}
            Some(libc::S_IFLNK) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let link = sys::open(fd, &name, libc::O_PATH | libc::O_NOFOLLOW, Resolve::Beneath)?;
                let target = sys::readlink_fd(link.as_raw_fd())?;
                if target.starts_with('/') {
                    names.clear();
                    cur = sys::open(root, ".", dir_flags, Resolve::Beneath)?;
                }
                for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
                    todo.push_front(part);
                }
                continue;
            }
            Some(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
        cur = sys::open(fd, &name, dir_flags, Resolve::Beneath)?;
        names.push(name);
    }
    Ok(cur)
}

/// The names of a path, without empty ones and `.`.
fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
}

/// Removes the directory `name` in `parent` with everything below it
/// (an archive entry that replaces a directory, as Docker's untar does).
/// Iterative and descriptor-relative: nothing below is followed.
pub(super) fn remove_tree(parent: RawFd, name: &str) -> io::Result<()> {
    // (path below `parent`, contents already queued)
    let mut stack = vec![(name.to_string(), false)];
    while let Some((path, expanded)) = stack.pop() {
        if expanded {
            sys::unlink_at(parent, &path, true)?;
            continue;
        }
        let dir = sys::open(
            parent,
            &path,
            libc::O_RDONLY | libc::O_DIRECTORY,
            Resolve::Beneath,
        )?;
        stack.push((path.clone(), true));
        for entry in sys::read_dir(dir.as_raw_fd())? {
            let st = sys::lstat_at(dir.as_raw_fd(), &entry)?;
            if st.is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR) {
                stack.push((format!("{path}/{entry}"), false));
            } else {
                sys::unlink_at(dir.as_raw_fd(), &entry, false)?;
            }
        }
    }
    Ok(())
}
