//! [`Node`] trees back to block YAML text, as `docker compose config` prints:
//! two-space indentation, sequences indented under their key, strings plain
//! when they read back as the same string and double-quoted otherwise.

use std::fmt::Write;

use super::{scalar, Node, Value};

/// Renders a tree as a YAML document (ends with a newline).
pub fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => block_map(&mut out, entries, 0),
        Value::Seq(items) if !items.is_empty() => block_seq(&mut out, items, 0),
        _ => {
            out.push_str(&inline(node));
            out.push('\n');
        }
    }
    out
}

fn block_map(out: &mut String, entries: &[(super::Key, Node)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        let text = string(&key.text);
        if text.chars().count() > MAX_SIMPLE_KEY {
            // An implicit key is limited in length (1024 characters in
            // YAML); a longer one is written as an explicit `? key` entry,
            // as yaml.v3 does past 128.
            out.push_str("? ");
            out.push_str(&text);
            out.push('\n');
            pad(out, indent);
        } else {
            out.push_str(&text);
        }
        out.push(':');
        nested(out, value, indent);
    }
}

/// The longest key written as an implicit (`key: value`) key.
const MAX_SIMPLE_KEY: usize = 128;

fn block_seq(out: &mut String, items: &[Node], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str("- ");
        match &item.value {
            Value::Map(entries) if !entries.is_empty() => block_map(out, entries, indent + 2),
            Value::Seq(inner) if !inner.is_empty() => block_seq(out, inner, indent + 2),
            _ => {
                out.push_str(&inline(item));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`: inline for scalars and empty collections, else a
/// nested block.
fn nested(out: &mut String, value: &Node, indent: usize) {
    match &value.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            block_map(out, entries, indent + 2);
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push('\n');
            block_seq(out, items, indent + 2);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(value));
            out.push('\n');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A scalar or empty collection on one line.
fn inline(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Str(s) => string(s),
        Value::Seq(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

fn float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        // Large integral floats print without a fraction; keep them floats
        // when read back (found by fuzz compose_load).
        let text = f.to_string();
        if text.contains(['.', 'e', 'E']) {
            text
        } else {
            text + ".0"
        }
    }
}

/// A string, plain when safe, double-quoted otherwise.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` written plain reads back as the same string.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(first == '-' && s.len() > 1 && !s[1..].starts_with(' '))
    {
        return false;
    }
    if first == '-' && (s == "-" || s.starts_with("---")) {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.chars().any(|c| c.is_control() || c == '\u{feff}')
    {
        return false;
    }
    // `{}[],` inside a plain scalar are only special in flow context; this
    // emitter writes block style only, as yaml.v3 does for `${PORT:-80}:80`.
    matches!(scalar::resolve_plain(s), Value::Str(_))
}
