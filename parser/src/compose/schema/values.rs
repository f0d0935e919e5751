//! JSON value helpers with JSON-schema semantics: the instance type (an
//! integral float is an `integer`), numeric comparison (exact for integers),
//! and deep equality where `1` equals `1.0` (for `const`, `enum`,
//! `uniqueItems`).

use super::node::JsonType;
use serde_json::{Number, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// The instance's type; numbers are `Number` (use [`is_integer`] for `integer`).
pub(super) fn type_of(v: &Value) -> JsonType {
    match v {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Boolean,
        Value::Number(_) => JsonType::Number,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

/// Whether `n` has no fractional part (`2.0` counts, as in Go's validator).
pub(super) fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

/// Compares two numbers: exactly when both are integers, as f64 otherwise.
pub(super) fn cmp(a: &Number, b: &Number) -> Ordering {
    match (as_i128(a), as_i128(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// Whether `a` is a multiple of `b` (`b` > 0): exact for integers.
pub(super) fn is_multiple(a: &Number, b: &Number) -> bool {
    match (as_i128(a), as_i128(b)) {
        (Some(x), Some(y)) if y != 0 => x % y == 0,
        _ => {
            let q = a.as_f64().unwrap_or(0.0) / b.as_f64().unwrap_or(1.0);
            q.is_finite() && q.fract() == 0.0
        }
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Deep equality with numbers compared by value.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// The first pair `(earlier, later)` of equal items, by the later index,
/// as santhosh-tekuri's `duplicates` reports it.
pub(super) fn first_duplicate(items: &[Value]) -> Option<(usize, usize)> {
    if items.len() <= 20 {
        return (1..items.len()).find_map(|i| (0..i).find(|j| equal(&items[i], &items[*j])).map(|j| (j, i)));
    }
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = canonical(item);
        if let Some(j) = seen.get(&key) {
            return Some((*j, i));
        }
        seen.insert(key, i);
    }
    None
}

/// A text that is the same for two values exactly when [`equal`] holds
/// (integral numbers spelled as integers, object keys sorted).
fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => match as_i128(n) {
            Some(i) => format!("i{i}"),
            None => {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e18 {
                    format!("i{}", f as i128)
                } else {
                    format!("f{f:e}")
                }
            }
        },
        Value::Array(list) => {
            let parts: Vec<String> = list.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let mut parts: Vec<String> = map.iter().map(|(k, v)| format!("{k:?}:{}", canonical(v))).collect();
            parts.sort_unstable();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}
