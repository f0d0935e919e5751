//! Shell-word expansion with BuildKit's semantics (its
//! `frontend/dockerfile/shell` lexer), for Dockerfile instruction arguments.
//!
//! One pass over the word, char by char:
//! - `'…'` is literal; `"…"` expands `$` and lets the escape character escape
//!   only `"`, `$` and itself; outside quotes the escape character takes the
//!   next char literally and vanishes at the very end of the word;
//! - `$NAME`, `$1` (positional: always unset), `$@ $* $# $? $- $$ $! $0`
//!   (special: always unset); a `$` not followed by a name is literal;
//! - `${V}`, `${V-w}` `${V:-w}`, `${V+w}` `${V:+w}`, `${V?w}` `${V:?w}`,
//!   `${V#p}` `${V##p}` `${V%p}` `${V%%p}`, `${V/p/r}` `${V//p/r}`; words nest;
//! - [`Lexer::expand_words`] splits the result on whitespace that is neither
//!   quoted nor escaped, after expansion.
//!
//! Where kiln differs from BuildKit, on purpose:
//! - in patterns (`#`, `%`, `/`) the lexer's escape character makes any next
//!   char literal; BuildKit rejects escapes other than `\* \? \\ \} \/`
//!   (`[` is literal in both: no bracket expressions, as in BuildKit);
//! - `${V` at the end of the word is "missing '}'" (BuildKit: "unsupported
//!   modifier (U+FFFD)"); `${…}` nests at most 100 deep;
//! - one word expands to at most [`MAX_WORD_BYTES`] (1 MiB), else
//!   [`ShellError::TooLong`] (BuildKit has no limit and runs out of memory);
//!   a `#`/`%`/`/` pattern operation takes at most [`MAX_PATTERN_WORK`]
//!   matching steps, else [`ShellError::TooCostly`];
//! - with `skip_unset_env`, `${V//p/r}` of an unset `V` is kept with both
//!   slashes (BuildKit writes one back);
//! - `expand_words` never loses the text before a nested `${V:-w}` (current
//!   BuildKit shares one word buffer between nesting levels and resets it);
//! - names: Rust's `is_alphabetic`/`is_numeric` stand in for Go's
//!   `unicode.IsLetter`/`IsDigit`; they agree on ASCII and on letters and
//!   digits of every script, and differ only on rare chars (`²`, `Ⅻ`,
//!   combining vowel signs).
//!
//! BuildKit's quirks that kiln keeps, because Dockerfiles build the same way
//! only if they are kept: inside `"…"` with raw escapes a literal escape
//! character comes out twice; the word of `-`, `+`, `?` never keeps raw
//! escapes; the replacement of `/` and `//` keeps its escape characters;
//! `//` replacements expand `$0` to the match; `*` and `?` do not match a
//! newline; `${V#$P}` with `P=#x` trims the longest match (the `##` check
//! happens after expansion).

mod braced;
mod env;
mod error;
mod expand;
mod pattern;
mod words;

pub use env::Env;
pub use error::ShellError;
pub use expand::{MAX_PATTERN_WORK, MAX_WORD_BYTES};

use expand::Expander;

/// Expands shell words the way BuildKit's Dockerfile frontend does.
///
/// A `Lexer` is a small, copyable set of options; build it with
/// [`Lexer::new`] and the switches, then call [`Lexer::expand_word`] or
/// [`Lexer::expand_words`] as often as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset_env: bool,
}

impl Default for Lexer {
    /// The lexer for Dockerfiles without an `# escape=` directive.
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer using `escape` as the escape character: `\` by default, or the
    /// backtick a Dockerfile chooses with its `escape` parser directive.
    /// Quotes and escapes are removed and unset variables expand to nothing.
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
        }
    }

    /// Keeps quote characters in the output (used to find heredoc markers
    /// and to tell whether their delimiter was quoted).
    pub fn raw_quotes(self, on: bool) -> Lexer {
        Lexer {
            raw_quotes: on,
            ..self
        }
    }

    /// Keeps escape characters in the output (used to find heredoc markers
    /// without changing the words).
    pub fn raw_escapes(self, on: bool) -> Lexer {
        Lexer {
            raw_escapes: on,
            ..self
        }
    }

    /// Leaves `$V` and `${V…}` of unset variables as written instead of
    /// expanding them (used where the environment is not known yet).
    pub fn skip_unset_env(self, on: bool) -> Lexer {
        Lexer {
            skip_unset_env: on,
            ..self
        }
    }

    /// The escape character this lexer was made with.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expands `word` into one string: quotes removed, variables replaced,
    /// spaces kept (BuildKit's `ProcessWord`).
    pub fn expand_word(&self, word: &str, env: &dyn Env) -> Result<String, ShellError> {
        Expander::new(*self, word, env).run().map(|out| out.word)
    }

    /// Expands `word` and splits the result into words (BuildKit's
    /// `ProcessWords`). Splitting happens after expansion: text from unquoted
    /// `$` expansions splits on whitespace, quoted text and escaped chars do
    /// not, and empty words are dropped.
    pub fn expand_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ShellError> {
        Expander::new(*self, word, env).run().map(|out| out.words)
    }
}

#[cfg(test)]
mod tests;
