//! The loader corpus end to end: every case of
//! `testdata/compose/conformance/errors/` and `loader/` run through the built
//! `kiln compose config`, in a scratch copy of the case folder.
//!
//! - `errors/`: the document must be refused with exit 1 and one line that
//!   carries upstream's reason (`error_contains`/`error_equals`);
//! - `loader/`: `config --format json` (with `--no-consistency` where the Go
//!   test skipped the consistency check, `--profile` where it set profiles)
//!   must succeed or fail as `expect` says, and every `check` must hold on
//!   the printed model.
//!
//! All failing cases are reported at once, each with its name.

mod support;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::Scratch;

fn corpus(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/compose/conformance")
        .join(folder)
}

fn cases(folder: &str) -> Vec<Value> {
    let text = fs::read_to_string(corpus(folder).join("cases.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `kiln compose ARGS` in `cwd` with a clean environment (no `COMPOSE_*`
/// from the caller).
fn compose(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("compose")
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", cwd)
        .output()
        .expect("run kiln")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The one-line error of a refused run, or why the run did not fail so.
fn refusal(out: &Output) -> Result<String, String> {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(1) {
        return Err(format!(
            "expected exit 1, got {:?}: {stderr}",
            out.status.code()
        ));
    }
    if stderr.trim_end().lines().count() != 1 {
        return Err(format!("expected one line of error, got: {stderr}"));
    }
    Ok(stderr.trim_end().to_string())
}

fn run_error_case(case: &Value, scratch: &Path) -> Result<(), String> {
    let file = case["file"].as_str().ok_or("no file")?;
    let dir = scratch.join(case["name"].as_str().unwrap());
    fs::create_dir_all(&dir).unwrap();
    fs::copy(corpus("errors").join(file), dir.join("compose.yaml")).unwrap();
    let out = compose(&dir, &["-f", "compose.yaml", "config"]);
    let message = refusal(&out)?;
    let wanted = case["error_equals"]
        .as_str()
        .or(case["error_contains"].as_str())
        .unwrap_or("");
    if !message.contains(wanted) {
        return Err(format!("error {message:?} does not carry {wanted:?}"));
    }
    Ok(())
}

#[test]
fn every_errors_case_is_refused_with_upstreams_reason() {
    let scratch = Scratch::new("compose-errors");
    let all = cases("errors");
    assert!(all.len() >= 19, "only {} cases", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|c| {
            run_error_case(c, &scratch.0)
                .err()
                .map(|e| format!("{}: {e}", c["name"]))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Whether kiln's one-line error says what upstream's does. Two wordings
/// are mapped: yaml.v3's `line N: reason` is kiln's `file:N:col: reason`,
/// and the `!reset` processor's cycle message names its own path
/// bookkeeping (`x.svc.svc` for the `<<` key of `x.svc`), so only its
/// `cycle detected:` head is compared.
fn carries(message: &str, want: &str) -> bool {
    if message.contains(want) {
        return true;
    }
    if want.starts_with("cycle detected:") {
        return message.contains("cycle detected:");
    }
    if let Some((line, reason)) = want.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        return message.contains(&format!(":{line}:")) && message.contains(reason);
    }
    false
}

/// The value at a dotted path of the printed model (numbers index sequences).
fn lookup<'a>(model: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = model;
    for part in path.split('.') {
        node = match node {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// A service name may hold dots (`test.a.b.c`): try the path as written,
/// then with the service name taken whole.
fn find<'a>(model: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = lookup(model, path) {
        return Some(v);
    }
    let rest = path.strip_prefix("services.")?;
    let services = model.get("services")?.as_object()?;
    let (name, service) = services
        .iter()
        .find(|(n, _)| rest == n.as_str() || rest.starts_with(&format!("{n}.")))?;
    match rest[name.len()..].strip_prefix('.') {
        Some(tail) => lookup(service, tail),
        None => Some(service),
    }
}

fn check(model: &Value, c: &Value, dir: &Path) -> Result<(), String> {
    let path = c["path"].as_str().ok_or("check without path")?;
    let got = find(model, path);
    let fail = |what: String| Err(format!("{path}: {what}, got {got:?}"));
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    };
    if let Some(want) = c.get("equals") {
        if got != Some(want) && got.map(scalar_text) != Some(scalar_text(want)) {
            return fail(format!("want {want}"));
        }
    }
    if c.get("absent") == Some(&Value::Bool(true)) && got.is_some() {
        return fail("want absent".into());
    }
    if c.get("empty") == Some(&Value::Bool(true)) && !empty(got) {
        return fail("want empty".into());
    }
    if c.get("falsy") == Some(&Value::Bool(true))
        && !matches!(got, None | Some(Value::Null) | Some(Value::Bool(false)))
    {
        return fail("want falsy".into());
    }
    if let Some(n) = c.get("length").and_then(Value::as_u64) {
        let len = match got {
            Some(Value::Array(a)) => a.len(),
            Some(Value::Object(m)) => m.len(),
            _ => usize::MAX,
        };
        if len as u64 != n {
            return fail(format!("want length {n}"));
        }
    }
    if let Some(Value::Array(keys)) = c.get("keys") {
        let mut want: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        let mut have: Vec<&str> = got
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        want.sort();
        have.sort();
        if want != have {
            return fail(format!("want keys {want:?}"));
        }
    }
    if let Some(rel) = c.get("equals_path").and_then(Value::as_str) {
        let want = dir.join(rel);
        if got.and_then(Value::as_str) != Some(want.to_str().unwrap()) {
            return fail(format!("want path {}", want.display()));
        }
    }
    Ok(())
}

/// Go's tests compare typed fields: a published port `8080` and `"8080"`
/// are the same assertion on the printed model.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn run_loader_case(case: &Value, scratch: &Path) -> Result<(), String> {
    let name = case["name"].as_str().ok_or("no name")?;
    let from = corpus("loader").join(name);
    let expect: Value =
        serde_json::from_str(&fs::read_to_string(from.join("expect.json")).unwrap()).unwrap();
    let dir = scratch.join(name);
    copy_dir(&from, &dir);
    let mut args: Vec<String> = Vec::new();
    for f in expect["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        args.extend(["-f".to_string(), f.to_string()]);
    }
    for p in expect["profiles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        args.extend(["--profile".to_string(), p.to_string()]);
    }
    args.extend([
        "config".to_string(),
        "--format".to_string(),
        "json".to_string(),
    ]);
    if expect["options"]
        .as_str()
        .unwrap_or("")
        .contains("SkipConsistencyCheck")
    {
        args.push("--no-consistency".to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = compose(&dir, &argv);
    match expect["expect"].as_str() {
        Some("error") => {
            let message = refusal(&out)?;
            match expect["error_contains"].as_str() {
                Some(want) if !carries(&message, want) => {
                    Err(format!("error {message:?} does not carry {want:?}"))
                }
                _ => Ok(()),
            }
        }
        Some("ok-or-error") if !out.status.success() => refusal(&out).map(|_| ()),
        _ => {
            if !out.status.success() {
                return Err(format!("failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let model: Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("output is not JSON: {e}"))?;
            for c in expect["checks"].as_array().into_iter().flatten() {
                check(&model, c, &dir)?;
            }
            Ok(())
        }
    }
}

#[test]
fn every_loader_case_through_compose_config() {
    let scratch = Scratch::new("compose-loader");
    let all = cases("loader");
    assert!(all.len() >= 47, "only {} cases", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|c| {
            run_loader_case(c, &scratch.0)
                .err()
                .map(|e| format!("{}: {e}", c["name"]))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
