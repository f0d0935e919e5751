//! [`Root`]: a directory descriptor that untrusted paths are resolved in.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::openat2::{openat2, Resolve};
use crate::{Error, Result};

/// The most a small file read whole (a Dockerfile, an ignore file) may hold by
/// default: 16 MiB, far above any real Dockerfile and a bound on memory.
pub const MAX_SMALL_FILE: u64 = 16 << 20;

/// An open root directory; paths given to its methods are relative to it and
/// never leave it (see the crate docs).
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens the directory at `path`, a path kiln itself chose or the user
    /// typed (a context folder, a mount point): it is the one lookup the host
    /// does; everything below goes through the descriptor.
    ///
    /// # Errors
    ///
    /// `path` missing or not a directory.
    pub fn open(path: &Path) -> Result<Root> {
        let fd = File::options()
            .read(true)
            .custom_flags_directory()
            .open(path)
            .map_err(|source| Error::Io {
                what: "open",
                root: path.to_path_buf(),
                path: ".".into(),
                source,
            })?;
        Ok(Root {
            fd: fd.into(),
            path: path.to_path_buf(),
        })
    }

    /// The root's path, for messages (never for lookups).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` inside the root with open `flags`, resolved as `resolve`
    /// says. A leading `/` is the root itself.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the root and `rel` ([`Error::is_not_found`] when it
    /// does not exist inside the root).
    pub fn open_at(&self, rel: &str, flags: libc::c_int, resolve: Resolve) -> Result<OwnedFd> {
        let inner = rel.trim_start_matches('/');
        openat2(self.fd.as_raw_fd(), inner, flags, resolve).map_err(|source| Error::Io {
            what: "open",
            root: self.path.clone(),
            path: rel.to_string(),
            source,
        })
    }

    /// An `O_PATH` descriptor of `rel`, resolved chroot-style: what a mount
    /// source or a destination names.
    ///
    /// # Errors
    ///
    /// As [`Root::open_at`].
    pub fn resolve(&self, rel: &str) -> Result<OwnedFd> {
        self.open_at(rel, libc::O_PATH, Resolve::InRoot)
    }

    /// Reads the regular file `rel` (resolved chroot-style) whole, or `None`
    /// when it does not exist; at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] for a directory or special file, [`Error::TooLarge`]
    /// past `limit`, [`Error::Io`] otherwise.
    pub fn read_file(&self, rel: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let flags = libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd = match self.open_at(rel, flags, Resolve::InRoot) {
            Ok(fd) => fd,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let file = File::from(fd);
        let meta = file
            .metadata()
            .map_err(|source| self.io("stat", rel, source))?;
        if !meta.is_file() {
            return Err(Error::WrongType {
                root: self.path.clone(),
                path: rel.to_string(),
                why: "not a regular file",
            });
        }
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| self.io("read", rel, source))?;
        if bytes.len() as u64 > limit {
            return Err(Error::TooLarge {
                root: self.path.clone(),
                path: rel.to_string(),
                limit,
            });
        }
        Ok(Some(bytes))
    }

    /// Whether `rel` is a regular file inside the root (symlinks followed in
    /// the root).
    pub fn is_file(&self, rel: &str) -> bool {
        self.resolve(rel)
            .ok()
            .and_then(|fd| File::from(fd).metadata().ok())
            .is_some_and(|m| m.is_file())
    }

    fn io(&self, what: &'static str, rel: &str, source: std::io::Error) -> Error {
        Error::Io {
            what,
            root: self.path.clone(),
            path: rel.to_string(),
            source,
        }
    }
}

impl AsRawFd for Root {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `O_DIRECTORY` on [`std::fs::OpenOptions`].
trait DirectoryFlag {
    fn custom_flags_directory(&mut self) -> &mut Self;
}

impl DirectoryFlag for std::fs::OpenOptions {
    fn custom_flags_directory(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_DIRECTORY)
    }
}
