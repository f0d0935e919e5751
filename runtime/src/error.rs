//! The error of `kiln-runtime`'s public API: one enum whose variants say what
//! failed (container, image, path, flag) and map to Docker's exit codes with
//! [`Error::exit_code`]: 125 when kiln itself fails, 126 when the container's
//! command cannot be invoked, 127 when it is not found (`docker run`'s
//! codes). The modules' own errors ([`ContainerError`], [`SpecError`],
//! [`RuntimeError`], [`InitLayerError`], [`ExecError`],
//! [`crate::network::NetworkError`]) convert into it.

use std::path::PathBuf;

use kiln_parser::values::ValueError;

use crate::container::ContainerError;
use crate::init_layer::InitLayerError;
use crate::lifecycle::ExecError;
use crate::oci::RuntimeError;
use crate::spec::SpecError;

/// Docker's exit code when kiln itself fails.
pub const EXIT_KILN: i32 = 125;
/// Docker's exit code when the command cannot be invoked.
pub const EXIT_CANNOT_INVOKE: i32 = 126;
/// Docker's exit code when the command is not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// Why a container's process could not be started, as Docker classifies a
/// runtime's start error (moby's `translateContainerdStartErr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFailure {
    /// The program does not exist in the container (exit 127).
    NotFound,
    /// The program exists but cannot be executed (exit 126).
    CannotInvoke,
    /// Anything else (exit 125).
    Other,
}

impl StartFailure {
    /// Classifies a low-level runtime's start error by its words, as Docker
    /// does: runtimes (runc, crun, libcontainer) report a missing or
    /// unexecutable program only as text. Done once, where the runtime's
    /// error is received.
    pub fn classify(message: &str) -> StartFailure {
        let lower = message.to_ascii_lowercase();
        if lower.contains("not found") || lower.contains("no such file or directory") {
            StartFailure::NotFound
        } else if lower.contains("permission denied")
            || lower.contains("cannot execute")
            || lower.contains("exec format error")
        {
            StartFailure::CannotInvoke
        } else {
            StartFailure::Other
        }
    }

    /// Its exit code (127, 126, 125).
    pub fn exit_code(self) -> i32 {
        match self {
            StartFailure::NotFound => EXIT_NOT_FOUND,
            StartFailure::CannotInvoke => EXIT_CANNOT_INVOKE,
            StartFailure::Other => EXIT_KILN,
        }
    }

    /// The failure for an exit code (as a detached monitor reports it).
    pub fn from_exit_code(code: i32) -> StartFailure {
        match code {
            EXIT_NOT_FOUND => StartFailure::NotFound,
            EXIT_CANNOT_INVOKE => StartFailure::CannotInvoke,
            _ => StartFailure::Other,
        }
    }
}

/// Everything the runtime's public functions can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container store or a container's state.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// The container's configuration (spec, user, env, mounts).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A run option's value.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A low-level runtime call.
    #[error(transparent)]
    Oci(#[from] RuntimeError),
    /// Bridge networks, ports, DNS.
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    /// Making the root filesystem safe (init layer).
    #[error(transparent)]
    InitLayer(#[from] InitLayerError),
    /// `exec` of an extra process.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The container's process did not start; `message` is the runtime's.
    #[error("{message}")]
    Start {
        /// The container (or build step) ID.
        container: String,
        /// Docker's classification of the failure.
        failure: StartFailure,
        /// What the runtime said.
        message: String,
    },
    /// A detached monitor exited before it reported a start.
    #[error("container monitor exited before starting the container ({status})")]
    MonitorDied {
        /// The container.
        container: String,
        /// How the monitor ended.
        status: String,
    },
    /// A snapshotter operation, in the snapshotter's words.
    #[error(transparent)]
    Snapshotter(#[from] kiln_snapshotter::Error),
    /// Another error, with what kiln was doing.
    #[error("{context}: {source}")]
    Context {
        /// What kiln was doing.
        context: String,
        /// The error.
        source: Box<Error>,
    },
    /// A snapshotter operation (`context` says which).
    #[error("{context}: {source}")]
    Snapshot {
        /// What kiln was doing (`prepare root filesystem`, `unpack image`…).
        context: String,
        /// The snapshotter's error.
        source: kiln_snapshotter::Error,
    },
    /// The content store.
    #[error(transparent)]
    Image(#[from] kiln_image::ImageError),
    /// The image's layers could not be unpacked into snapshots.
    #[error("unpack image: {source}")]
    Unpack {
        /// The image as the user named it.
        image: String,
        /// The unpacker's error.
        source: Box<kiln_snapshotter::UnpackError>,
    },
    /// The OCI bundle's `config.json` could not be written.
    #[error("write bundle: {source}")]
    WriteBundle {
        /// The file.
        path: PathBuf,
        /// oci-spec's error.
        source: oci_spec::OciSpecError,
    },
    /// A snapshotter name that kiln does not have.
    #[error("unknown snapshotter {0:?}")]
    UnknownSnapshotter(String),
    /// Options Docker refuses together (runconfig's words, e.g.
    /// `conflicting options: hostname and the network mode`).
    #[error("{0}")]
    Conflict(&'static str),
    /// `--network container:X` of a container that is not running (Docker's
    /// words).
    #[error("cannot join network of a non running container: {0}")]
    JoinNotRunning(String),
    /// A run option kiln does not support (yet), named by its flag.
    #[error("{flag} {value:?} is not supported: {reason}")]
    Unsupported {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A `--mount type=bind` source that does not exist (Docker's words).
    #[error("invalid mount config for type \"bind\": bind source path does not exist: {}", .0.display())]
    BindSourceMissing(PathBuf),
    /// A `--device` path that is not a device node (Docker's words).
    #[error("error gathering device information while adding custom device {:?}: not a device node", .0.display().to_string())]
    NotADevice(PathBuf),
    /// Two mounts at the same destination.
    #[error("Duplicate mount point: {0}")]
    DuplicateMount(String),
    /// A volume name that breaks Docker's rule.
    #[error("invalid volume name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidVolumeName(String),
    /// No volume has this name.
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),
    /// No free random container name was found.
    #[error("no free container name")]
    NoFreeName,
    /// `rm -f` could not stop the container.
    #[error("could not kill container {0}")]
    CouldNotKill(String),
    /// kill(2) of a container's process failed.
    #[error("kill {container}: {source}")]
    Kill {
        /// The container.
        container: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file or system call of kiln's own (`context` says which, with the path).
    #[error("{context}: {source}")]
    Io {
        /// What kiln was doing, with the path.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::Io`].
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::Snapshot`].
    pub fn snapshot(context: impl Into<String>, source: kiln_snapshotter::Error) -> Error {
        Error::Snapshot {
            context: context.into(),
            source,
        }
    }

    /// This error with what kiln was doing in front (`context: error`).
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// Docker's exit code for this error: 126/127 for a command that cannot
    /// be invoked or found, the code an exec failure carries, else 125.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Start { failure, .. } => failure.exit_code(),
            Error::Exec(e) => e.exit_code(),
            Error::Context { source, .. } => source.exit_code(),
            _ => EXIT_KILN,
        }
    }
}

/// Shorthand for results of the runtime's public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_map_to_dockers_codes() {
        let code = |m: &str| StartFailure::classify(m).exit_code();
        assert_eq!(
            code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(code("open /x: No such file or directory"), 127);
        assert_eq!(code("exec /etc/passwd: permission denied"), 126);
        assert_eq!(code("cgroup: invalid argument"), 125);
        assert_eq!(StartFailure::from_exit_code(127), StartFailure::NotFound);
        let e = Error::Start {
            container: "c".into(),
            failure: StartFailure::CannotInvoke,
            message: "exec format error".into(),
        };
        assert_eq!(
            (e.exit_code(), e.to_string().as_str()),
            (126, "exec format error")
        );
        assert_eq!(Error::NoFreeName.exit_code(), 125);
    }
}
