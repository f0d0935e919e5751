//! The loader's error type: every refusal names the file, the position (when
//! the problem sits in a YAML node) and the key path.

use super::super::merge::MergeError;
use super::super::yaml::{Pos, YamlError};

/// Why a Compose project could not be loaded. Printed as one line:
/// `file:line:col: key.path: reason` when the position is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read (missing compose file, missing env file).
    #[error("{path}: {reason}")]
    Read {
        /// The file as the user named it (or as discovery found it).
        path: String,
        /// What went wrong (`no such file or directory`...).
        reason: String,
    },
    /// A YAML syntax error.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The merge passes refused the files (merge rules, `extends`,
    /// `include`, `!reset`).
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// A value in a compose file is wrong: the file, position and key path.
    #[error("{file}:{pos}: {}{reason}", path_prefix(path))]
    At {
        /// The compose file.
        file: String,
        /// Where the offending node starts.
        pos: Pos,
        /// The dotted key path (`services.web.ports[0]`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A problem of the whole project (no position: it comes from several
    /// files, or from the options), such as a depends_on cycle.
    #[error("{0}")]
    Project(String),
    /// An option or environment variable is wrong (`-p`, `COMPOSE_FILE`...).
    #[error("{0}")]
    Option(String),
}

impl LoadError {
    /// A positioned error in `file` at `pos` for key `path`.
    pub fn at(file: &str, pos: Pos, path: &str, reason: impl Into<String>) -> LoadError {
        LoadError::At {
            file: file.to_string(),
            pos,
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

/// `path: ` before a reason, nothing for the document root.
fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}
