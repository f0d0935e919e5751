//! Errors of the Dockerfile parser: each carries the source position it failed at.

use super::span::Position;

/// A Dockerfile that cannot be parsed, with where and why.
///
/// `Display` gives `line:column: message`; prefix the file name with
/// [`DockerfileError::display_in`] for the one-line CLI form `Dockerfile:3:5: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    /// The file holds no instruction at all (empty, or only comments).
    #[error("{at}: file with no instructions")]
    NoInstructions { at: Position },
    /// A parser directive (`# escape=`, `# syntax=`, `# check=`) is given twice.
    #[error("{at}: only one {name} parser directive can be used")]
    DuplicateDirective { at: Position, name: String },
    /// `# escape=` names something other than `\` or `` ` ``.
    #[error("{at}: invalid escape token '{token}' does not match ` or \\")]
    InvalidEscape { at: Position, token: String },
    /// A heredoc whose terminator line never comes.
    #[error(
        "{at}: unterminated heredoc {name}: expected a line '{name}' before the end of the file"
    )]
    UnterminatedHeredoc { at: Position, name: String },
    /// A JSON array form containing something other than strings.
    #[error(
        "{at}: {keyword}: when using JSON array syntax, arrays must be comprised of strings only"
    )]
    NotStringArray { at: Position, keyword: String },
    /// Legacy `ENV key value` / `LABEL key value` without a value.
    #[error("{at}: {keyword} must have two arguments")]
    MissingValue { at: Position, keyword: String },
    /// `ENV a=b c`: a word without `=` among `key=value` pairs.
    #[error(
        "{at}: {keyword}: syntax error - can't find = in {word:?}. Must be of the form: name=value"
    )]
    MissingEquals {
        at: Position,
        keyword: String,
        word: String,
    },
    /// A heredoc marker that the shell lexer cannot read.
    #[error("{at}: bad heredoc marker: {message}")]
    BadHeredoc { at: Position, message: String },
    /// Anything the typed layer rejects: unknown instruction, bad flag, bad
    /// argument count or value. `message` says what was expected.
    #[error("{at}: {message}")]
    Invalid { at: Position, message: String },
}

impl DockerfileError {
    /// Where the error was found.
    pub fn position(&self) -> Position {
        match self {
            DockerfileError::NoInstructions { at }
            | DockerfileError::DuplicateDirective { at, .. }
            | DockerfileError::InvalidEscape { at, .. }
            | DockerfileError::UnterminatedHeredoc { at, .. }
            | DockerfileError::NotStringArray { at, .. }
            | DockerfileError::MissingValue { at, .. }
            | DockerfileError::MissingEquals { at, .. }
            | DockerfileError::BadHeredoc { at, .. }
            | DockerfileError::Invalid { at, .. } => *at,
        }
    }

    /// The error as one line prefixed with the file name: `Dockerfile:3:5: message`.
    pub fn display_in(&self, file: &str) -> String {
        format!("{file}:{self}")
    }

    /// Shorthand for an [`DockerfileError::Invalid`] error.
    pub fn invalid(at: Position, message: impl Into<String>) -> Self {
        DockerfileError::Invalid {
            at,
            message: message.into(),
        }
    }
}
