//! Value syntaxes borrowed from Go: `encoding/csv` records (one line),
//! `strconv.ParseBool` and `time.ParseDuration`. Docker's flags and
//! Dockerfile flags are read with Go's functions, so kiln reads them the same.

use std::time::Duration;

use super::ValueError;

/// Go's `encoding/csv` reading one record (comma-separated, `"` quoting).
pub(crate) fn split_csv(spec: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = spec.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(csv_err("extraneous or missing \" in quoted-field")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(csv_err("extraneous or missing \" in quoted-field"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '"' {
                    return Err(csv_err("bare \" in non-quoted-field"));
                }
                field.push(c);
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

fn csv_err(what: &str) -> String {
    format!("failed to parse csv mounts: {what}")
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units
/// (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `1m30s`, `1.5h`, `500ms`, or a
/// bare `0`. Negative durations are rejected (no Dockerfile or run flag
/// takes one). The error's text is Go's (`time: invalid duration "x"`).
pub fn parse_go_duration(s: &str) -> Result<Duration, ValueError> {
    let fail = |message: String| ValueError::Duration {
        value: s.to_string(),
        message,
    };
    let bad = || fail(format!("time: invalid duration {s:?}"));
    let rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    let mut nanos: u128 = 0;
    let mut rest = rest;
    while !rest.is_empty() {
        let (value, tail) = take_number(rest).ok_or_else(bad)?;
        if tail.is_empty() {
            return Err(fail(format!("time: missing unit in duration {s:?}")));
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = unit_nanos(unit)
            .ok_or_else(|| fail(format!("time: unknown unit {unit:?} in duration {s:?}")))?;
        nanos += value.0 * scale + value.1 * scale / value.2;
        rest = tail;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// A decimal number `int[.frac]` as (int, frac digits, 10^len(frac)).
fn take_number(s: &str) -> Option<((u128, u128, u128), &str)> {
    let end = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, tail) = s.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let frac = &frac[..frac.len().min(18)];
    let int_value = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    Some(((int_value, frac_value, 10u128.pow(frac.len() as u32)), tail))
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        assert_eq!(split_csv("a=1,\"b=2,3\",c").unwrap(), ["a=1", "b=2,3", "c"]);
        assert_eq!(split_csv("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert!(split_csv("a\"b").is_err());
        assert!(split_csv("\"ab").is_err());
        assert_eq!(split_csv("").unwrap(), [""]);
    }

    #[test]
    fn durations() {
        let d = |s: &str| parse_go_duration(s);
        assert_eq!(
            d("10").unwrap_err().to_string(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(d("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(d("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(d("0"), Ok(Duration::ZERO));
        assert_eq!(d(".5s"), Ok(Duration::from_millis(500)));
        assert!(d("10").is_err());
        assert!(d("").is_err());
        assert!(d("-1s").is_err());
        assert!(d("1x").is_err());
        assert!(d("s").is_err());
    }
}
