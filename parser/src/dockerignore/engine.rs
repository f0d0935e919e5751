//! The backtracking matcher behind wildcard patterns.
//!
//! Docker turns a wildcard pattern into an anchored Go regexp; a [`Token`] is one
//! piece of that regexp, and [`matches`] is a memoised full-string match of the
//! token list against a path, so it runs in O(tokens × chars²) at worst.

use super::class::Class;

/// One element of a compiled wildcard pattern (the regexp fragment Docker emits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A literal character (also an escaped one, `\*`).
    Lit(char),
    /// `*`: any run of characters other than `/` (regexp `[^/]*`).
    Star,
    /// `?`: one character other than `/` (regexp `[^/]`).
    AnyChar,
    /// `[...]`: one character from a class (may be `/`).
    Class(Class),
    /// `**` or `**/` inside a pattern: zero or more whole directories
    /// (regexp `(.*/)?`).
    DirStar,
    /// `**` ending a pattern: anything at all (regexp `.*`).
    Rest,
    /// An unescaped `^`, which Docker passes through to its regexp as an anchor:
    /// it matches the empty string at the very start of the path only.
    Anchor,
}

/// Whether `tokens` match all of `path`.
pub(crate) fn matches(tokens: &[Token], path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    let width = chars.len() + 1;
    let mut engine = Engine {
        tokens,
        chars: &chars,
        memo: vec![None; (tokens.len() + 1) * width],
    };
    engine.at(0, 0)
}

struct Engine<'a> {
    tokens: &'a [Token],
    chars: &'a [char],
    /// Result of matching `tokens[t..]` against `chars[p..]`, at `t * width + p`.
    memo: Vec<Option<bool>>,
}

impl Engine<'_> {
    /// Memoised: do `tokens[t..]` match `chars[p..]`?
    fn at(&mut self, t: usize, p: usize) -> bool {
        let key = t * (self.chars.len() + 1) + p;
        if let Some(known) = self.memo[key] {
            return known;
        }
        let result = self.step(t, p);
        self.memo[key] = Some(result);
        result
    }

    fn step(&mut self, t: usize, p: usize) -> bool {
        let (tokens, chars) = (self.tokens, self.chars);
        let Some(token) = tokens.get(t) else {
            return p == chars.len();
        };
        let next = chars.get(p).copied();
        match token {
            Token::Lit(c) => next == Some(*c) && self.at(t + 1, p + 1),
            Token::AnyChar => next.is_some_and(|c| c != '/') && self.at(t + 1, p + 1),
            Token::Class(class) => next.is_some_and(|c| class.contains(c)) && self.at(t + 1, p + 1),
            Token::Anchor => p == 0 && self.at(t + 1, p),
            Token::Star => {
                let end = self.run_end(p, '/');
                (p..=end).any(|q| self.at(t + 1, q))
            }
            // Go's `.` does not match a newline.
            Token::Rest => {
                let end = self.run_end(p, '\n');
                (p..=end).any(|q| self.at(t + 1, q))
            }
            Token::DirStar => {
                let end = self.run_end(p, '\n');
                self.at(t + 1, p) || (p..end).any(|q| chars[q] == '/' && self.at(t + 1, q + 1))
            }
        }
    }

    /// Index of the first `stop` character at or after `p` (or the path's length).
    fn run_end(&self, p: usize, stop: char) -> usize {
        self.chars[p..]
            .iter()
            .position(|&c| c == stop)
            .map_or(self.chars.len(), |i| p + i)
    }
}

#[cfg(test)]
mod tests {
    use super::Token::*;
    use super::*;

    fn lits(s: &str) -> Vec<Token> {
        s.chars().map(Lit).collect()
    }

    #[test]
    fn star_stays_within_an_element() {
        let tokens = [vec![Star], lits(".go")].concat();
        assert!(matches(&tokens, "main.go"));
        assert!(matches(&tokens, ".go"));
        assert!(!matches(&tokens, "cmd/main.go"));
    }

    #[test]
    fn dir_star_spans_whole_directories() {
        let tokens = [lits("a/"), vec![DirStar], lits("b")].concat();
        assert!(matches(&tokens, "a/b"));
        assert!(matches(&tokens, "a/x/y/b"));
        assert!(!matches(&tokens, "a/xb"));
        assert!(!matches(&tokens, "a/x\n/b"));
    }

    #[test]
    fn rest_anchor_and_any_char() {
        assert!(matches(&[Lit('a'), Rest], "a/b/c"));
        assert!(!matches(&[Lit('a'), Rest], "a\nb"));
        assert!(matches(&[Anchor, Lit('a'), Star], "ab"));
        assert!(!matches(&[Lit('a'), Anchor, Star], "ab"));
        assert!(matches(&[AnyChar], "é"));
        assert!(!matches(&[AnyChar], "/"));
    }

    #[test]
    fn many_stars_stay_fast() {
        let tokens: Vec<Token> = std::iter::repeat_n([Star, Lit('a')], 30)
            .flatten()
            .collect();
        assert!(!matches(&tokens, &"a".repeat(29)));
        assert!(matches(&tokens, &"a".repeat(40)));
    }
}
