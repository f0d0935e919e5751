//! The variables a model refers to, as `docker compose config --variables`
//! lists them (compose-go's `template.ExtractVariables`).
//!
//! Every string leaf is scanned with the substitution pattern. Each `$NAME` or
//! `${NAME<op>word}` gives a [`Variable`]: its default (`:-`/`-`), its presence
//! value (`:+`/`+`) and whether `:?`/`?` makes it required; the default and the
//! presence value are scanned in turn, and so is the text after the first
//! `${...}` of a greedy match. The name ends at the first character that is not
//! an ASCII letter, digit or `_`. When a name appears twice the later one wins
//! (compose-go's result is a Go map, so its order is unspecified); the list keeps
//! the position where a name was first seen.

use super::interpolate::{first_brace_closing, PATTERN};
use serde_json::Value;

/// One variable a model refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variable {
    /// The variable's name.
    pub name: String,
    /// The `:-`/`-` default, or `""`.
    pub default_value: String,
    /// The `:+`/`+` value, or `""`.
    pub presence_value: String,
    /// Whether `:?`/`?` makes the variable required.
    pub required: bool,
}

/// The variables every string leaf of `tree` refers to, one per name.
pub fn extract_variables(tree: &Value) -> Vec<Variable> {
    let mut found = Vec::new();
    collect(tree, &mut found);
    let mut unique: Vec<Variable> = Vec::new();
    for var in found {
        match unique.iter_mut().find(|v| v.name == var.name) {
            Some(slot) => *slot = var,
            None => unique.push(var),
        }
    }
    unique
}

fn collect(value: &Value, found: &mut Vec<Variable>) {
    match value {
        Value::String(text) => found.extend(extract_from(text)),
        Value::Object(map) => map.values().for_each(|v| collect(v, found)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

/// The variables one string refers to, in the order compose-go lists them.
pub fn extract_from(text: &str) -> Vec<Variable> {
    let mut values = Vec::new();
    for caps in PATTERN.captures_iter(text) {
        let group = |n| caps.name(n).map_or("", |m| m.as_str());
        if !group("escaped").is_empty() {
            continue;
        }
        let mut body = group("named");
        if body.is_empty() {
            body = group("braced");
            let whole = caps.get(0).map_or("", |m| m.as_str());
            if let Some(close) = first_brace_closing(whole).filter(|&c| c > 0) {
                body = whole.get(2..close).unwrap_or("");
                values.extend(extract_from(&whole[close + 1..]));
            }
        }
        let var = parse_body(body);
        let (default, presence) = (var.default_value.clone(), var.presence_value.clone());
        values.push(var);
        values.extend(extract_from(&default));
        values.extend(extract_from(&presence));
    }
    values
}

/// Splits `NAME<op>word` into a [`Variable`].
fn parse_body(body: &str) -> Variable {
    let mut var = Variable {
        name: body.to_string(),
        ..Variable::default()
    };
    let end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    let Some(end) = end.filter(|&e| e > 0) else {
        return var;
    };
    var.name = body[..end].to_string();
    let rest = &body[end..];
    if rest.starts_with(":?") || rest.starts_with('?') {
        var.required = true;
    } else if let Some(word) = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-')) {
        var.default_value = word.to_string();
    } else if let Some(word) = rest.strip_prefix(":+").or_else(|| rest.strip_prefix('+')) {
        var.presence_value = word.to_string();
    }
    var
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_dollars_are_not_variables() {
        assert!(extract_from("$$HOME $${X}").is_empty());
    }

    #[test]
    fn text_after_a_greedy_match_is_scanned_too() {
        let names: Vec<_> = extract_from("${A:-x} ${B}")
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["B", "A"]);
    }
}
