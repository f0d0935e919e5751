//! How Go's `fmt` prints decoded YAML values (`%v`, `%s`, `%d`, `%T`).
//!
//! compose-go builds merge results and uniqueness keys with `fmt.Sprintf`
//! (`"%s=%v"` for `labels: {A: 1}`, `"%s:%s:%d/%s"` for port keys), so the
//! exact text matters: it decides which entries count as the same and what
//! a merged `KEY=VALUE` string reads.

use super::yaml::{Node, Value};

/// `%v`: strings as is, numbers in Go's shortest form, `map[k:v ...]` with
/// sorted keys, `[a b]`, `<nil>`.
pub fn v(node: &Node) -> String {
    match &node.value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Str(s) => s.clone(),
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(entries) => {
            let mut parts: Vec<(String, String)> = entries
                .iter()
                .map(|(k, x)| (k.text.clone(), v(x)))
                .collect();
            parts.sort();
            let parts: Vec<String> = parts.into_iter().map(|(k, x)| format!("{k}:{x}")).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// `%s`: strings as is; other scalars as Go's `%!s(type=value)`.
pub fn s(node: &Node) -> String {
    match &node.value {
        Value::Str(text) => text.clone(),
        Value::Null => "%!s(<nil>)".into(),
        Value::Seq(_) | Value::Map(_) => v(node),
        _ => format!("%!s({}={})", type_name(node), v(node)),
    }
}

/// `%d`: integers in decimal; anything else as Go's `%!d(type=value)`.
pub fn d(node: &Node) -> String {
    match &node.value {
        Value::Int(i) => i.to_string(),
        Value::Null => "%!d(<nil>)".into(),
        _ => format!("%!d({}={})", type_name(node), v(node)),
    }
}

/// `%T` of the value `yaml.v3` decodes into `any`.
pub fn type_name(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Seq(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// A float as Go's `%v` prints it (`strconv.FormatFloat(f, 'g', -1, 64)`):
/// the shortest digits that read back, in exponent form (`1e+06`) when the
/// decimal exponent is below -4 or at least 6.
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `1.5e6`, `-2e-7`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let rest = &digits[1..];
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let point = exp + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go() {
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(100000.0), "100000");
        assert_eq!(float(1e6), "1e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(-2.25e21), "-2.25e+21");
        assert_eq!(float(123456.5), "123456.5");
    }
}
