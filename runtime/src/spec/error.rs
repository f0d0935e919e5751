//! The error type of the spec module: one variant per way a container's
//! configuration can be rejected, each carrying the value it failed on.

use std::path::PathBuf;

/// Why an OCI runtime spec (or the container's /etc files) could not be made.
///
/// Messages are one line; where Docker has a well-known wording (no command,
/// unknown user/group, minimum memory) it is reused so users recognise it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither the command line nor the image gave a command to run.
    #[error("No command specified")]
    NoCommand,
    /// `-u NAME` (or the image USER) names a user absent from <rootfs>/etc/passwd.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    /// `-u user:GROUP` names a group absent from <rootfs>/etc/group.
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    /// A `--cap-add`/`--cap-drop` name that is not a Linux capability.
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    /// A `--cap-add` capability that kiln itself does not have (it is not in
    /// this process's bounding set), so no container can get it.
    #[error("capability {0} is not available on this host (not in kiln's bounding set)")]
    CapabilityUnavailable(String),
    /// The rootfs path is not absolute.
    #[error("rootfs {0} is not an absolute path")]
    RelativeRootfs(PathBuf),
    /// The working directory is not absolute (Docker refuses these too).
    #[error("the working directory {0:?} is invalid, it needs to be an absolute path")]
    RelativeCwd(String),
    /// A hostname that would corrupt /etc/hosts or cannot be a UTS name.
    #[error("invalid hostname {0:?}")]
    InvalidHostname(String),
    /// `cgroups_path` was empty; kiln always places containers explicitly.
    #[error("cgroups path must not be empty")]
    EmptyCgroupsPath,
    /// A resource limit outside what the kernel (or Docker) accepts.
    #[error("invalid resource limit: {0}")]
    InvalidResource(String),
    /// A user mount whose destination is not an absolute path inside the container.
    #[error("invalid mount destination {0:?}: must be an absolute path")]
    InvalidMountDestination(String),
    /// An environment entry no process can be given (empty name, no `=`,
    /// NUL byte); `origin` says where it came from (`-e`, the image config).
    #[error("{origin}: {reason}")]
    InvalidEnv {
        /// Where the entry came from.
        origin: String,
        /// runc's words for what is wrong.
        reason: String,
    },
    /// Resolving a path inside the rootfs met too many symlinks (a loop).
    #[error("too many levels of symbolic links resolving {path} inside {rootfs}")]
    SymlinkLoop {
        /// The path asked for, relative to the container root.
        path: String,
        /// The rootfs it was resolved in.
        rootfs: PathBuf,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A seccomp profile that is not valid Docker-format JSON or names unknown values.
    #[error("seccomp profile {path}: {reason}")]
    SeccompProfile {
        /// The profile file (`<builtin>` for the embedded default).
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// oci-spec rejected what was built (should not happen; kept for context).
    #[error("building the OCI spec: {0}")]
    Build(#[from] oci_spec::OciSpecError),
}

impl SpecError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SpecError::Io {
            path: path.into(),
            source,
        }
    }
}
