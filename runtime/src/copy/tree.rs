//! A tree to resolve the copy's paths in: the host as it is, or a
//! container's root (resolved with `RESOLVE_IN_ROOT` through `kiln-inroot`, so
//! no symlink or `..` in the container leads outside it).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::sys::{cstring, open_host, open_plain};

/// The host, or a container's root.
pub(crate) struct Tree {
    /// Directory paths are resolved from (`AT_FDCWD` for the host).
    base: RawFd,
    /// Keeps a container root open.
    _root: Option<OwnedFd>,
    /// Resolve with `RESOLVE_IN_ROOT` (container).
    contained: bool,
}

impl Tree {
    /// The host's own tree (paths the user named on the host).
    pub(crate) fn host() -> Tree {
        Tree {
            base: libc::AT_FDCWD,
            _root: None,
            contained: false,
        }
    }

    /// The tree below `root`, which acts as `/`.
    pub(crate) fn container(root: &Path) -> io::Result<Tree> {
        let root = open_plain(root, libc::O_PATH | libc::O_DIRECTORY)?;
        Ok(Tree {
            base: root.as_raw_fd(),
            _root: Some(root),
            contained: true,
        })
    }

    /// Opens `path` as an `O_PATH` descriptor (plus `flags`); the last
    /// component is followed only with `follow`.
    pub(crate) fn open(&self, path: &str, flags: i32, follow: bool) -> io::Result<OwnedFd> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::sys::fd_path;

    #[test]
    fn resolving_in_root_cannot_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hostname"), "inside\n").unwrap();
        std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc", root.join("up")).unwrap();
        let tree = Tree::container(root).unwrap();
        for path in ["/escape/etc/hostname", "up/hostname"] {
            let fd = tree.open(path, 0, true).unwrap();
            let text = std::fs::read_to_string(fd_path(&fd)).unwrap();
            assert_eq!(text, "inside\n", "{path}");
        }
    }
}
