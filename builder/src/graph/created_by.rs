//! BuildKit's history `created_by` texts, reproduced form by form
//! (`dockerfile2llb`'s `commitToHistory` calls):
//!
//! | instruction | created_by |
//! |---|---|
//! | RUN | `RUN [|N K=V ...] <argv joined by spaces> # buildkit` |
//! | COPY/ADD | `COPY <srcs> <dest> # buildkit` (heredoc sources as `<<name`) |
//! | WORKDIR | `WORKDIR /abs` |
//! | ENV / LABEL | `ENV k=v k2=v2` / `LABEL k=v` |
//! | ARG | `ARG A=resolved B` |
//! | CMD / ENTRYPOINT | Go `%q` of the argv: `CMD ["/bin/sh" "-c" "x"]` |
//! | EXPOSE / VOLUME / SHELL | Go `%v` of a list: `EXPOSE [80/tcp]` |
//! | USER / STOPSIGNAL / MAINTAINER / ONBUILD | keyword + value |
//! | HEALTHCHECK | Go `%q` of the health config struct |
//!
//! Steps that touch the filesystem through LLB get the ` # buildkit` suffix;
//! metadata steps and WORKDIR do not (BuildKit passes no state for them).

use std::time::Duration;

use kiln_parser::go_quote;

use super::config::HealthConfig;

/// `RUN` with the `|N K=V` prefix listing the stage's declared args (their
/// value as the command sees it), as BuildKit's `runCommandString` does.
pub fn run(args: &[String], build_args: &[(String, String)]) -> String {
    let mut words: Vec<String> = Vec::new();
    if !build_args.is_empty() {
        words.push(format!("|{}", build_args.len()));
        words.extend(build_args.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(args.iter().cloned());
    format!("RUN {} # buildkit", words.join(" "))
}

/// `COPY a b /dest # buildkit` or `ADD ...`.
pub fn copy(keyword: &str, sources: &[String], dest: &str) -> String {
    let mut out = keyword.to_string();
    for s in sources {
        out.push(' ');
        out.push_str(s);
    }
    format!("{out} {dest} # buildkit")
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `%v` of a `[]string`: `[a b]`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `key=value` pairs joined by spaces (ENV, LABEL).
pub fn pairs(keyword: &str, pairs: &[(String, String)]) -> String {
    let mut out = keyword.to_string();
    for (k, v) in pairs {
        out.push_str(&format!(" {k}={v}"));
    }
    out
}

/// `HEALTHCHECK %q` of BuildKit's health config struct:
/// `HEALTHCHECK &{["CMD-SHELL" "x"] "30s" "0s" "0s" "0s" '\x03'}`.
pub fn healthcheck(h: &HealthConfig) -> String {
    let d = |d: Option<Duration>| go_quote(&go_duration(d.unwrap_or_default()));
    format!(
        "HEALTHCHECK &{{{} {} {} {} {} {}}}",
        go_quoted_list(&h.test),
        d(h.interval),
        d(h.timeout),
        d(h.start_period),
        d(h.start_interval),
        go_rune(h.retries.unwrap_or(0))
    )
}

/// Go's `time.Duration.String()`: `0s`, `1.5s`, `5m0s`, `1h0m0s`, `100ms`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, div) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, div));
    }
    let secs = nanos / 1_000_000_000;
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    let s = decimal(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// `value / div` with the fraction's trailing zeros removed.
fn decimal(value: u128, div: u128) -> String {
    let (whole, frac) = (value / div, value % div);
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let frac = format!("{frac:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Go's `%q` of an int: a quoted rune literal (`'\x03'`, `'A'`).
fn go_rune(n: u32) -> String {
    match char::from_u32(n) {
        Some('\'') => "'\\''".into(),
        Some('\\') => "'\\\\'".into(),
        Some('\x07') => "'\\a'".into(),
        Some('\x08') => "'\\b'".into(),
        Some('\x0c') => "'\\f'".into(),
        Some('\n') => "'\\n'".into(),
        Some('\r') => "'\\r'".into(),
        Some('\t') => "'\\t'".into(),
        Some('\x0b') => "'\\v'".into(),
        Some(c) if (' '..='~').contains(&c) => format!("'{c}'"),
        _ if n < 0x100 => format!("'\\x{n:02x}'"),
        _ => format!("'\\u{n:04x}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_secs(3661), "1h1m1s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want);
        }
    }

    #[test]
    fn run_prefix_and_lists() {
        let args = vec!["/bin/sh".to_string(), "-c".into(), "echo $A".into()];
        assert_eq!(
            run(&args, &[("A".into(), "1".into())]),
            "RUN |1 A=1 /bin/sh -c echo $A # buildkit"
        );
        assert_eq!(go_quoted_list(&args), r#"["/bin/sh" "-c" "echo $A"]"#);
        assert_eq!(go_list(&["80/tcp".into()]), "[80/tcp]");
        assert_eq!(go_rune(3), "'\\x03'");
    }
}
