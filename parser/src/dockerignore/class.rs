//! Character classes `[...]` with the syntax of Go's `filepath.Match`.
//!
//! ```text
//! '[' [ '^' ] { range } ']'      at least one range
//! range: c | '\' c | lo '-' hi   c is any character but an unescaped '\', '-' or ']'
//! ```
//!
//! A class matches exactly one character, and (as in both `filepath.Match` and
//! Docker's regexp translation) that character may be `/`.

use std::iter::Peekable;
use std::str::Chars;

use super::error::SyntaxError;

/// A parsed character class: a set of inclusive ranges, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    /// Parses a class body; the opening `[` has already been consumed, the closing
    /// `]` is consumed here.
    pub(crate) fn parse(chars: &mut Peekable<Chars<'_>>) -> Result<Class, SyntaxError> {
        let negated = chars.next_if_eq(&'^').is_some();
        let mut ranges = Vec::new();
        loop {
            if chars.next_if_eq(&']').is_some() {
                if ranges.is_empty() {
                    return Err(SyntaxError::EmptyClass);
                }
                return Ok(Class { negated, ranges });
            }
            let lo = class_char(chars)?;
            let hi = match chars.next_if_eq(&'-') {
                Some(_) => class_char(chars)?,
                None => lo,
            };
            if hi < lo {
                return Err(SyntaxError::ReversedRange { lo, hi });
            }
            ranges.push((lo, hi));
        }
    }

    /// Whether the class matches `c`.
    pub(crate) fn contains(&self, c: char) -> bool {
        let inside = self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
        inside != self.negated
    }
}

/// One (possibly escaped) class character.
fn class_char(chars: &mut Peekable<Chars<'_>>) -> Result<char, SyntaxError> {
    match chars.next() {
        None => Err(SyntaxError::UnterminatedClass),
        Some('\\') => chars.next().ok_or(SyntaxError::UnterminatedClass),
        Some(c @ ('-' | ']')) => Err(SyntaxError::BadClassChar(c)),
        Some(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Class, SyntaxError> {
        Class::parse(&mut body.chars().peekable())
    }

    #[test]
    fn ranges_negation_and_escapes() {
        let class = parse("a-cx]").unwrap();
        assert!(class.contains('b') && class.contains('x') && !class.contains('d'));
        let class = parse("^a-c]").unwrap();
        assert!(!class.contains('a') && class.contains('/'));
        let class = parse("\\]\\-]").unwrap();
        assert!(class.contains(']') && class.contains('-') && !class.contains('\\'));
        let class = parse("*?]").unwrap();
        assert!(class.contains('*') && class.contains('?'));
    }

    #[test]
    fn rejects_malformed_classes() {
        assert_eq!(parse("]"), Err(SyntaxError::EmptyClass));
        assert_eq!(parse("^]"), Err(SyntaxError::EmptyClass));
        assert_eq!(parse("abc"), Err(SyntaxError::UnterminatedClass));
        assert_eq!(parse("a\\"), Err(SyntaxError::UnterminatedClass));
        assert_eq!(parse("-a]"), Err(SyntaxError::BadClassChar('-')));
        assert_eq!(parse("a-]"), Err(SyntaxError::BadClassChar(']')));
        assert_eq!(
            parse("z-a]"),
            Err(SyntaxError::ReversedRange { lo: 'z', hi: 'a' })
        );
    }
}
