//! compose-go's `${...}` template substitution of one string.
//!
//! The rules are compose-go's (`template/template.go`), which docker compose v2
//! applies to every string of a compose file and to `.env` values:
//!
//! - `$$` is a literal `$`; `$NAME` and `${NAME}` take the variable's value (an
//!   unset variable gives `""`, and is reported to the caller's `on_unset`, where
//!   compose logs "The X variable is not set");
//! - `${NAME:-d}` / `${NAME-d}`: `d` when NAME is unset or empty / unset;
//! - `${NAME:+v}` / `${NAME+v}`: `v` when NAME is set and non-empty / set;
//! - `${NAME:?m}` / `${NAME?m}`: an error carrying `m` when NAME is unset or
//!   empty / unset;
//! - names are `[_A-Za-z][_A-Za-z0-9]*`, matched case-insensitively as Go's
//!   regexp does (so the Kelvin sign and long s also count as letters);
//! - a `$` followed by anything else stays as it is; `${` followed by anything
//!   that is not a name and an optional operator is "Invalid template".
//!
//! The matching is compose-go's regular expression with its quirks kept: the
//! text after an operator runs greedily to the last `}` of the line, then is
//! cut at the `}` that closes the first `${` (counted as compose-go counts
//! braces, skipping the byte after each `{`), and the text after that is
//! substituted on its own. The default, presence value or error message is
//! substituted only on the branch that is taken (lazy), and the operator is the
//! first of `:?`, `?`, `:-`, `-`, `:+`, `+` to appear in the match.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// compose-go's `DefaultPattern`, with the same groups and Go's leftmost-first
/// matching (the `regex` crate's semantics are the same as Go's RE2 here).
pub(crate) static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|",
        r"\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))"
    ))
    .expect("the template pattern is a valid regular expression")
});

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `${` not followed by a name (and an optional operator) and `}`.
    /// `template` is the string being substituted when the error was found
    /// (for a nested default, that default). The text is compose-go's.
    #[error("Invalid template: {}", crate::go_quote(template))]
    Invalid {
        /// The template that holds the invalid `${...}`.
        template: String,
    },
    /// `${NAME:?reason}` or `${NAME?reason}` with NAME missing a value. The
    /// text is compose-go's `MissingRequiredError`.
    #[error(
        "required variable {variable} is missing a value{}",
        reason_suffix(reason)
    )]
    MissingRequired {
        /// The variable that is required.
        variable: String,
        /// The (substituted) message after `?`; may be empty.
        reason: String,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// The six substitution operators of a `${NAME<op>...}` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `:?`: error when unset or empty.
    RequiredNonEmpty,
    /// `?`: error when unset.
    Required,
    /// `:-`: default when unset or empty.
    DefaultIfEmpty,
    /// `-`: default when unset.
    DefaultIfUnset,
    /// `:+`: alternative value when set and non-empty.
    IfNonEmpty,
    /// `+`: alternative value when set.
    IfSet,
}

impl Operator {
    const ALL: [Operator; 6] = [
        Operator::RequiredNonEmpty,
        Operator::Required,
        Operator::DefaultIfEmpty,
        Operator::DefaultIfUnset,
        Operator::IfNonEmpty,
        Operator::IfSet,
    ];

    /// The operator's text (`":?"`, `"-"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::RequiredNonEmpty => ":?",
            Operator::Required => "?",
            Operator::DefaultIfEmpty => ":-",
            Operator::DefaultIfUnset => "-",
            Operator::IfNonEmpty => ":+",
            Operator::IfSet => "+",
        }
    }

    /// The operator a `${...}` body uses: the first of the six to appear in
    /// `body` (compose-go's `getSubstitutionFunctionForTemplate`), or `None`.
    pub fn choose(body: &str) -> Option<Operator> {
        Operator::ALL
            .iter()
            .filter_map(|op| body.find(op.as_str()).map(|at| (at, *op)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, op)| op)
    }
}

/// Substitutes `template` with the variables `lookup` knows (`None` = unset).
pub fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    substitute_reporting(template, lookup, &mut |_| {})
}

/// Like [`substitute`], calling `on_unset(name)` for each unset variable whose
/// value is used (blank), as compose logs a warning for each. Variables in a
/// branch that is not taken are not looked at.
pub fn substitute_reporting(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    on_unset: &mut dyn FnMut(&str),
) -> Result<String, TemplateError> {
    let mut ctx = Ctx { lookup, on_unset };
    ctx.substitute(template)
}

/// The byte index of the `}` closing the first `{` of `s`, counted as
/// compose-go's `getFirstBraceClosingIndex` does (the byte after each `{` is
/// skipped), or `None`.
pub(crate) fn first_brace_closing(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut open = 0i64;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if bytes[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// Splits `s` at the first `sep` (compose-go's `partition`).
fn partition<'a>(s: &'a str, sep: &str) -> (&'a str, &'a str) {
    s.split_once(sep).unwrap_or((s, ""))
}

struct Ctx<'a, 'b> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    on_unset: &'b mut dyn FnMut(&str),
}

impl Ctx<'_, '_> {
    fn substitute(&mut self, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        let mut last = 0;
        for found in PATTERN.find_iter(template) {
            out.push_str(&template[last..found.start()]);
            match self.replace(found.as_str()) {
                Ok(text) => out.push_str(&text),
                Err(TemplateError::Invalid { template: t }) if t.is_empty() => {
                    return Err(TemplateError::Invalid {
                        template: template.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
            last = found.end();
        }
        out.push_str(&template[last..]);
        Ok(out)
    }

    /// The replacement of one match of [`PATTERN`].
    fn replace(&mut self, matched: &str) -> Result<String, TemplateError> {
        let op = Operator::choose(matched);
        let (matched, rest) = match first_brace_closing(matched) {
            Some(at) => matched.split_at(at + 1),
            None => (matched, ""),
        };
        let invalid = || TemplateError::Invalid {
            template: String::new(),
        };
        let caps = PATTERN.captures(matched).ok_or_else(invalid)?;
        if group(&caps, "escaped").is_some() {
            return Ok("$".to_string());
        }
        let name = if let Some(named) = group(&caps, "named") {
            named
        } else {
            let braced = group(&caps, "braced").ok_or_else(invalid)?;
            if let Some(op) = op.filter(|op| braced.contains(op.as_str())) {
                let value = self.apply(op, braced)?;
                return Ok(value + &self.substitute(rest)?);
            }
            braced
        };
        match (self.lookup)(name) {
            Some(value) => Ok(value),
            None => {
                (self.on_unset)(name);
                Ok(String::new())
            }
        }
    }

    /// Applies `op` to a `NAME<op>word` body; `word` is substituted only when
    /// it is used.
    fn apply(&mut self, op: Operator, body: &str) -> Result<String, TemplateError> {
        let (name, word) = partition(body, op.as_str());
        let value = (self.lookup)(name);
        let empty = value.as_deref().is_none_or(str::is_empty);
        match op {
            Operator::DefaultIfEmpty | Operator::DefaultIfUnset => {
                let use_word = value.is_none() || (op == Operator::DefaultIfEmpty && empty);
                match value {
                    Some(v) if !use_word => Ok(v),
                    _ => self.substitute(word),
                }
            }
            Operator::IfNonEmpty | Operator::IfSet => {
                let use_word = value.is_some() && (op == Operator::IfSet || !empty);
                if use_word {
                    self.substitute(word)
                } else {
                    Ok(value.unwrap_or_default())
                }
            }
            Operator::RequiredNonEmpty | Operator::Required => {
                let missing = value.is_none() || (op == Operator::RequiredNonEmpty && empty);
                match value {
                    Some(v) if !missing => Ok(v),
                    _ => Err(TemplateError::MissingRequired {
                        variable: name.to_string(),
                        reason: self.substitute(word)?,
                    }),
                }
            }
        }
    }
}

fn group<'t>(caps: &Captures<'t>, name: &str) -> Option<&'t str> {
    caps.name(name)
        .map(|m| m.as_str())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("first".into()),
            "BAR" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn brace_counting_skips_the_byte_after_an_open_brace() {
        assert_eq!(first_brace_closing("${A}"), Some(3));
        assert_eq!(first_brace_closing("${A:-{}}"), None);
        assert_eq!(first_brace_closing("${A:-${B}}x}"), Some(9));
    }

    #[test]
    fn unset_variables_are_reported_only_on_the_taken_branch() {
        let mut unset = Vec::new();
        let out = substitute_reporting("${A:-${B}} ${FOO:-${C}} $D", &env, &mut |n| {
            unset.push(n.to_string())
        })
        .unwrap();
        assert_eq!(out, " first ");
        assert_eq!(unset, ["B", "D"]);
    }

    #[test]
    fn a_required_message_is_not_evaluated_when_the_variable_is_set() {
        let mut unset = Vec::new();
        let out = substitute_reporting("${FOO?${B}}", &env, &mut |n| unset.push(n.to_string()));
        assert_eq!(out.unwrap(), "first");
        assert!(unset.is_empty());
    }

    #[test]
    fn an_invalid_nested_default_names_the_nested_template() {
        let err = substitute("x ${A:-${}}", &env).unwrap_err();
        assert_eq!(err.to_string(), r#"Invalid template: "${}""#);
        let err = substitute("x ${ }", &env).unwrap_err();
        assert_eq!(err.to_string(), r#"Invalid template: "x ${ }""#);
    }

    #[test]
    fn names_fold_case_like_go() {
        // U+212A KELVIN SIGN folds to `k`, so Go's `(?i)[a-z]` matches it.
        let lookup = |n: &str| (n == "\u{212A}EY").then(|| "v".to_string());
        assert_eq!(substitute("$\u{212A}EY", &lookup).unwrap(), "v");
    }

    #[test]
    fn empty_required_message_has_no_colon() {
        let err = substitute("${X:?}", &env).unwrap_err();
        assert_eq!(err.to_string(), "required variable X is missing a value");
    }
}
