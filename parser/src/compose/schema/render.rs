//! compose-go's wording of schema violations.
//!
//! compose-go (`schema/schema.go`) prints `<dotted.path> <reason>`: for a
//! `type` failure the reason is `must be a <types>` (`object` read as
//! `mapping`; several types sorted and joined `a, b or c`), for `minimum` /
//! `maximum` it is `must be greater than or equal to <n>` / `must be less than
//! or equal to <n>` (`n` is the numerator of the bound, as Go's `big.Rat.Num`
//! gives it), and for every other keyword it is the English message of its
//! validator, santhosh-tekuri/jsonschema v6 (`additional properties 'x' not
//! allowed`, `missing property 'action'`, `value must be one of 'a', 'b'`...).
//! The texts here are written from those rules, not copied.

use super::error::{Reason, Violation};
use crate::go_quote;
use serde_json::{Number, Value};

/// `<dotted.path> <reason>`, or the reason alone at the document root.
pub(super) fn violation(v: &Violation) -> String {
    let reason = reason(&v.reason);
    if v.path.is_empty() {
        reason
    } else {
        format!("{} {reason}", v.dotted_path())
    }
}

/// The reason text of one violation.
pub(super) fn reason(r: &Reason) -> String {
    match r {
        Reason::Type { want } => format!("must be a {}", human_types(want)),
        Reason::Minimum { want, .. } => format!("must be greater than or equal to {}", numerator(want)),
        Reason::Maximum { want, .. } => format!("must be less than or equal to {}", numerator(want)),
        Reason::Const { want } => match want {
            Value::Array(_) | Value::Object(_) => "const failed".to_string(),
            w => format!("value must be {}", display(w)),
        },
        Reason::Enum { want } => enum_reason(want),
        Reason::Required { missing } if missing.len() == 1 => format!("missing property {}", quote(&missing[0])),
        Reason::Required { missing } => format!("missing properties {}", join_quoted(missing)),
        Reason::DependentRequired { prop, missing } => {
            format!("properties {} required, if {} exists", join_quoted(missing), quote(prop))
        }
        Reason::AdditionalProperties { names } => format!("additional properties {} not allowed", join_quoted(names)),
        Reason::PropertyName { name } => format!("invalid propertyName {}", quote(name)),
        other => counted_reason(other),
    }
}

/// Reasons of the size / count / range keywords.
fn counted_reason(r: &Reason) -> String {
    match r {
        Reason::MinProperties { got, want } => format!("minProperties: got {got}, want {want}"),
        Reason::MaxProperties { got, want } => format!("maxProperties: got {got}, want {want}"),
        Reason::MinItems { got, want } => format!("minItems: got {got}, want {want}"),
        Reason::MaxItems { got, want } => format!("maxItems: got {got}, want {want}"),
        Reason::MinLength { got, want } => format!("minLength: got {got}, want {want}"),
        Reason::MaxLength { got, want } => format!("maxLength: got {got}, want {want}"),
        Reason::UniqueItems { first, second } => format!("items at {first} and {second} are equal"),
        Reason::Contains => "no items match contains schema".to_string(),
        Reason::MinContains { got, want } if got.is_empty() => {
            format!("min {want} items required to match contains schema, but none matched")
        }
        Reason::MinContains { got, want } => format!(
            "min {want} items required to match contains schema, but matched {} items at {}",
            got.len(),
            indexes(got)
        ),
        Reason::MaxContains { got, want } => format!(
            "max {want} items required to match contains schema, but matched {} items at {}",
            got.len(),
            indexes(got)
        ),
        Reason::Pattern { got, pattern } => format!("{} does not match pattern {}", quote(got), quote(pattern)),
        Reason::ExclusiveMinimum { got, want } => format!("exclusiveMinimum: got {}, want {}", go_num(got), go_num(want)),
        Reason::ExclusiveMaximum { got, want } => format!("exclusiveMaximum: got {}, want {}", go_num(got), go_num(want)),
        Reason::MultipleOf { got, want } => format!("multipleOf: got {}, want {}", go_num(got), go_num(want)),
        Reason::Not => "not failed".to_string(),
        Reason::FalseSchema => "false schema".to_string(),
        Reason::OneOfMany { first, second } => format!("oneOf failed, subschemas {first}, {second} matched"),
        Reason::RefCycle => "reference cycle".to_string(),
        // Every other variant is worded by `reason`, which never sends it here.
        _ => "validation failed".to_string(),
    }
}

fn enum_reason(want: &[Value]) -> String {
    if want.iter().any(|v| v.is_array() || v.is_object()) {
        return "enum failed".to_string();
    }
    if want.len() == 1 {
        return format!("value must be {}", display(&want[0]));
    }
    let shown: Vec<String> = want.iter().map(display).collect();
    format!("value must be one of {}", shown.join(", "))
}

/// compose-go's `humanReadableType`: `object` reads `mapping`; several
/// types are sorted and joined as `a, b or c`.
fn human_types(want: &[&str]) -> String {
    let mut names: Vec<&str> = want.iter().map(|t| if *t == "object" { "mapping" } else { t }).collect();
    if names.len() == 1 {
        return names[0].to_string();
    }
    names.sort_unstable();
    match names.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// santhosh-tekuri's `quote`: Go's `%q`, with `\"` unescaped and `'` escaped,
/// between single quotes.
pub(super) fn quote(s: &str) -> String {
    let q = go_quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn join_quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
    quoted.join(", ")
}

fn indexes(list: &[usize]) -> String {
    let parts: Vec<String> = list.iter().map(usize::to_string).collect();
    parts.join(" ")
}

/// A schema value as santhosh-tekuri's `display` prints it (schema numbers
/// keep their JSON spelling; Go prints a nil as `<nil>`).
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".to_string(),
        Value::Null => "<nil>".to_string(),
        other => other.to_string(),
    }
}

/// A number as Go's `%v` prints a float64: shortest digits, exponent form
/// (`1e+21`, `1e-05`) below 1e-4 or from 1e21 up.
pub(super) fn go_num(n: &Number) -> String {
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..21).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// The numerator of `n` as an exact reduced fraction (Go's `big.Rat.Num`):
/// the integer itself for integers, e.g. `1` for `0.5`.
fn numerator(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let text = go_num(n);
    fraction_numerator(&text).unwrap_or(text)
}

/// Numerator of the decimal `text` (`-12.5`, `1.5e-05`) reduced to lowest terms.
fn fraction_numerator(text: &str) -> Option<String> {
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let digits = mantissa.trim_start_matches('-');
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut num: u128 = format!("{int}{frac}").parse().ok()?;
    let scale = i32::try_from(frac.len()).ok()? - exp;
    let mut den: u128 = 1;
    if scale >= 0 {
        den = 10u128.checked_pow(u32::try_from(scale).ok()?)?;
    } else {
        num = num.checked_mul(10u128.checked_pow(scale.unsigned_abs())?)?;
    }
    let g = gcd(num, den);
    let sign = if negative && num != 0 { "-" } else { "" };
    Some(format!("{sign}{}", num / g.max(1)))
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
