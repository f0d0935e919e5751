//! Errors of the container store and lifecycle, in Docker's words.

use std::path::PathBuf;

/// Everything that can go wrong with containers (not with their processes: those
/// are [`crate::oci::RuntimeError`]).
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No container has this ID, ID prefix or name.
    #[error("No such container: {0}")]
    NotFound(String),
    /// An ID prefix matches several containers.
    #[error("multiple containers found with provided prefix: {0}")]
    Ambiguous(String),
    /// The name is taken.
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse {
        /// Name asked for.
        name: String,
        /// Holder.
        id: String,
    },
    /// The name breaks Docker's rule.
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// The command is not allowed in the container's status.
    #[error("container {id} {reason}")]
    WrongState {
        /// Container ID.
        id: String,
        /// Docker's reason ("is not running", …).
        reason: String,
    },
    /// A file of the store could not be read or written.
    #[error("{context} {path}: {source}")]
    Io {
        /// What kiln was doing.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A record or state file is not valid JSON (a bug or a foreign write).
    #[error("corrupt {path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl ContainerError {
    /// An [`ContainerError::Io`].
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContainerError::Io {
            context,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of the container module.
pub type Result<T> = std::result::Result<T, ContainerError>;
