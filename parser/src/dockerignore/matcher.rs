//! Deciding whether a context path is ignored, and whether a walker may prune a
//! directory.

use super::clean::context_relative;
use super::error::DockerignoreError;
use super::file::parse;
use super::pattern::Pattern;

/// Characters that make BuildKit treat an exception as a wildcard (its
/// `patternChars`, with `\` included as on every `/`-separated platform).
const WILDCARD_CHARS: &[char] = &['*', '[', ']', '?', '^', '\\'];

/// The patterns of one `.dockerignore`, ready to answer "is this path ignored?".
///
/// Every pattern is tried in order and the last one that matches the path (or
/// one of its parent directories) decides: an exclusion ignores the path, an
/// exception (`!`) keeps it. A path no pattern matches is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    /// Some exception, minus a trailing `/**` or `/*`, still has a wildcard.
    wildcard_exceptions: bool,
}

impl Matcher {
    /// A matcher over `patterns`, tried in the given order.
    pub fn new(patterns: Vec<Pattern>) -> Matcher {
        let wildcard_exceptions = patterns
            .iter()
            .any(|p| p.is_exception() && stem(p.text()).contains(WILDCARD_CHARS));
        Matcher {
            patterns,
            wildcard_exceptions,
        }
    }

    /// Reads the text of a `.dockerignore` (see [`super::parse`]) into a matcher.
    ///
    /// # Errors
    ///
    /// The first invalid line, as [`super::parse`] reports it.
    pub fn parse(text: &str) -> Result<Matcher, DockerignoreError> {
        Ok(Matcher::new(parse(text)?))
    }

    /// The patterns, in file order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether there is no pattern at all (nothing is ignored).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an exception (`!`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(Pattern::is_exception)
    }

    /// Whether `path` is ignored, i.e. left out of the build context.
    ///
    /// `path` is relative to the context root with `/` separators; it is cleaned
    /// first (`./a//b/` is `a/b`, a leading `/` is dropped). The root itself (`.`)
    /// is never ignored, whatever the patterns say.
    pub fn matches(&self, path: &str) -> bool {
        let path = context_relative(path);
        if path == "." {
            return false;
        }
        let mut ignored = false;
        for pattern in &self.patterns {
            // An exclusion cannot change an ignored path, nor an exception a kept one.
            if pattern.is_exception() != ignored {
                continue;
            }
            if pattern.matches(&path) {
                ignored = !pattern.is_exception();
            }
        }
        ignored
    }

    /// Whether a walker may skip everything below the directory `dir` without
    /// looking: `dir` is ignored and no exception could re-include anything in it.
    ///
    /// This is BuildKit's pruning rule, so a walker that uses it sends exactly the
    /// files BuildKit sends: when some exception (minus a trailing `/**` or `/*`)
    /// has a wildcard, no ignored directory is pruned (`!**/keep.txt` can match at
    /// any depth); otherwise an ignored `dir` is pruned unless an exception's text
    /// lies inside it (`docs` + `!docs/keep.txt` descends into `docs`). Inside a
    /// descended directory each entry is still decided by [`Matcher::matches`];
    /// the walker sends the parent directories of the files it keeps.
    pub fn can_skip_dir(&self, dir: &str) -> bool {
        if !self.matches(dir) {
            return false;
        }
        if self.wildcard_exceptions {
            return false;
        }
        let dir_slash = format!("{}/", context_relative(dir));
        !self
            .patterns
            .iter()
            .filter(|p| p.is_exception())
            .any(|p| format!("{}/", stem(p.text())).starts_with(&dir_slash))
    }
}

/// The pattern without a trailing `/**`, then without a trailing `/*`.
fn stem(text: &str) -> &str {
    let text = text.strip_suffix("/**").unwrap_or(text);
    text.strip_suffix("/*").unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(text: &str) -> Matcher {
        Matcher::parse(text).unwrap()
    }

    #[test]
    fn last_match_wins() {
        let m = matcher("*.md\n!README.md");
        assert!(m.matches("CHANGES.md"));
        assert!(!m.matches("README.md"));
        let m = matcher("!README.md\n*.md");
        assert!(m.matches("README.md"));
    }

    #[test]
    fn root_is_never_ignored() {
        let m = matcher("*\n**\n.");
        assert!(!m.matches("."));
        assert!(!m.matches(""));
        assert!(!m.matches("/"));
        assert!(m.matches("a"));
    }

    #[test]
    fn pruning_follows_buildkit() {
        let m = matcher("docs\n!docs/keep.txt");
        assert!(!m.can_skip_dir("docs"));
        assert!(m.matches("docs/other.txt"));
        assert!(!m.matches("docs/keep.txt"));

        let m = matcher("docs\nbuild\n!docs/keep.txt");
        assert!(m.can_skip_dir("build"));
        assert!(!m.can_skip_dir("src"));

        let m = matcher("docs\nbuild\n!**/keep.txt");
        assert!(!m.can_skip_dir("build"));

        let m = matcher("*\n!src/**");
        assert!(!m.can_skip_dir("src"));
        assert!(m.can_skip_dir("target"));

        let m = matcher("node_modules");
        assert!(m.can_skip_dir("node_modules"));
        assert!(m.can_skip_dir("./node_modules/"));
    }
}
