//! The scanner behind [`Lexer`]: one pass over the input, char by char, as
//! BuildKit's `shellWord.processStopOn` does.
//!
//! Nested words (the `w` of `${V:-w}`, a pattern, a replacement) are scanned
//! by the same scanner, recursively, up to a stop character; the `${…}` forms
//! themselves live in `braced.rs`.

use super::{env::Env, error::ShellError, words::Words, Lexer};

/// How deep `${…}` may nest inside the words of other `${…}`.
///
/// BuildKit has no limit (Go stacks grow); ours keeps any input, however
/// hostile, from overflowing the stack. Real Dockerfiles nest two or three.
const MAX_DEPTH: usize = 100;

/// The longest text one word may expand to, in bytes (1 MiB).
///
/// BuildKit has no limit, so `ARG A1=${A0}${A0}` repeated forty times asks
/// for a terabyte; kiln stops at 1 MiB per expanded word with
/// [`ShellError::TooLong`]. No real Dockerfile value comes near it: Linux
/// itself refuses a single argument or environment string over 128 KiB.
pub const MAX_WORD_BYTES: usize = 1 << 20;

/// The most automaton steps (value chars × pattern positions) one `#`, `%`
/// or `/` pattern operation may take: 16 Mi, e.g. a 64 KiB value against a
/// 256-char pattern. Matching is linear in each, but `${A#$A}` with a 1 MiB
/// `A` would take 10^12 steps (hours); kiln refuses it with
/// [`ShellError::TooCostly`] instead. BuildKit has no limit.
pub const MAX_PATTERN_WORK: usize = 1 << 24;

/// What one scan produced: the expanded text and its split words.
#[derive(Debug)]
pub(super) struct Output {
    /// Everything expanded, in one string (BuildKit's `ProcessWord`).
    pub(super) word: String,
    /// The same text split into words (BuildKit's `ProcessWords`).
    pub(super) words: Vec<String>,
}

/// Scanning state for one call to `expand_word` / `expand_words`.
pub(super) struct Expander<'a> {
    pub(super) lexer: Lexer,
    pub(super) env: &'a dyn Env,
    input: &'a str,
    chars: Vec<char>,
    pub(super) pos: usize,
    depth: usize,
}

impl<'a> Expander<'a> {
    /// Prepares to scan `input` with the lexer's settings and `env`.
    pub(super) fn new(lexer: Lexer, input: &'a str, env: &'a dyn Env) -> Self {
        let chars: Vec<char> = input.chars().collect();
        // Go's text/scanner, which BuildKit reads with, skips a leading BOM.
        let pos = usize::from(chars.first() == Some(&'\u{feff}'));
        Expander {
            lexer,
            env,
            input,
            chars,
            pos,
            depth: 0,
        }
    }

    /// Scans the whole input.
    pub(super) fn run(mut self) -> Result<Output, ShellError> {
        let raw_escapes = self.lexer.raw_escapes;
        self.scan(None, raw_escapes)
    }

    /// The input word, for error values.
    pub(super) fn input(&self) -> String {
        self.input.to_owned()
    }

    /// The next char, not consumed.
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Consumes and returns the next char.
    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Scans until `stop` (consumed, not part of the output) or, when `stop`
    /// is `None`, to the end. `raw_escapes` keeps escape characters in the
    /// output; nested words choose their own (BuildKit's `rawEscapes` flag).
    ///
    /// Reaching the end while looking for `stop` is an error: `MissingBrace`
    /// or `MissingSlash` at the end; callers re-anchor it on their `${`.
    pub(super) fn scan(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<Output, ShellError> {
        let mut word = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                let words = words.finish();
                return Ok(Output { word, words });
            }
            match c {
                '$' => {
                    let at = self.pos;
                    let text = self.dollar()?;
                    self.check_len(word.len() + text.len(), at)?;
                    words.push_split(&text);
                    word.push_str(&text);
                }
                '\'' | '"' => {
                    let at = self.pos;
                    let text = if c == '\'' {
                        self.single_quote()?
                    } else {
                        self.double_quote(raw_escapes)?
                    };
                    self.check_len(word.len() + text.len(), at)?;
                    words.push_raw(&text);
                    word.push_str(&text);
                }
                _ => self.plain(&mut word, &mut words, raw_escapes),
            }
        }
        match stop {
            None => Ok(Output {
                word,
                words: words.finish(),
            }),
            Some(stop) => Err(self.stop_not_found(stop)),
        }
    }

    /// Fails with [`ShellError::TooLong`] when an expansion at `offset`
    /// would make a word `len` bytes long, more than [`MAX_WORD_BYTES`].
    pub(super) fn check_len(&self, len: usize, offset: usize) -> Result<(), ShellError> {
        if len <= MAX_WORD_BYTES {
            return Ok(());
        }
        Err(ShellError::TooLong {
            input: self.input(),
            offset,
            limit: MAX_WORD_BYTES,
        })
    }

    /// The error for reaching the end while looking for `stop`.
    fn stop_not_found(&self, stop: char) -> ShellError {
        let (input, offset) = (self.input(), self.pos);
        match stop {
            '}' => ShellError::MissingBrace { input, offset },
            _ => ShellError::MissingSlash { input, offset },
        }
    }

    /// An unquoted char other than `$` and quotes: literal, or the escape
    /// character, which takes the next char literally (and vanishes at the
    /// very end of the input).
    fn plain(&mut self, word: &mut String, words: &mut Words, raw_escapes: bool) {
        let Some(c) = self.bump() else { return };
        if c != self.lexer.escape {
            words.push_split_char(c);
            word.push(c);
            return;
        }
        if raw_escapes {
            words.push_raw_char(c);
            word.push(c);
        }
        if let Some(next) = self.bump() {
            words.push_raw_char(next);
            word.push(next);
        }
    }

    /// `'…'`: everything literal up to the next `'`; no escapes at all.
    fn single_quote(&mut self) -> Result<String, ShellError> {
        let start = self.pos;
        let raw = self.lexer.raw_quotes;
        self.bump();
        let mut text = String::new();
        if raw {
            text.push('\'');
        }
        loop {
            match self.bump() {
                None => {
                    return Err(ShellError::UnterminatedSingleQuote {
                        input: self.input(),
                        offset: start,
                    })
                }
                Some('\'') => break,
                Some(c) => text.push(c),
            }
        }
        if raw {
            text.push('\'');
        }
        Ok(text)
    }

    /// `"…"`: `$` expands; the escape character escapes only `"`, `$` and
    /// itself and is otherwise literal. With raw escapes a literal escape
    /// character comes out twice, exactly as in BuildKit.
    fn double_quote(&mut self, raw_escapes: bool) -> Result<String, ShellError> {
        let start = self.pos;
        let raw = self.lexer.raw_quotes;
        self.bump();
        let mut text = String::new();
        if raw {
            text.push('"');
        }
        loop {
            match self.peek() {
                None => {
                    return Err(ShellError::UnterminatedDoubleQuote {
                        input: self.input(),
                        offset: start,
                    })
                }
                Some('"') => break,
                Some('$') => {
                    let at = self.pos;
                    let value = self.dollar()?;
                    self.check_len(text.len() + value.len(), at)?;
                    text.push_str(&value);
                }
                Some(_) => self.quoted_char(&mut text, raw_escapes),
            }
        }
        self.bump();
        if raw {
            text.push('"');
        }
        Ok(text)
    }

    /// One char inside double quotes (not `"` or `$`).
    fn quoted_char(&mut self, text: &mut String, raw_escapes: bool) {
        let Some(mut c) = self.bump() else { return };
        let escape = self.lexer.escape;
        if c == escape {
            if raw_escapes {
                text.push(c);
            }
            match self.peek() {
                // A lone escape at the end: dropped (the quote is unclosed anyway).
                None => return,
                Some(next) if next == '"' || next == '$' || next == escape => {
                    self.bump();
                    c = next;
                }
                Some(_) => {}
            }
        }
        text.push(c);
    }

    /// `$NAME`, `${…}` or a lone `$`. The `$` is the next char.
    fn dollar(&mut self) -> Result<String, ShellError> {
        let start = self.pos;
        self.bump();
        if self.peek() != Some('{') {
            return Ok(self.simple());
        }
        self.bump();
        if self.depth >= MAX_DEPTH {
            return Err(ShellError::TooDeep {
                input: self.input(),
                offset: start,
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        let result = self.braced(start);
        self.depth -= 1;
        result
    }

    /// `$NAME` (no braces): its value, "" when unset, or `$NAME` as written
    /// when unset and `skip_unset_env` is on. A `$` not followed by a name is
    /// a literal `$`.
    fn simple(&mut self) -> String {
        let name = self.name();
        if name.is_empty() {
            return "$".to_owned();
        }
        match self.env.lookup(&name) {
            Some(value) => value.to_owned(),
            None if self.lexer.skip_unset_env => format!("${name}"),
            None => String::new(),
        }
    }

    /// Reads a parameter name: all the digits of a positional parameter, one
    /// special parameter char (`@ * # ? - $ ! 0`), or letters, digits and `_`.
    /// Empty when none of these follows.
    pub(super) fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && is_digit(c) {
                while let Some(d) = self.peek().filter(|d| is_digit(*d)) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && is_special_parameter(c) {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphabetic() || is_digit(c) || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }
}

/// A decimal digit. Go's `unicode.IsDigit` (category Nd) has no exact
/// counterpart in std; `is_numeric` agrees on every script's digits and also
/// accepts a few other numeric chars (`²`, `Ⅻ`).
fn is_digit(c: char) -> bool {
    c.is_numeric()
}

/// POSIX special parameters; never set in a Dockerfile.
fn is_special_parameter(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}
