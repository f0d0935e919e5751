//! `${…}`: `${V}` and its modifiers `-` `+` `?` (each also with `:`), `#`
//! `##` `%` `%%` and `/` `//`, following BuildKit's `processDollar`.
//!
//! The order of the steps is BuildKit's and is observable: the modifier's word
//! is scanned (and expanded) first, then an unset variable under
//! `skip_unset_env` yields the expression back, and only then is the modifier
//! checked (`${X:=a}` is kept as is when `X` is unset and skipped).

use super::expand::{Expander, MAX_PATTERN_WORK, MAX_WORD_BYTES};
use super::{error::ShellError, pattern::Pattern};

/// The `${…}` being expanded: where its `$` is and which variable it names.
struct Subst {
    start: usize,
    name: String,
}

impl Expander<'_> {
    /// Expands a `${…}`; the `${` is consumed and `start` is the `$`.
    pub(super) fn braced(&mut self, start: usize) -> Result<String, ShellError> {
        match self.peek() {
            None => return Err(self.missing_brace(start)),
            Some('{' | '}' | ':') => {
                return Err(ShellError::BadSubstitution {
                    input: self.input(),
                    offset: self.pos,
                })
            }
            Some(_) => {}
        }
        let subst = Subst {
            start,
            name: self.name(),
        };
        let op_at = self.pos;
        match self.bump() {
            // BuildKit says "unsupported modifier (\u{fffd})" here; the
            // missing brace is the real problem.
            None => Err(self.missing_brace(start)),
            Some('}') => Ok(self.plain_value(&subst)),
            Some(':') => self.colon(&subst),
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.modifier(&subst, op, op_at, false),
            Some('/') => self.replace(&subst),
            Some(other) => Err(self.unsupported(op_at, other.to_string())),
        }
    }

    /// `${V}`.
    fn plain_value(&self, subst: &Subst) -> String {
        match self.env.lookup(&subst.name) {
            Some(value) => value.to_owned(),
            None if self.lexer.skip_unset_env => format!("${{{}}}", subst.name),
            None => String::new(),
        }
    }

    /// `${V:…`: the char after the colon is the modifier, and an empty value
    /// counts as unset. `:#` and `:%` are refused before their word is read.
    fn colon(&mut self, subst: &Subst) -> Result<String, ShellError> {
        let op_at = self.pos;
        match self.bump() {
            None => Err(self.missing_brace(subst.start)),
            Some(op @ ('#' | '%')) => Err(self.unsupported(op_at, format!(":{op}"))),
            Some(op) => self.modifier(subst, op, op_at, true),
        }
    }

    /// `${V<op>word}` for every `op` but `/`; the word is scanned up to the
    /// matching `}` (escapes kept raw for the `#`/`%` patterns).
    fn modifier(
        &mut self,
        subst: &Subst,
        op: char,
        op_at: usize,
        colon: bool,
    ) -> Result<String, ShellError> {
        let word = self.word_until(subst.start, '}', matches!(op, '#' | '%'))?;
        let modifier = if colon {
            format!(":{op}")
        } else {
            op.to_string()
        };
        let env = self.env;
        let value = env.lookup(&subst.name);
        if value.is_none() && self.lexer.skip_unset_env {
            return Ok(format!("${{{}{modifier}{word}}}", subst.name));
        }
        let unset = value.is_none_or(|v| colon && v.is_empty());
        match op {
            '-' if unset => Ok(word),
            '-' => Ok(value.unwrap_or_default().to_owned()),
            '+' if unset => Ok(String::new()),
            '+' => Ok(word),
            '?' => self.required(subst, value, colon, word),
            '#' | '%' => self.trim(op, op_at + 1, value.unwrap_or_default(), &word),
            _ => Err(self.unsupported(op_at, modifier)),
        }
    }

    /// `${V?msg}` / `${V:?msg}`: the value, or an error naming the variable.
    fn required(
        &self,
        subst: &Subst,
        value: Option<&str>,
        colon: bool,
        message: String,
    ) -> Result<String, ShellError> {
        let (input, offset, name) = (self.input(), subst.start, subst.name.clone());
        match value {
            Some(v) if !(colon && v.is_empty()) => Ok(v.to_owned()),
            _ if !message.is_empty() => Err(ShellError::Rejected {
                input,
                offset,
                name,
                message,
            }),
            Some(_) => Err(ShellError::Empty {
                input,
                offset,
                name,
            }),
            None => Err(ShellError::Unset {
                input,
                offset,
                name,
            }),
        }
    }

    /// `${V#p}` `${V##p}` `${V%p}` `${V%%p}`: as in BuildKit, a word that
    /// (after expansion) starts with the operator again asks for the longest
    /// match.
    fn trim(
        &self,
        op: char,
        pattern_at: usize,
        value: &str,
        word: &str,
    ) -> Result<String, ShellError> {
        let (longest, text) = match word.strip_prefix(op) {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let pattern = self.compile(text, pattern_at)?;
        self.check_work(&pattern, value, pattern_at)?;
        Ok(if op == '#' {
            pattern.trim_prefix(value, longest)
        } else {
            pattern.trim_suffix(value, longest)
        })
    }

    /// `${V/p/r}` (first match) and `${V//p/r}` (every match); the `/` is
    /// consumed. Pattern and replacement keep their escapes raw.
    fn replace(&mut self, subst: &Subst) -> Result<String, ShellError> {
        let all = self.peek() == Some('/');
        if all {
            self.bump();
        }
        let pattern_at = self.pos;
        let pattern = self.word_until(subst.start, '/', true)?;
        let replacement = self.word_until(subst.start, '}', true)?;
        let env = self.env;
        let value = env.lookup(&subst.name);
        if value.is_none() && self.lexer.skip_unset_env {
            // BuildKit writes a single `/` back even for `//`; kiln keeps
            // what was written.
            let slashes = if all { "//" } else { "/" };
            return Ok(format!(
                "${{{}{slashes}{pattern}/{replacement}}}",
                subst.name
            ));
        }
        let compiled = self.compile(&pattern, pattern_at)?;
        let value = value.unwrap_or_default();
        self.check_work(&compiled, value, pattern_at)?;
        let out = if all {
            compiled.replace_all(value, &replacement, MAX_WORD_BYTES)
        } else {
            compiled.replace_first(value, &replacement)
        };
        self.check_len(out.len(), subst.start)?;
        Ok(out)
    }

    /// Scans a nested word up to `stop`. Any failure at the end of the input
    /// is reported as the missing `}` (or `/`) of the `${` at `start`.
    fn word_until(&mut self, start: usize, stop: char, raw: bool) -> Result<String, ShellError> {
        match self.scan(Some(stop), raw) {
            Ok(output) => Ok(output.word),
            Err(_) if self.peek().is_none() && stop == '}' => Err(self.missing_brace(start)),
            Err(_) if self.peek().is_none() => Err(ShellError::MissingSlash {
                input: self.input(),
                offset: start,
            }),
            Err(e) => Err(e),
        }
    }

    /// Compiles a `#`/`%`/`/` pattern with this lexer's escape character.
    fn compile(&self, text: &str, at: usize) -> Result<Pattern, ShellError> {
        Pattern::compile(text, self.lexer.escape).map_err(|reason| ShellError::InvalidPattern {
            input: self.input(),
            offset: at,
            pattern: text.to_owned(),
            reason,
        })
    }

    /// Refuses a pattern operation costing more than [`MAX_PATTERN_WORK`].
    fn check_work(&self, pattern: &Pattern, value: &str, at: usize) -> Result<(), ShellError> {
        if pattern.work(value) <= MAX_PATTERN_WORK {
            return Ok(());
        }
        Err(ShellError::TooCostly {
            input: self.input(),
            offset: at,
            limit: MAX_PATTERN_WORK,
        })
    }

    fn missing_brace(&self, start: usize) -> ShellError {
        ShellError::MissingBrace {
            input: self.input(),
            offset: start,
        }
    }

    fn unsupported(&self, offset: usize, modifier: String) -> ShellError {
        ShellError::UnsupportedModifier {
            input: self.input(),
            offset,
            modifier,
        }
    }
}
