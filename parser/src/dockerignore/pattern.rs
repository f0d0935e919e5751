//! One `.dockerignore` pattern: how a line becomes a cleaned, compiled pattern.

use std::fmt;

use super::clean::go_clean;
use super::error::DockerignoreError;
use super::glob::{compile, Kind};

/// One pattern of a `.dockerignore`: cleaned, marked as exclusion or exception
/// (`!`), and compiled with Docker's matching strategy.
///
/// Two patterns are equal when they were written on the same line and clean to
/// the same text; `Display` gives the canonical form (`!docs/keep.txt`), which is
/// what a cache key should hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    exception: bool,
    line: usize,
    kind: Kind,
}

impl Pattern {
    /// Builds a pattern from one line of a `.dockerignore` (comments aside): trims
    /// it, reads a leading `!`, cleans the rest and validates its syntax. `line` is
    /// only used to label errors and is what [`Pattern::line`] returns.
    ///
    /// Unlike [`super::parse`], a blank `text` is an error here
    /// ([`DockerignoreError::EmptyPattern`]) and `#` has no special meaning.
    ///
    /// # Errors
    ///
    /// [`DockerignoreError::EmptyPattern`], [`DockerignoreError::EmptyException`]
    /// (`!` alone) or [`DockerignoreError::BadPattern`] (invalid syntax).
    pub fn new(text: &str, line: usize) -> Result<Pattern, DockerignoreError> {
        Pattern::from_line(text, line)?.ok_or(DockerignoreError::EmptyPattern { line })
    }

    /// Like [`Pattern::new`], but a line that normalises to nothing is `Ok(None)`.
    pub(crate) fn from_line(text: &str, line: usize) -> Result<Option<Pattern>, DockerignoreError> {
        let written = text.trim();
        if written.is_empty() {
            return Ok(None);
        }
        // Docker normalises twice: once when reading the file (ignorefile.ReadAll)
        // and again when building its matcher (patternmatcher.New: trim + clean).
        let read = read_stage(written);
        let second = read.trim();
        if second.is_empty() {
            return Ok(None);
        }
        let cleaned = go_clean(second);
        let (exception, body) = match cleaned.strip_prefix('!') {
            Some(body) => (true, body),
            None => (false, cleaned.as_str()),
        };
        if exception && body.is_empty() {
            let pattern = written.to_string();
            return Err(DockerignoreError::EmptyException { line, pattern });
        }
        let kind = compile(body).map_err(|reason| DockerignoreError::BadPattern {
            line,
            pattern: written.to_string(),
            reason,
        })?;
        let text = body.to_string();
        Ok(Some(Pattern {
            text,
            exception,
            line,
            kind,
        }))
    }

    /// The cleaned pattern, without its `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is an exception (`!pattern`), which re-includes what it matches.
    pub fn is_exception(&self) -> bool {
        self.exception
    }

    /// The 1-based line the pattern was read from.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether `path` itself matches, ignoring its parent directories. `path` must
    /// be clean, relative and `/`-separated (as [`super::Matcher`] passes it).
    pub fn matches_exact(&self, path: &str) -> bool {
        self.kind.matches(path)
    }

    /// Whether `path` or one of its parent directories matches: `foo` matches
    /// `foo/bar/baz` because it matches `foo`. Same input rules as
    /// [`Pattern::matches_exact`].
    pub fn matches(&self, path: &str) -> bool {
        self.matches_exact(path)
            || path
                .match_indices('/')
                .any(|(end, _)| self.matches_exact(&path[..end]))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bang = if self.exception { "!" } else { "" };
        write!(f, "{bang}{}", self.text)
    }
}

/// What Docker's ignore-file reader makes of a trimmed, non-comment line: the
/// text after an optional `!` is trimmed and cleaned, and a leading `/` dropped
/// (patterns are relative to the context root; a bare `/` stays).
fn read_stage(written: &str) -> String {
    let (exception, body) = match written.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, written),
    };
    let mut body = if body.is_empty() {
        String::new()
    } else {
        go_clean(body)
    };
    if body.len() > 1 && body.starts_with('/') {
        body.remove(0);
    }
    if exception {
        format!("!{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(line: &str) -> String {
        Pattern::new(line, 1).unwrap().to_string()
    }

    #[test]
    fn cleans_like_docker() {
        assert_eq!(canonical("/foo//bar/"), "foo/bar");
        assert_eq!(canonical("./foo"), "foo");
        assert_eq!(canonical("a/../b"), "b");
        assert_eq!(canonical("!  /docs/keep.txt "), "!docs/keep.txt");
        assert_eq!(canonical("/"), "/");
        assert_eq!(canonical("./"), ".");
        assert_eq!(canonical("../x"), "../x");
        // The second normalisation pass trims what cleaning exposed.
        assert_eq!(canonical("foo /"), "foo");
        // After cleaning, a `!` that reaches the front still marks an exception.
        assert_eq!(canonical("./!foo"), "!foo");
    }

    #[test]
    fn bare_exception_is_an_error() {
        for line in ["!", "! ", "!/", "!//", "! /."] {
            let err = Pattern::new(line, 7).unwrap_err();
            assert!(
                matches!(err, DockerignoreError::EmptyException { line: 7, .. }),
                "{line:?}"
            );
        }
    }

    #[test]
    fn blank_is_empty_pattern() {
        assert_eq!(
            Pattern::new("  ", 2),
            Err(DockerignoreError::EmptyPattern { line: 2 })
        );
        // `/ /` cleans to `/ `, loses its `/`, and trims to nothing: Docker skips it.
        assert_eq!(Pattern::from_line("/ /", 1), Ok(None));
    }

    #[test]
    fn matches_parents() {
        let p = Pattern::new("foo", 1).unwrap();
        assert!(p.matches("foo/bar/baz"));
        assert!(!p.matches_exact("foo/bar/baz"));
        assert!(!p.matches("foobar/baz"));
        assert!(!p.matches("x/foo"));
    }
}
