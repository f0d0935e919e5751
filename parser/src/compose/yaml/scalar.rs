//! Scalar resolution: the text of a plain scalar to null, bool, int, float or
//! string, with the rules of Go's `yaml.v3` (what compose-go reads with).
//!
//! - null: empty, `~`, `null`, `Null`, `NULL`;
//! - bool: `true`, `True`, `TRUE`, `false`, `False`, `FALSE` (not `yes`/`on`);
//! - int: Go's `strconv.ParseInt(text, 0, 64)` after removing `_`: decimal
//!   with an optional sign, `0x`, `0o`, `0b` prefixes, and a leading `0`
//!   meaning octal (`017` is 15); a value beyond `i64` that fits `u64` is a
//!   float here (JSON has one number type);
//! - float: `.inf`, `-.inf`, `.nan` (any case form of the core schema), and
//!   text matching `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`;
//! - everything else is a string (`8000:8000`, `yes`, `1.2.3`, `0x`).
//!
//! Quoted and block scalars are always strings; core tags (`!!str`, `!!int`,
//! `!!float`, `!!bool`, `!!null`) force a type.

use super::Value;

/// Resolves a plain scalar's text to its value.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.') {
        return Value::Str(text.to_string());
    }
    let plain = text.replace('_', "");
    if let Some(int) = parse_go_int(&plain) {
        return int;
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

/// Resolves a scalar under a core tag (`!!int` ...); `None` when the tag is
/// not a core tag. A text that does not fit the tag is an error.
pub fn resolve_tagged(text: &str, suffix: &str) -> Option<Result<Value, String>> {
    let value = match suffix {
        "str" => Ok(Value::Str(text.to_string())),
        "null" => Ok(Value::Null),
        "bool" => match resolve_plain(text) {
            v @ Value::Bool(_) => Ok(v),
            _ => Err(format!("cannot decode {text:?} as a !!bool")),
        },
        "int" => match resolve_plain(text) {
            v @ Value::Int(_) => Ok(v),
            _ => Err(format!("cannot decode {text:?} as an !!int")),
        },
        "float" => match resolve_plain(text) {
            Value::Int(i) => Ok(Value::Float(i as f64)),
            v @ Value::Float(_) => Ok(v),
            _ => Err(format!("cannot decode {text:?} as a !!float")),
        },
        _ => return None,
    };
    Some(value)
}

/// Go's `ParseInt(s, 0, 64)` (then `ParseUint`), as an integer or float value.
fn parse_go_int(s: &str) -> Option<Value> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = if let Some(rest) = strip_prefix_ci(digits, "0x") {
        (16, rest)
    } else if let Some(rest) = strip_prefix_ci(digits, "0o") {
        (8, rest)
    } else if let Some(rest) = strip_prefix_ci(digits, "0b") {
        (2, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(body, radix).ok()?;
    let value = if negative {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    if let Ok(i) = i64::try_from(value) {
        return Some(Value::Int(i));
    }
    if !negative && magnitude <= u64::MAX as u128 {
        return Some(Value::Float(magnitude as f64));
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
