//! The types some keys take back after interpolation.
//!
//! A compose file may write `replicas: ${N}` or `init: "${INIT:-true}"`: the
//! value is a string until it is substituted, and the schema wants a number or
//! a boolean. compose-go's loader (`loader/interpolate.go`) therefore casts the
//! string leaves at a fixed list of key paths once they are substituted (every
//! string leaf there, whether it held a `${...}` or not). This module is that
//! list and those casts; [`interpolate_model`](super::interpolate_tree::interpolate_model)
//! applies them.
//!
//! Booleans accept what YAML 1.1 did (`y`, `yes`, `on`, `n`, `no`, `off`, any
//! case), as compose-go does (it warns about them); integers and floats follow
//! Go's `strconv` (a leading sign is accepted, blanks are not).

use super::interpolate_tree::{KeyPath, PathPart};
use serde_json::Value;

/// The type a key path's string is cast to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// A Go `int` (64-bit here).
    Int,
    /// A Go `int64`.
    Int64,
    /// A Go `float64`.
    Float,
    /// A Go `float32` (kept at single precision, printed as such).
    Float32,
    /// A boolean (YAML 1.1 spellings accepted).
    Bool,
}

/// One step of a path pattern.
#[derive(Clone, Copy)]
enum Pat {
    /// Exactly this key.
    Key(&'static str),
    /// Any mapping key (`*`).
    AnyKey,
    /// Any sequence index (`[]`).
    AnyIndex,
}

use Pat::{AnyIndex as L, AnyKey as A, Key as K};

/// compose-go's `interpolateTypeCastMapping`: paths under `services.<name>.`.
const SERVICE_CASTS: &[(&[Pat], Cast)] = &[
    (&[K("cpu_count")], Cast::Int64),
    (&[K("cpu_percent")], Cast::Float),
    (&[K("cpu_period")], Cast::Int64),
    (&[K("cpu_quota")], Cast::Int64),
    (&[K("cpu_rt_period")], Cast::Int64),
    (&[K("cpu_rt_runtime")], Cast::Int64),
    (&[K("cpus")], Cast::Float32),
    (&[K("cpu_shares")], Cast::Int64),
    (&[K("init")], Cast::Bool),
    (&[K("depends_on"), A, K("required")], Cast::Bool),
    (&[K("depends_on"), A, K("restart")], Cast::Bool),
    (&[K("deploy"), K("replicas")], Cast::Int),
    (
        &[K("deploy"), K("update_config"), K("parallelism")],
        Cast::Int,
    ),
    (
        &[K("deploy"), K("update_config"), K("max_failure_ratio")],
        Cast::Float,
    ),
    (
        &[K("deploy"), K("rollback_config"), K("parallelism")],
        Cast::Int,
    ),
    (
        &[K("deploy"), K("rollback_config"), K("max_failure_ratio")],
        Cast::Float,
    ),
    (
        &[K("deploy"), K("restart_policy"), K("max_attempts")],
        Cast::Int,
    ),
    (
        &[K("deploy"), K("placement"), K("max_replicas_per_node")],
        Cast::Int,
    ),
    (&[K("healthcheck"), K("retries")], Cast::Int),
    (&[K("healthcheck"), K("disable")], Cast::Bool),
    (&[K("oom_kill_disable")], Cast::Bool),
    (&[K("oom_score_adj")], Cast::Int64),
    (&[K("pids_limit")], Cast::Int64),
    (&[K("ports"), L, K("target")], Cast::Int),
    (&[K("privileged")], Cast::Bool),
    (&[K("read_only")], Cast::Bool),
    (&[K("scale")], Cast::Int),
    (&[K("stdin_open")], Cast::Bool),
    (&[K("tty")], Cast::Bool),
    (&[K("ulimits"), A], Cast::Int),
    (&[K("ulimits"), A, K("hard")], Cast::Int),
    (&[K("ulimits"), A, K("soft")], Cast::Int),
    (&[K("volumes"), L, K("read_only")], Cast::Bool),
    (&[K("volumes"), L, K("volume"), K("nocopy")], Cast::Bool),
];

/// compose-go's casts for top-level `networks`, `volumes`, `secrets`, `configs`.
const TOP_LEVEL_CASTS: &[(&str, &str, Cast)] = &[
    ("networks", "external", Cast::Bool),
    ("networks", "internal", Cast::Bool),
    ("networks", "attachable", Cast::Bool),
    ("networks", "enable_ipv4", Cast::Bool),
    ("networks", "enable_ipv6", Cast::Bool),
    ("volumes", "external", Cast::Bool),
    ("secrets", "external", Cast::Bool),
    ("configs", "external", Cast::Bool),
];

fn matches(pattern: &[Pat], parts: &[PathPart]) -> bool {
    pattern.len() == parts.len()
        && pattern
            .iter()
            .zip(parts)
            .all(|(pat, part)| match (pat, part) {
                (Pat::Key(k), PathPart::Key(key)) => k == key,
                (Pat::AnyKey, PathPart::Key(_)) => true,
                (Pat::AnyIndex, PathPart::Index(_)) => true,
                _ => false,
            })
}

/// The cast compose applies to the string at `path`, if any.
pub fn compose_cast_for(path: &KeyPath) -> Option<Cast> {
    match path.parts() {
        [PathPart::Key(services), PathPart::Key(_), rest @ ..] if services == "services" => {
            SERVICE_CASTS
                .iter()
                .find(|(pattern, _)| matches(pattern, rest))
                .map(|(_, cast)| *cast)
        }
        [PathPart::Key(section), PathPart::Key(_), PathPart::Key(key)] => TOP_LEVEL_CASTS
            .iter()
            .find(|(s, k, _)| s == section && k == key)
            .map(|(_, _, cast)| *cast),
        _ => None,
    }
}

/// Casts an interpolated string; `Err` says why it is not of the type.
pub fn cast(kind: Cast, value: &str) -> Result<Value, String> {
    let invalid = |what: &str| format!("invalid {what}: {value:?}");
    match kind {
        Cast::Int | Cast::Int64 => parse_go_int(value)
            .map(Value::from)
            .ok_or_else(|| invalid("integer")),
        Cast::Float | Cast::Float32 => {
            let parsed = parse_go_float(value).ok_or_else(|| invalid("number"))?;
            let parsed = if kind == Cast::Float32 {
                // Go keeps a float32 and prints its shortest single-precision form.
                format!("{}", parsed as f32)
                    .parse::<f64>()
                    .unwrap_or(parsed)
            } else {
                parsed
            };
            serde_json::Number::from_f64(parsed)
                .map(Value::Number)
                .ok_or_else(|| invalid("number"))
        }
        Cast::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "y" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "n" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(format!("invalid boolean: {value}")),
        },
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only.
fn parse_go_int(value: &str) -> Option<i64> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Go's `strconv.ParseFloat` for decimal text (no blanks, no `_`).
fn parse_go_float(value: &str) -> Option<f64> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    ok.then(|| value.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> KeyPath {
        parts.iter().fold(KeyPath::default(), |p, part| {
            p.child(match part.parse() {
                Ok(i) => PathPart::Index(i),
                Err(_) => PathPart::Key(part.to_string()),
            })
        })
    }

    #[test]
    fn the_table_matches_service_and_top_level_paths() {
        assert_eq!(
            compose_cast_for(&path(&["services", "web", "ports", "0", "target"])),
            Some(Cast::Int)
        );
        assert_eq!(
            compose_cast_for(&path(&["services", "web", "ulimits", "nofile"])),
            Some(Cast::Int)
        );
        assert_eq!(
            compose_cast_for(&path(&["services", "web", "cpus"])),
            Some(Cast::Float32)
        );
        assert_eq!(
            compose_cast_for(&path(&["networks", "front", "external"])),
            Some(Cast::Bool)
        );
        assert_eq!(
            compose_cast_for(&path(&["services", "web", "ports", "0"])),
            None
        );
        assert_eq!(compose_cast_for(&path(&["services", "web", "image"])), None);
        assert_eq!(compose_cast_for(&path(&["x-web", "a", "init"])), None);
    }

    #[test]
    fn casts_follow_go() {
        assert_eq!(cast(Cast::Int, "+42"), Ok(Value::from(42)));
        assert!(cast(Cast::Int, " 42").is_err());
        assert!(cast(Cast::Int, "4.2").is_err());
        assert_eq!(cast(Cast::Float32, "0.1").unwrap().to_string(), "0.1");
        assert_eq!(cast(Cast::Float, "1e3"), Ok(serde_json::json!(1000.0)));
        assert_eq!(cast(Cast::Bool, "Yes"), Ok(Value::Bool(true)));
        assert_eq!(cast(Cast::Bool, "OFF"), Ok(Value::Bool(false)));
        assert_eq!(
            cast(Cast::Bool, "maybe"),
            Err("invalid boolean: maybe".to_string())
        );
    }
}
