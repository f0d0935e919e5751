//! `docker cp`: copies files between a container and the host, with Docker's
//! path rules. The CLI's `kiln cp` and a Compose engine's `cp` call [`copy`].
//!
//! One side is `CONTAINER:PATH` (a path relative to the container's `/`,
//! [`CopyTarget::parse`] splits arguments as Docker's `splitCpArg`).
//! A running container's files are reached through `/proc/<init pid>/root`
//! (which also shows its volumes and binds); a stopped one's root filesystem
//! is mounted in a private mount namespace of this process, with its volumes
//! and binds, and vanishes when it exits.
//!
//! Paths inside the container are resolved as the container would resolve
//! them — `openat2(RESOLVE_IN_ROOT)` through `kiln-inroot` — so a symlink in
//! the container (even an absolute one, or `..`) can never lead outside its
//! root. The copy itself walks directories by descriptor (`openat` with
//! `O_NOFOLLOW` relative to the parent's descriptor), so swapping a directory
//! for a symlink during the copy cannot redirect it either.
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
//!
//! Modules: `tree` (where paths resolve), `walk` (the rules and the copy),
//! `stopped` (mounting a stopped container), `sys` (the system calls).

mod stopped;
mod sys;
mod tree;
mod walk;

use std::io;
use std::path::{Path, PathBuf};

use crate::container::{ContainerError, ContainerStore, Status};
use crate::lifecycle;
use tree::Tree;
use walk::{run_copy, Copy};

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTarget {
    /// A path on the host, resolved by the host.
    Host(String),
    /// A path inside a container (resolved inside its root).
    Container {
        /// Container name, ID or ID prefix.
        name: String,
        /// Path inside it (`/` when the argument had none).
        path: String,
    },
}

impl CopyTarget {
    /// Docker's `splitCpArg`: an absolute path, a path starting with `.`, or
    /// one without `:` is on the host; otherwise `CONTAINER:PATH`.
    pub fn parse(arg: &str) -> CopyTarget {
        if arg.starts_with('/') {
            return CopyTarget::Host(arg.to_string());
        }
        match arg.split_once(':') {
            Some((name, path)) if !name.starts_with('.') && !name.is_empty() => {
                CopyTarget::Container {
                    name: name.to_string(),
                    path: if path.is_empty() {
                        "/".into()
                    } else {
                        path.to_string()
                    },
                }
            }
            _ => CopyTarget::Host(arg.to_string()),
        }
    }

    /// The path part.
    pub fn path(&self) -> &str {
        match self {
            CopyTarget::Host(path) | CopyTarget::Container { path, .. } => path,
        }
    }
}

/// `docker cp`'s flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// `-a`: keep the source's uid/gid.
    pub archive: bool,
    /// `-L`: follow a symlink named as the source.
    pub follow_link: bool,
}

/// What a finished copy did.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    /// Bytes of file content copied (Docker's summary line).
    pub bytes: u64,
}

/// Who owns the entries a copy creates.
#[derive(Clone, Copy)]
pub(crate) enum Owner {
    /// Leave as created (the caller).
    Caller,
    /// Root (Docker's default into a container).
    Root,
    /// The source's uid/gid (`-a`).
    Keep,
}

/// Why a copy failed, in `docker cp`'s words.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Both sides name a container.
    #[error("copying between containers is not supported")]
    BetweenContainers,
    /// Neither side names a container.
    #[error("must specify at least one container source")]
    NoContainer,
    /// A side is `-` (a tar stream), which kiln does not support.
    #[error("copying to or from a tar stream (-) is not supported")]
    TarStream,
    /// The container store could not be opened.
    #[error(transparent)]
    Store(ContainerError),
    /// The container is unknown, or could not be locked.
    #[error(transparent)]
    Container(ContainerError),
    /// The container's root could not be opened.
    #[error("open root of container {name}: {source}")]
    OpenRoot {
        /// The container as named.
        name: String,
        /// The error.
        source: io::Error,
    },
    /// A stopped container's files could not be mounted.
    #[error("{message}")]
    MountStopped {
        /// What failed, with the container, source or destination.
        message: String,
    },
    /// The source path is missing inside the container.
    #[error("Could not find the file {path} in container {container}")]
    NotFoundInContainer {
        /// Container as named.
        container: String,
        /// The path.
        path: String,
    },
    /// The source path is missing on the host.
    #[error("lstat {path}: no such file or directory")]
    NotFoundOnHost {
        /// The path.
        path: String,
    },
    /// The source is missing (before knowing which side it is on).
    #[error("source not found")]
    SourceNotFound,
    /// A path ending in `/` or `/.` is not a directory.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The path.
        path: String,
    },
    /// A directory onto an existing file.
    #[error("cannot copy directory to file {path}")]
    DirectoryToFile {
        /// The destination.
        path: String,
    },
    /// A file onto `DIR/` where DIR is missing.
    #[error("destination directory {path} does not exist")]
    MissingDestinationDirectory {
        /// The destination.
        path: String,
    },
    /// The destination's last component is empty, `.` or `..`.
    #[error("{path}: invalid destination")]
    InvalidDestination {
        /// The destination.
        path: String,
    },
    /// A directory onto an existing non-directory entry.
    #[error("cannot overwrite non-directory {name} with directory")]
    NonDirectoryInTheWay {
        /// The entry's name.
        name: String,
    },
    /// A path with a NUL byte.
    #[error("path contains a NUL byte: {path}")]
    Nul {
        /// The path, debug-quoted.
        path: String,
    },
    /// A system call on a named entry failed.
    #[error("{what}: {source}")]
    Io {
        /// What was done to which path ("stat /x", "/x").
        what: String,
        /// The error.
        source: io::Error,
    },
    /// A system call while listing a directory failed.
    #[error("{0}")]
    Os(io::Error),
}

/// Copies `src` to `dest` (exactly one of them in a container of the store
/// under `root`), as `docker cp` does; see the module docs for the rules.
pub fn copy(
    root: &Path,
    src: &CopyTarget,
    dest: &CopyTarget,
    options: CopyOptions,
) -> Result<Copied, CopyError> {
    let (name, into_container) = match (src, dest) {
        (CopyTarget::Container { .. }, CopyTarget::Container { .. }) => {
            return Err(CopyError::BetweenContainers)
        }
        (CopyTarget::Host(_), CopyTarget::Host(_)) => return Err(CopyError::NoContainer),
        (CopyTarget::Container { name, .. }, _) => (name.as_str(), false),
        (_, CopyTarget::Container { name, .. }) => (name.as_str(), true),
    };
    if matches!((src, dest), (CopyTarget::Host(p), _) | (_, CopyTarget::Host(p)) if p == "-") {
        return Err(CopyError::TarStream);
    }
    let store = ContainerStore::open(root).map_err(CopyError::Store)?;
    let (root_dir, _lock) = container_root(root, &store, name)?;
    let tree = Tree::container(&root_dir).map_err(|source| CopyError::OpenRoot {
        name: name.to_string(),
        source,
    })?;
    let host = Tree::host();
    let mut copy = Copy {
        owner: match (into_container, options.archive) {
            (false, false) => Owner::Caller,
            (true, false) => Owner::Root,
            (_, true) => Owner::Keep,
        },
        bytes: 0,
    };
    let (src_tree, dest_tree) = if into_container {
        (&host, &tree)
    } else {
        (&tree, &host)
    };
    let outcome = run_copy(
        src_tree,
        src.path(),
        dest_tree,
        dest.path(),
        options.follow_link,
        &mut copy,
    );
    match (outcome, src) {
        (Ok(()), _) => Ok(Copied { bytes: copy.bytes }),
        (Err(CopyError::SourceNotFound), CopyTarget::Container { path, .. }) => {
            Err(CopyError::NotFoundInContainer {
                container: name.to_string(),
                path: path.clone(),
            })
        }
        (Err(CopyError::SourceNotFound), CopyTarget::Host(path)) => {
            Err(CopyError::NotFoundOnHost { path: path.clone() })
        }
        (Err(e), _) => Err(e),
    }
}

/// Where the container `name`'s files are: `/proc/PID/root` while it runs,
/// else its root filesystem mounted here (under the container's lock, which
/// the caller holds for the copy).
fn container_root(
    root: &Path,
    store: &ContainerStore,
    name: &str,
) -> Result<(PathBuf, Option<kiln_image::FileLock>), CopyError> {
    let mut container = store.find(name).map_err(CopyError::Container)?;
    lifecycle::reconcile(store, &mut container);
    let running = matches!(container.state.status, Status::Running | Status::Paused);
    if running && container.state.pid != 0 {
        let dir = Path::new("/proc")
            .join(container.state.pid.to_string())
            .join("root");
        return Ok((dir, None));
    }
    let lock = store
        .lock(&container.record.id)
        .map_err(CopyError::Container)?;
    let dir = stopped::mount_stopped(root, store, &container)?;
    Ok((dir, Some(lock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_follow_dockers_split() {
        assert_eq!(
            CopyTarget::parse("/abs:x"),
            CopyTarget::Host("/abs:x".into())
        );
        assert_eq!(CopyTarget::parse("./a:b"), CopyTarget::Host("./a:b".into()));
        assert_eq!(CopyTarget::parse("file"), CopyTarget::Host("file".into()));
        let web = CopyTarget::Container {
            name: "web".into(),
            path: "/etc/hostname".into(),
        };
        assert_eq!(CopyTarget::parse("web:/etc/hostname"), web);
        let bare = CopyTarget::Container {
            name: "web".into(),
            path: "/".into(),
        };
        assert_eq!(CopyTarget::parse("web:"), bare);
    }
}
