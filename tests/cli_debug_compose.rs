//! End-to-end: the dotenv and interpolation corpora
//! (`testdata/compose/conformance/{dotenv,interpolation}`) run through the
//! built `kiln debug compose dotenv` and `kiln debug compose interpolate`,
//! every case; a failing case fails the test with its name.
//!
//! These commands touch no state: they run without `--root`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/compose/conformance")
        .join(rel)
}

fn manifest(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(corpus(rel)).expect("read the manifest");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON case"))
        .collect()
}

fn kiln(args: &[String], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(dir)
        .env_remove("KILN_ROOT")
        .output()
        .expect("run kiln")
}

/// What `kiln debug compose dotenv` printed, or its one-line error.
type Outcome = Result<BTreeMap<String, Option<String>>, String>;

/// Runs `kiln debug compose dotenv` with the case's lookup, `extra` flags and
/// `files` (run in the corpus folder, so errors name the files as given).
fn dotenv(case: &Value, extra: &[String], files: &[&str]) -> Outcome {
    let mut args: Vec<String> = ["debug", "compose", "dotenv"].map(String::from).to_vec();
    for (key, value) in case["lookup"].as_object().into_iter().flatten() {
        args.push(format!(
            "--env={key}={}",
            value.as_str().unwrap_or_default()
        ));
    }
    args.extend(extra.iter().cloned());
    args.extend(files.iter().map(|f| f.to_string()));
    let out = kiln(&args, &corpus("dotenv"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        if out.status.code() != Some(1) || stderr.lines().count() != 1 {
            return Err(format!(
                "not a one-line exit-1 error: {:?} {stderr:?}",
                out.status
            ));
        }
        return Err(stderr);
    }
    let map: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("output is not a JSON object ({e}): {stderr}"))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map(str::to_string)))
        .collect())
}

/// Runs a case the way its `api` says, with the command's flags.
fn run_case(case: &Value) -> Outcome {
    let files: Vec<&str> = case["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match case["api"].as_str().unwrap_or_default() {
        "env-files" => dotenv(case, &[], &files),
        "service-environment" => {
            let flags: Vec<String> = case["service_environment"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| match v.as_str() {
                    Some(v) => format!("--service-env={k}={v}"),
                    None => format!("--service-env={k}"),
                })
                .collect();
            dotenv(case, &flags, &files)
        }
        // `parse` and `read` take each file on its own (no lookups across
        // files); `read` then drops keys that start with an ASCII digit.
        api => {
            let mut merged = BTreeMap::new();
            for file in &files {
                merged.extend(dotenv(case, &[], &[file])?);
            }
            if api == "read" {
                merged.retain(|k, _| !k.starts_with(|c: char| c.is_ascii_digit()));
            }
            Ok(merged)
        }
    }
}

fn check_dotenv(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    let outcome = run_case(case);
    if case["expect"] == "error" {
        let err = outcome.err().ok_or("expected an error")?;
        let wanted = case["error_contains"].as_str().unwrap_or_default();
        // kiln numbers lines where the statement starts: leave out upstream's.
        let wanted = wanted
            .strip_prefix("line ")
            .and_then(|rest| rest.split_once(": "))
            .map_or(wanted, |(_, rest)| rest);
        let file = case["files"][0].as_str().unwrap_or_default();
        if !err.starts_with("kiln: ") || !err.contains(wanted) || !err.contains(file) {
            return Err(format!(
                "error {err:?} must name {file} and carry {wanted:?}"
            ));
        }
        return Ok(());
    }
    let got = outcome?;
    let text = std::fs::read_to_string(corpus(&format!("dotenv/{name}.expected.json")))
        .map_err(|e| e.to_string())?;
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&text).map_err(|e| e.to_string())?;
    for (key, value) in &expected {
        if got.get(key).map(|v| v.as_deref()) != Some(value.as_str()) {
            return Err(format!("{key:?}: got {:?}, expected {value}", got.get(key)));
        }
    }
    if case["match"] == "exact" && got.len() != expected.len() {
        return Err(format!("got {got:?}, expected exactly {expected:?}"));
    }
    for key in case["absent"].as_array().into_iter().flatten() {
        if got.contains_key(key.as_str().unwrap_or_default()) {
            return Err(format!("{key} must be absent"));
        }
    }
    Ok(())
}

#[test]
fn every_dotenv_case_through_the_binary() {
    let cases = manifest("dotenv/cases.jsonl");
    assert!(cases.len() >= 74);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check_dotenv(c)
                .err()
                .map(|why| format!("{}: {why}", c["name"]))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Pipes `input` into `kiln debug compose interpolate`.
fn interpolate(input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["debug", "compose", "interpolate"])
        .env_remove("KILN_ROOT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for kiln");
    writer.join().expect("writer").expect("write stdin");
    out
}

#[test]
fn every_interpolation_case_through_the_binary() {
    let text = std::fs::read_to_string(corpus("interpolation/cases.jsonl")).expect("manifest");
    let cases = manifest("interpolation/cases.jsonl");
    assert!(cases.len() >= 95);
    let out = interpolate(&text);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replies: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON reply"))
        .collect();
    assert_eq!(replies.len(), cases.len(), "one reply per case");
    let mut failures = Vec::new();
    for (case, reply) in cases.iter().zip(&replies) {
        let ok = if case["error"] == true {
            let wanted = case["error_contains"].as_str().unwrap_or_default();
            reply["error"].as_str().is_some_and(|e| e.contains(wanted))
        } else {
            reply["result"] == case["expected"] && reply.get("error").is_none()
        };
        if !ok {
            failures.push(format!("{}: got {reply}", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_malformed_interpolate_line_is_a_one_line_error_naming_it() {
    let out = interpolate("{\"template\": \"$A\", \"env\": {\"A\": \"1\"}}\n{\"template\": 3}\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"result\":\"1\"}\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, "kiln: <stdin>:2: \"template\" must be a string\n");
}

#[test]
fn dotenv_prints_keys_in_file_order_and_names_missing_files() {
    let scratch = support::Scratch::new("debug-compose-dotenv");
    let dir = scratch.0.clone();
    std::fs::write(dir.join("1.env"), "Z=1\nA=${Z}${P}\n").expect("write");
    std::fs::write(dir.join("2.env"), "M=2\nZ=3\n").expect("write");
    let args = |files: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["debug", "compose", "dotenv", "--env", "P=p"]
            .map(String::from)
            .to_vec();
        a.extend(files.iter().map(|f| f.to_string()));
        a
    };
    let out = kiln(&args(&["1.env", "2.env"]), &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\n  \"Z\": \"3\",\n  \"A\": \"1p\",\n  \"M\": \"2\"\n}\n"
    );
    let out = kiln(&args(&["1.env", "missing.env"]), &dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kiln: couldn't find env file: missing.env\n"
    );
}
