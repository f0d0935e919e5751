//! `.env` / `env_file` parsing with compose-go's rules (`dotenv/parser.go`,
//! itself derived from joho/godotenv), which docker compose v2 applies to the
//! project `.env`, `--env-file`s and services' `env_file`s.
//!
//! The rules, as compose-go applies them:
//! - a UTF-8 byte order mark at the start is skipped; blank lines and lines
//!   whose first non-blank character is `#` are comments;
//! - a statement is `KEY=value`, `KEY: value` (YAML style) or `export KEY=...`,
//!   with blanks allowed around `=`; a line holding only `KEY` takes KEY's value
//!   from the lookup, or is skipped when the lookup has none;
//! - keys hold Unicode letters and digits and `_ . - [ ]`; a key with a space
//!   inside is refused ("key cannot contain a space");
//! - an unquoted value runs to the end of the line, is cut at the first ` #`
//!   (a `#` not preceded by a space is kept) and right-trimmed (so CRLF works);
//! - single quotes are literal (`\'` is the only escape); double quotes may span
//!   lines, expand `\a \b \f \n \r \t \v \\ \" \$` and octal `\0NNN`, and keep
//!   other backslash sequences as they are; text after the closing quote on the
//!   same line is read as the next statement, as compose-go does;
//! - `$NAME` / `${...}` are substituted (see [`interpolate`](super::interpolate))
//!   in unquoted and double-quoted values, looking first at the lookup and then
//!   at the keys set earlier.
//!
//! Where kiln differs: errors carry the line where the statement or value
//! starts (compose-go counts lines as it goes and can be off after quoted
//! values), every error has a line, and the text must be UTF-8 (callers convert).

use super::env_map::EnvMap;
use super::interpolate::{substitute, TemplateError};
use crate::go_quote;
use regex::Regex;
use std::sync::LazyLock;

/// Why a `.env` text was refused. Every variant carries its 1-based line; the
/// messages are compose-go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotenvError {
    /// `KEY WITH SPACE=value`.
    #[error("line {line}: key cannot contain a space")]
    KeyWithSpace {
        /// The statement's line.
        line: usize,
    },
    /// A key holds a character outside letters, digits and `_ . - [ ]`.
    #[error("line {line}: unexpected character {} in variable name {}",
        go_quote(&character.to_string()), go_quote(statement))]
    UnexpectedCharacter {
        /// The line of the character.
        line: usize,
        /// The character.
        character: char,
        /// The statement's first line.
        statement: String,
    },
    /// A quoted value without its closing quote.
    #[error("line {line}: unterminated quoted value {value}")]
    UnterminatedQuote {
        /// The line where the value starts.
        line: usize,
        /// The value's first line, from its opening quote.
        value: String,
    },
    /// `export` followed only by blanks at the end of the text.
    #[error("line {line}: zero length string")]
    ZeroLength {
        /// The statement's line.
        line: usize,
    },
    /// A `${...}` in a value failed (`${VAR:?message}`, invalid template).
    #[error("line {line}: {error}")]
    Template {
        /// The statement's line.
        line: usize,
        /// What the substitution said (shown in the message).
        error: TemplateError,
    },
}

impl DotenvError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            DotenvError::KeyWithSpace { line }
            | DotenvError::UnexpectedCharacter { line, .. }
            | DotenvError::UnterminatedQuote { line, .. }
            | DotenvError::ZeroLength { line }
            | DotenvError::Template { line, .. } => *line,
        }
    }
}

/// How a parse resolves names: `lookup(name, parsed_so_far)`.
///
/// It answers bare `KEY` lines, and is asked first when substituting `${...}`
/// (the keys parsed so far are asked after it).
pub type Lookup<'a> = &'a dyn Fn(&str, &EnvMap) -> Option<String>;

/// Parses a `.env` text, every key kept (compose-go's `dotenv.ParseWithLookup`).
/// `lookup` is the environment a bare `KEY` and `${...}` see first.
pub fn parse(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<EnvMap, DotenvError> {
    let mut out = EnvMap::new();
    parse_into(text, &mut out, &|name, _| lookup(name))?;
    Ok(out)
}

/// Parses a `.env` text as compose-go's `dotenv.Read`/`ReadWithLookup` do:
/// like [`parse`], then keys that start with a digit are dropped.
pub fn read(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<EnvMap, DotenvError> {
    Ok(parse(text, lookup)?
        .into_iter()
        .filter(|(key, _)| !starts_with_digit(key))
        .collect())
}

/// Whether `key` matches compose-go's `^\s*\d.*` (ASCII blanks, ASCII digit).
fn starts_with_digit(key: &str) -> bool {
    key.trim_start_matches(['\t', '\n', '\x0C', '\r', ' '])
        .starts_with(|c: char| c.is_ascii_digit())
}

/// Parses `text` into `out`, which may hold keys already (later keys win).
pub fn parse_into(text: &str, out: &mut EnvMap, lookup: Lookup<'_>) -> Result<(), DotenvError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    Parser {
        src: text,
        out,
        lookup,
    }
    .run()
}

/// compose-go's `isSpace`: blanks that are not a line break.
fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\x0B' | '\x0C' | '\r' | ' ' | '\u{85}' | '\u{A0}')
}

/// Go's `unicode.IsLetter(c) || unicode.IsNumber(c)` (categories L and N).
fn is_letter_or_number(c: char) -> bool {
    static LN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[\p{L}\p{N}]$").expect("a valid character class"));
    c.is_ascii_alphanumeric() || (!c.is_ascii() && LN.is_match(c.encode_utf8(&mut [0; 4])))
}

static EXPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^export[\t\n\x0C\r ]+").expect("a valid pattern"));

struct Parser<'t, 'o, 'l> {
    src: &'t str,
    out: &'o mut EnvMap,
    lookup: Lookup<'l>,
}

/// A located key: where it starts, the key, where the value starts, and
/// whether the statement is a bare `KEY` line.
struct Key<'t> {
    start: usize,
    name: &'t str,
    value_at: usize,
    bare: bool,
}

impl<'t> Parser<'t, '_, '_> {
    fn line_at(&self, offset: usize) -> usize {
        1 + self.src.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn run(&mut self) -> Result<(), DotenvError> {
        let mut pos = 0;
        while let Some(start) = self.statement_start(pos) {
            let key = self.locate_key(start)?;
            if key.name.contains(' ') {
                return Err(DotenvError::KeyWithSpace {
                    line: self.line_at(key.start),
                });
            }
            if key.bare {
                if let Some(value) = (self.lookup)(key.name, &*self.out) {
                    self.out.insert(key.name, value);
                }
                pos = key.value_at;
                continue;
            }
            let (value, next) = self.value(key.value_at, key.start)?;
            self.out.insert(key.name, value);
            pos = next;
        }
        Ok(())
    }

    /// The offset of the next statement, skipping blanks and comment lines.
    fn statement_start(&self, mut pos: usize) -> Option<usize> {
        loop {
            let rest = &self.src[pos..];
            let at = pos + rest.find(|c: char| !c.is_whitespace())?;
            if !self.src[at..].starts_with('#') {
                return Some(at);
            }
            pos = at + self.src[at..].find('\n')?;
        }
    }

    fn locate_key(&self, mut start: usize) -> Result<Key<'t>, DotenvError> {
        if EXPORT.is_match(&self.src[start..]) {
            let after = start + "export".len();
            start = after + self.blank_len(after);
        }
        let src = &self.src[start..];
        if src.is_empty() {
            return Err(DotenvError::ZeroLength {
                line: self.line_at(start),
            });
        }
        let (mut name, mut value_at, mut bare) = ("", start, false);
        for (i, c) in src.char_indices() {
            match c {
                c if is_blank(c) => continue,
                '=' | ':' | '\n' => {
                    (name, value_at, bare) = (&src[..i], start + i + 1, c == '\n');
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if is_letter_or_number(c) => {}
                c => {
                    return Err(DotenvError::UnexpectedCharacter {
                        line: self.line_at(start + i),
                        character: c,
                        statement: src.split('\n').next().unwrap_or("").to_string(),
                    })
                }
            }
        }
        Ok(Key {
            start,
            name: name.trim_end_matches(char::is_whitespace),
            value_at: value_at + self.blank_len(value_at),
            bare,
        })
    }

    /// The length of the run of [`is_blank`] characters at `pos`.
    fn blank_len(&self, pos: usize) -> usize {
        let rest = &self.src[pos..];
        rest.find(|c: char| !is_blank(c)).unwrap_or(rest.len())
    }

    /// Reads the value at `pos`; returns it and where the next statement may
    /// start. `stmt` is the statement's start, for error lines.
    fn value(&self, pos: usize, stmt: usize) -> Result<(String, usize), DotenvError> {
        let src = &self.src[pos..];
        let quote = match src.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => {
                let (line, next) = match src.find('\n') {
                    Some(nl) => (&src[..nl], pos + nl + 1),
                    None => (src, self.src.len()),
                };
                let line = line.split(" #").next().unwrap_or("");
                let value = line.trim_end_matches(char::is_whitespace);
                return Ok((self.expand(value, stmt)?, next));
            }
        };
        let Some((raw, len)) = quoted(src, quote) else {
            let first_line = src.split('\n').next().unwrap_or("");
            return Err(DotenvError::UnterminatedQuote {
                line: self.line_at(pos),
                value: first_line.to_string(),
            });
        };
        let value = if quote == b'"' {
            self.expand(&expand_escapes(&raw), stmt)?
        } else {
            raw
        };
        Ok((value, pos + len))
    }

    /// Substitutes `${...}`: the lookup first, then the keys set so far.
    fn expand(&self, value: &str, stmt: usize) -> Result<String, DotenvError> {
        let out: &EnvMap = &*self.out;
        let lookup = |name: &str| (self.lookup)(name, out).or_else(|| out.get(name).cloned());
        substitute(value, &lookup).map_err(|error| DotenvError::Template {
            line: self.line_at(stmt),
            error,
        })
    }
}

/// The text between the quote at `src[0]` and its closing `quote`, with the
/// backslash dropped before an escaped quote and kept before anything else;
/// and the length consumed, closing quote included. `None` when unterminated.
fn quoted(src: &str, quote: u8) -> Option<(String, usize)> {
    let bytes = src.as_bytes();
    let mut chars = Vec::new();
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if b == quote {
            if escaped {
                escaped = false;
                chars.push(b);
                continue;
            }
            // Only ASCII bytes were split on, so the bytes are still UTF-8.
            let text = String::from_utf8_lossy(&chars).into_owned();
            return Some((text, i + 1));
        }
        if !escaped && b == b'\\' {
            escaped = true;
            continue;
        }
        if escaped {
            escaped = false;
            chars.push(b'\\');
        }
        chars.push(b);
    }
    None
}

/// Expands the escapes of a double-quoted value (compose-go's `expandEscapes`):
/// `\$` becomes `$$` so that substitution leaves a literal `$`.
pub fn expand_escapes(text: &str) -> String {
    static ESCAPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})"#).expect("a valid pattern")
    });
    ESCAPE
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let matched = &caps[0];
            match &matched[1..] {
                "$" => "$$".to_string(),
                "a" => "\x07".to_string(),
                "b" => "\x08".to_string(),
                "f" => "\x0C".to_string(),
                "n" => "\n".to_string(),
                "r" => "\r".to_string(),
                "t" => "\t".to_string(),
                "v" => "\x0B".to_string(),
                "\\" => "\\".to_string(),
                "\"" => "\"".to_string(),
                digits => octal(digits).unwrap_or_else(|| matched.to_string()),
            }
        })
        .into_owned()
}

/// `0NNN` with three octal digits worth at most 255, as the character with
/// that code point (Go's `strconv.UnquoteChar` of `\NNN`, then `string(rune)`).
fn octal(digits: &str) -> Option<String> {
    let digits = digits.strip_prefix('0')?;
    if digits.len() != 3 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let code = u32::from_str_radix(digits, 8).ok().filter(|&c| c <= 255)?;
    char::from_u32(code).map(String::from)
}
