//! Compiling one cleaned pattern the way Docker's `patternmatcher` does.
//!
//! Docker scans the pattern once, left to right, and picks one of four strategies:
//!
//! - *exact*: no wildcard at all; the path must equal the pattern;
//! - *prefix*: only literals, then a final `**` (`foo/**`, `foo**`); the path must
//!   start with the pattern minus that `**`;
//! - *suffix*: a leading `**` followed by literals only (`**/foo`, `**.txt`, `**`);
//!   the path must end with the pattern minus that `**`, or (when what remains
//!   starts with `/`) equal it without the `/`. So `**.txt` matches `a/b.txt` and
//!   `**/foo` matches `foo` and `a/foo` but not `afoo`;
//! - *tokens*: anything else, matched as Docker's anchored regexp would be.
//!
//! These shortcuts are observable (`**.txt` and `a/**.txt` behave differently),
//! so kiln reproduces them rather than one uniform glob engine.

use std::iter::Peekable;
use std::str::Chars;

use super::class::Class;
use super::engine::{self, Token};
use super::error::SyntaxError;

/// A compiled pattern: the matching strategy Docker would pick for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The path must equal this text.
    Exact(String),
    /// The path must start with this text.
    Prefix(String),
    /// The path must end with this text (or equal it without a leading `/`).
    Suffix(String),
    /// The path must match these tokens in full.
    Tokens(Vec<Token>),
}

impl Kind {
    /// Whether `path` (clean, relative, `/`-separated) matches, without looking at
    /// its parent directories.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match self {
            Kind::Exact(text) => path == text,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str()) || suffix.strip_prefix('/') == Some(path)
            }
            Kind::Tokens(tokens) => engine::matches(tokens, path),
        }
    }
}

/// Compiles a cleaned pattern (no leading `!`), validating its syntax.
pub(crate) fn compile(pattern: &str) -> Result<Kind, SyntaxError> {
    let mut scanner = Scanner {
        chars: pattern.chars().peekable(),
        tokens: Vec::new(),
        mode: Mode::Exact,
    };
    let mut first = true;
    while let Some(c) = scanner.chars.next() {
        scanner.step(c, first)?;
        first = false;
    }
    Ok(scanner.finish(pattern))
}

/// The strategy detected so far (Docker's `matchType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Prefix,
    Suffix,
    Tokens,
}

struct Scanner<'a> {
    chars: Peekable<Chars<'a>>,
    tokens: Vec<Token>,
    mode: Mode,
}

impl Scanner<'_> {
    /// Handles one character `c` (already consumed); `first` when it opened the pattern.
    fn step(&mut self, c: char, first: bool) -> Result<(), SyntaxError> {
        match c {
            '*' if self.chars.next_if_eq(&'*').is_some() => self.double_star(first),
            '*' => self.wildcard(Token::Star),
            '?' => self.wildcard(Token::AnyChar),
            '\\' => {
                let escaped = self.chars.next().ok_or(SyntaxError::TrailingEscape)?;
                self.wildcard(Token::Lit(escaped));
            }
            '[' => {
                let class = Class::parse(&mut self.chars)?;
                self.wildcard(Token::Class(class));
            }
            // A stray `]` is a literal, but Docker still switches to its regexp.
            ']' => self.wildcard(Token::Lit(']')),
            '^' => self.tokens.push(Token::Anchor),
            c => self.tokens.push(Token::Lit(c)),
        }
        Ok(())
    }

    /// A token that forces the regexp strategy.
    fn wildcard(&mut self, token: Token) {
        self.tokens.push(token);
        self.mode = Mode::Tokens;
    }

    /// `**` (both stars consumed), with an optional `/` after it.
    fn double_star(&mut self, first: bool) {
        self.chars.next_if_eq(&'/');
        if self.chars.peek().is_some() {
            self.wildcard(Token::DirStar);
        } else if self.mode == Mode::Exact {
            self.mode = Mode::Prefix;
        } else {
            self.wildcard(Token::Rest);
        }
        if first {
            self.mode = Mode::Suffix;
        }
    }

    fn finish(self, pattern: &str) -> Kind {
        match self.mode {
            Mode::Exact => Kind::Exact(pattern.to_string()),
            Mode::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
            Mode::Suffix => Kind::Suffix(pattern[2..].to_string()),
            Mode::Tokens => Kind::Tokens(self.tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(pattern: &str) -> Kind {
        compile(pattern).unwrap()
    }

    #[test]
    fn picks_dockers_strategy() {
        assert_eq!(kind("a/b.txt"), Kind::Exact("a/b.txt".into()));
        assert_eq!(kind("a^b"), Kind::Exact("a^b".into()));
        assert_eq!(kind("foo/**"), Kind::Prefix("foo/".into()));
        assert_eq!(kind("**"), Kind::Suffix(String::new()));
        assert_eq!(kind("**/foo"), Kind::Suffix("/foo".into()));
        assert_eq!(kind("**.txt"), Kind::Suffix(".txt".into()));
        assert!(matches!(kind("**/*.txt"), Kind::Tokens(_)));
        assert!(matches!(kind("a\\b"), Kind::Tokens(_)));
        assert!(matches!(kind("a]"), Kind::Tokens(_)));
        assert!(matches!(kind("*/foo/**"), Kind::Tokens(_)));
    }

    #[test]
    fn strategies_match_like_docker() {
        assert!(kind("**.txt").matches("a/b.txt"));
        assert!(kind("**/foo").matches("foo"));
        assert!(kind("**/foo").matches("a/b/foo"));
        assert!(!kind("**/foo").matches("afoo"));
        assert!(kind("foo**").matches("foobar/x"));
        assert!(!kind("foo/**").matches("foo"));
        // In the regexp strategy `**` not followed by `/` still means `(.*/)?`.
        assert!(!kind("a/**.txt").matches("a/b.txt"));
        assert!(kind("a/**.txt").matches("a/b/.txt"));
        // `^` is an anchor once Docker uses its regexp.
        assert!(kind("^*.txt").matches("a.txt"));
        assert!(kind("a^b").matches("a^b"));
        assert!(!kind("a^*").matches("a^b"));
    }

    #[test]
    fn reports_syntax_errors() {
        assert_eq!(compile("a\\"), Err(SyntaxError::TrailingEscape));
        assert_eq!(compile("a[b"), Err(SyntaxError::UnterminatedClass));
        assert_eq!(compile("[]"), Err(SyntaxError::EmptyClass));
    }
}
