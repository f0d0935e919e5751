//! Shell patterns for `${V#p}`, `${V%p}` and `${V/p/r}`.
//!
//! `*` matches any run of chars, `?` any one char, and the lexer's escape
//! character makes the next char literal. Everything else matches itself,
//! `[` and `]` included: BuildKit has no bracket expressions, and kiln must
//! build the same image from the same Dockerfile.
//!
//! BuildKit compiles these patterns to Go regular expressions (`.*`, `.`), so
//! `*` and `?` never match a newline; kiln keeps that. BuildKit rejects escapes
//! of anything but `* ? \ } /`; kiln takes any escaped char literally (see the
//! module docs of `shell`).
//!
//! Matching simulates the pattern as an automaton over its token positions,
//! so every operation is O(text × pattern): no backtracking blow-up.

/// Marks an automaton state no thread has reached.
const NONE: usize = usize::MAX;

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    AnyChar,
    /// `*`
    AnyRun,
}

impl Token {
    /// Whether this single-char token consumes `c` (false for `*`).
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyChar => c != '\n',
            Token::AnyRun => false,
        }
    }
}

/// A compiled shell pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `text`; `escape` makes the char after it literal. The only
    /// error is a pattern ending in a lone escape character.
    pub(super) fn compile(text: &str, escape: char) -> Result<Pattern, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            let token = match c {
                _ if c == escape => match chars.get(i) {
                    Some(&next) => {
                        i += 1;
                        Token::Literal(next)
                    }
                    None => return Err(format!("trailing escape character '{escape}'")),
                },
                '*' if tokens.last() == Some(&Token::AnyRun) => continue,
                '*' => Token::AnyRun,
                '?' => Token::AnyChar,
                _ => Token::Literal(c),
            };
            tokens.push(token);
        }
        Ok(Pattern { tokens })
    }

    /// The most automaton steps one operation of this pattern over `value`
    /// can take (chars × positions): what [`super::expand::MAX_PATTERN_WORK`]
    /// bounds.
    pub(super) fn work(&self, value: &str) -> usize {
        value
            .chars()
            .count()
            .saturating_add(1)
            .saturating_mul(self.tokens.len() + 1)
    }

    /// The same pattern read backwards, for matching suffixes as prefixes.
    fn reversed(&self) -> Pattern {
        let mut tokens = self.tokens.clone();
        tokens.reverse();
        Pattern { tokens }
    }

    /// `${V#p}` / `${V##p}`: `value` without its shortest (or longest)
    /// prefix that matches; unchanged when none does.
    pub(super) fn trim_prefix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        match self.prefix_len(&chars, longest) {
            Some(len) => chars[len..].iter().collect(),
            None => value.to_owned(),
        }
    }

    /// `${V%p}` / `${V%%p}`: `value` without its shortest (or longest)
    /// suffix that matches; unchanged when none does.
    pub(super) fn trim_suffix(&self, value: &str, longest: bool) -> String {
        let mut chars: Vec<char> = value.chars().collect();
        chars.reverse();
        match self.reversed().prefix_len(&chars, longest) {
            Some(len) => chars[len..].iter().rev().collect(),
            None => value.to_owned(),
        }
    }

    /// `${V/p/r}`: the leftmost-longest match replaced by `replacement`,
    /// taken literally (as BuildKit does for the first-match form).
    pub(super) fn replace_first(&self, value: &str, replacement: &str) -> String {
        let chars: Vec<char> = value.chars().collect();
        match self.find(&chars, 0) {
            Some((start, end)) => {
                let mut out: String = chars[..start].iter().collect();
                out.push_str(replacement);
                out.extend(&chars[end..]);
                out
            }
            None => value.to_owned(),
        }
    }

    /// `${V//p/r}`: every match replaced, with Go's `ReplaceAllString` rules
    /// (which BuildKit uses): matches do not overlap, an empty match right
    /// after a match is skipped, and `$0` / `${0}` in `replacement` stand for
    /// the matched text, `$$` for `$`. Stops as soon as the output is longer
    /// than `limit` bytes (the caller then rejects it): a million matches
    /// each replaced by a megabyte must not be built first.
    pub(super) fn replace_all(&self, value: &str, replacement: &str, limit: usize) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let (mut last_end, mut pos) = (0, 0);
        while pos <= chars.len() {
            let Some((start, end)) = self.find(&chars, pos) else {
                break;
            };
            out.extend(&chars[last_end..start]);
            if end > last_end || start == 0 {
                let matched: String = chars[start..end].iter().collect();
                out.push_str(&go_expand(replacement, &matched));
            }
            last_end = end;
            if out.len() > limit {
                return out;
            }
            // Always advance by at least one char.
            pos = if end > pos { end } else { pos + 1 };
        }
        out.extend(&chars[last_end..]);
        out
    }

    /// Length of the shortest (or longest) prefix of `text` the whole
    /// pattern matches.
    fn prefix_len(&self, text: &[char], longest: bool) -> Option<usize> {
        let accept = self.tokens.len();
        let mut states = vec![NONE; accept + 1];
        states[0] = 0;
        let mut found = None;
        for j in 0..=text.len() {
            self.close(&mut states);
            if states[accept] != NONE {
                found = Some(j);
                if !longest {
                    break;
                }
            }
            if j == text.len() || states.iter().all(|&s| s == NONE) {
                break;
            }
            states = self.step(&states, text[j]);
        }
        found
    }

    /// The leftmost match starting at or after `from`, and the longest one
    /// from that start, as `(start, end)` char indices. Each automaton state
    /// remembers the smallest start that reached it.
    fn find(&self, text: &[char], from: usize) -> Option<(usize, usize)> {
        let accept = self.tokens.len();
        let mut states = vec![NONE; accept + 1];
        let mut best: Option<(usize, usize)> = None;
        for j in from..=text.len() {
            if best.is_none() && states[0] == NONE {
                states[0] = j;
            }
            self.close(&mut states);
            let start = states[accept];
            if start != NONE && best.is_none_or(|(s, _)| start <= s) {
                best = Some((start, j));
            }
            if let Some((s, _)) = best {
                states
                    .iter_mut()
                    .filter(|t| **t > s)
                    .for_each(|t| *t = NONE);
            }
            let idle = states.iter().all(|&s| s == NONE);
            if j == text.len() || (best.is_some() && idle) {
                break;
            }
            states = self.step(&states, text[j]);
        }
        best
    }

    /// Adds the states reachable without consuming: past every `*`.
    fn close(&self, states: &mut [usize]) {
        for (i, token) in self.tokens.iter().enumerate() {
            if *token == Token::AnyRun && states[i] < states[i + 1] {
                states[i + 1] = states[i];
            }
        }
    }

    /// The states after consuming `c`, each keeping its smallest start.
    fn step(&self, states: &[usize], c: char) -> Vec<usize> {
        let mut next = vec![NONE; states.len()];
        for (i, token) in self.tokens.iter().enumerate() {
            let start = states[i];
            if start == NONE {
                continue;
            }
            let target = match token {
                Token::AnyRun if c != '\n' => i,
                token if token.matches(c) => i + 1,
                _ => continue,
            };
            next[target] = next[target].min(start);
        }
        next
    }
}

/// Go's `Regexp.Expand` for a regexp whose only group is the whole match:
/// `$$` is `$`, `$0`/`${0}` (any number of zeros) the match, any other
/// `$name`/`${name}` nothing, and a `$` not followed by a name stays.
fn go_expand(template: &str, matched: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match group_reference(rest) {
            Some((name, after)) => {
                if name.bytes().all(|b| b == b'0') {
                    out.push_str(matched);
                }
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}

/// The name of a `name` / `{name}` group reference at the start of `text`
/// and the text after it.
fn group_reference(text: &str) -> Option<(&str, &str)> {
    let (body, braced) = match text.strip_prefix('{') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let len = body
        .find(|c: char| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .unwrap_or(body.len());
    if len == 0 {
        return None;
    }
    let (name, after) = body.split_at(len);
    if !braced {
        return Some((name, after));
    }
    after.strip_prefix('}').map(|after| (name, after))
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
