//! Why an expansion failed, worded as BuildKit words it.

use crate::go_quote;

/// A word that cannot be expanded.
///
/// Every variant carries the whole `input` word and the `offset` (a char
/// index into `input`, not a byte index) of the construct that failed, so
/// callers can point at it. `Display` matches BuildKit's message:
/// `failed to process "he${": syntax error: missing '}'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// A `${` whose closing `}` never comes; `offset` is the `$`.
    #[error("failed to process {}: syntax error: missing '}}'", go_quote(.input))]
    MissingBrace { input: String, offset: usize },
    /// `${}`, `${{…}` or `${:…}`: a variable name was expected after `${`;
    /// `offset` is the char that came instead.
    #[error("failed to process {}: syntax error: bad substitution", go_quote(.input))]
    BadSubstitution { input: String, offset: usize },
    /// `${V<modifier>…}` with a modifier other than `-` `+` `?` `#` `%` `/`
    /// (or their `:` forms `:-` `:+` `:?`); `offset` is the modifier.
    #[error(
        "failed to process {}: unsupported modifier ({modifier}) in substitution",
        go_quote(.input)
    )]
    UnsupportedModifier {
        input: String,
        offset: usize,
        modifier: String,
    },
    /// `${V/pattern` without the `/` that ends the pattern; `offset` is the `$`.
    #[error("failed to process {}: syntax error: missing '/' in ${{}}", go_quote(.input))]
    MissingSlash { input: String, offset: usize },
    /// A `'` without its closing `'`; `offset` is the opening quote.
    #[error(
        "failed to process {}: unexpected end of statement while looking for matching single-quote",
        go_quote(.input)
    )]
    UnterminatedSingleQuote { input: String, offset: usize },
    /// A `"` without its closing `"`; `offset` is the opening quote.
    #[error(
        "failed to process {}: unexpected end of statement while looking for matching double-quote",
        go_quote(.input)
    )]
    UnterminatedDoubleQuote { input: String, offset: usize },
    /// `${NAME?}` or `${NAME:?}` with `NAME` unset; `offset` is the `$`.
    #[error("failed to process {}: {name}: is not allowed to be unset", go_quote(.input))]
    Unset {
        input: String,
        offset: usize,
        name: String,
    },
    /// `${NAME:?}` with `NAME` set to the empty string; `offset` is the `$`.
    #[error("failed to process {}: {name}: is not allowed to be empty", go_quote(.input))]
    Empty {
        input: String,
        offset: usize,
        name: String,
    },
    /// `${NAME?message}` / `${NAME:?message}` rejecting `NAME` with the
    /// author's own message; `offset` is the `$`.
    #[error("failed to process {}: {name}: {message}", go_quote(.input))]
    Rejected {
        input: String,
        offset: usize,
        name: String,
        message: String,
    },
    /// A `#`, `%` or `/` pattern that is not a valid shell pattern (it ends
    /// with a lone escape character); `offset` is where the pattern starts.
    #[error(
        "failed to process {}: invalid pattern ({pattern}) in substitution: {reason}",
        go_quote(.input)
    )]
    InvalidPattern {
        input: String,
        offset: usize,
        pattern: String,
        reason: String,
    },
    /// `${…}` nested inside `${…}` words deeper than kiln follows (BuildKit
    /// has no limit; kiln has one so that no input can exhaust the stack);
    /// `offset` is the `$` of the level that is too deep.
    #[error(
        "failed to process {}: syntax error: substitutions nested more than {limit} deep",
        go_quote(.input)
    )]
    TooDeep {
        input: String,
        offset: usize,
        limit: usize,
    },
    /// An expansion that would make the word longer than kiln allows
    /// ([`crate::shell::MAX_WORD_BYTES`]; BuildKit has no limit, so a few
    /// lines of `A2=$A1$A1` could exhaust memory); `offset` is the `$` (or
    /// quote) whose text went over.
    #[error(
        "failed to process {}: expanded text longer than {limit} bytes (kiln's limit for one word)",
        go_quote(.input)
    )]
    TooLong {
        input: String,
        offset: usize,
        limit: usize,
    },
    /// A `#`, `%` or `/` pattern operation whose matching would take more
    /// than `limit` steps (value length × pattern length, see
    /// [`crate::shell::MAX_PATTERN_WORK`]); `offset` is where the pattern
    /// starts.
    #[error(
        "failed to process {}: pattern too long for a value this long (over {limit} matching steps, kiln's limit)",
        go_quote(.input)
    )]
    TooCostly {
        input: String,
        offset: usize,
        limit: usize,
    },
}

impl ShellError {
    /// Char index in [`ShellError::input`] of the construct that failed.
    pub fn offset(&self) -> usize {
        match self {
            ShellError::MissingBrace { offset, .. }
            | ShellError::BadSubstitution { offset, .. }
            | ShellError::UnsupportedModifier { offset, .. }
            | ShellError::MissingSlash { offset, .. }
            | ShellError::UnterminatedSingleQuote { offset, .. }
            | ShellError::UnterminatedDoubleQuote { offset, .. }
            | ShellError::Unset { offset, .. }
            | ShellError::Empty { offset, .. }
            | ShellError::Rejected { offset, .. }
            | ShellError::InvalidPattern { offset, .. }
            | ShellError::TooDeep { offset, .. }
            | ShellError::TooLong { offset, .. }
            | ShellError::TooCostly { offset, .. } => *offset,
        }
    }

    /// The word whose expansion failed, as it was given.
    pub fn input(&self) -> &str {
        match self {
            ShellError::MissingBrace { input, .. }
            | ShellError::BadSubstitution { input, .. }
            | ShellError::UnsupportedModifier { input, .. }
            | ShellError::MissingSlash { input, .. }
            | ShellError::UnterminatedSingleQuote { input, .. }
            | ShellError::UnterminatedDoubleQuote { input, .. }
            | ShellError::Unset { input, .. }
            | ShellError::Empty { input, .. }
            | ShellError::Rejected { input, .. }
            | ShellError::InvalidPattern { input, .. }
            | ShellError::TooDeep { input, .. }
            | ShellError::TooLong { input, .. }
            | ShellError::TooCostly { input, .. } => input,
        }
    }
}
