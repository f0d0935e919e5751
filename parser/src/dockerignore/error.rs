//! Errors of the `.dockerignore` reader: each names the line and the pattern it failed on.

/// Why a pattern is not valid Go `filepath.Match` syntax.
///
/// Docker validates every pattern with `filepath.Match` before using it; these are
/// the ways that validation fails (plus a reversed range, which Docker only
/// rejects later, when its generated regexp fails to compile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// A `[` whose class never reaches its closing `]`.
    #[error("character class opened by `[` is never closed")]
    UnterminatedClass,
    /// `[]` or `[^]`: a class must name at least one character.
    #[error("empty character class")]
    EmptyClass,
    /// An unescaped `-` or `]` where a class character is expected (`[-a]`, `[a-]`).
    #[error("unescaped {0:?} in character class (escape it with `\\`)")]
    BadClassChar(char),
    /// A range whose end sorts before its start (`[z-a]`).
    #[error("character range {lo:?}-{hi:?} is out of order")]
    ReversedRange {
        /// First character of the range.
        lo: char,
        /// Last character of the range.
        hi: char,
    },
    /// A `\` with nothing after it to escape.
    #[error("pattern ends with an unfinished `\\` escape")]
    TrailingEscape,
}

/// A `.dockerignore` that cannot be used, with the 1-based line and the pattern.
///
/// `Display` gives `line N: message`; [`DockerignoreError::display_in`] prefixes the
/// file name for the CLI form `.dockerignore:3: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerignoreError {
    /// `!` (or `!/`) with no pattern after it: Docker's "illegal exclusion pattern".
    #[error(
        "line {line}: illegal exclusion pattern {pattern:?}: `!` must be followed by a pattern"
    )]
    EmptyException {
        /// 1-based line number.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
    },
    /// A pattern given programmatically ([`super::Pattern::new`]) that is blank.
    #[error("line {line}: empty pattern")]
    EmptyPattern {
        /// 1-based line number (or whatever number the caller passed).
        line: usize,
    },
    /// A pattern that is not valid `filepath.Match` syntax.
    #[error("line {line}: syntax error in pattern {pattern:?}: {reason}")]
    BadPattern {
        /// 1-based line number.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        /// What is wrong with it.
        reason: SyntaxError,
    },
}

impl DockerignoreError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            DockerignoreError::EmptyException { line, .. }
            | DockerignoreError::EmptyPattern { line }
            | DockerignoreError::BadPattern { line, .. } => *line,
        }
    }

    /// The offending pattern as written (trimmed); empty for [`DockerignoreError::EmptyPattern`].
    pub fn pattern(&self) -> &str {
        match self {
            DockerignoreError::EmptyException { pattern, .. }
            | DockerignoreError::BadPattern { pattern, .. } => pattern,
            DockerignoreError::EmptyPattern { .. } => "",
        }
    }

    /// The error as one line prefixed with the file name: `.dockerignore:3: message`.
    pub fn display_in(&self, file: &str) -> String {
        let text = self.to_string();
        let rest = text.strip_prefix("line ").unwrap_or(&text);
        format!("{file}:{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_and_pattern() {
        let err = DockerignoreError::BadPattern {
            line: 3,
            pattern: "a[".into(),
            reason: SyntaxError::UnterminatedClass,
        };
        assert_eq!(
            err.to_string(),
            "line 3: syntax error in pattern \"a[\": character class opened by `[` is never closed"
        );
        assert_eq!(err.line(), 3);
        assert_eq!(err.pattern(), "a[");
        assert!(err
            .display_in(".dockerignore")
            .starts_with(".dockerignore:3: syntax error"));
    }
}
