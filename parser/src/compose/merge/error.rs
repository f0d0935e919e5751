//! The one error type of the merge passes (merge, uniqueness, `!reset`,
//! `extends`, `include`): every variant names the file and, where a value is
//! at fault, its line and column.

use crate::compose::yaml::{Pos, YamlError};

/// Why files could not be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// A file is not valid YAML (or breaks the YAML layer's rules).
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The override has a different kind of value where the base has a
    /// mapping or a sequence (compose-go: `cannot override <path>`).
    #[error("{file}:{pos}: cannot override {path}")]
    CannotOverride {
        /// The file of the overriding value.
        file: String,
        /// Where the overriding value is.
        pos: Pos,
        /// The key path (`services.web.ports`).
        path: String,
    },
    /// A value has a type a rule cannot work on (`<path>: unexpected type
    /// int`, `service volume <path> is missing a mount target`...).
    #[error("{file}:{pos}: {reason}")]
    Invalid {
        /// The file the value came from.
        file: String,
        /// Where the value is.
        pos: Pos,
        /// What is wrong, compose-go's wording.
        reason: String,
    },
    /// A file named by the project (`extends.file`, `include`) could not be
    /// read, or the caller's per-file step (interpolation, env files) failed.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: String,
        /// What failed.
        reason: String,
    },
}

impl MergeError {
    /// An [`MergeError::Invalid`] error.
    pub fn invalid(file: &str, pos: Pos, reason: impl Into<String>) -> MergeError {
        MergeError::Invalid {
            file: file.to_string(),
            pos,
            reason: reason.into(),
        }
    }
}
