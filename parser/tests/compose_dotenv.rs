//! compose-go's `.env` cases (`testdata/compose/conformance/dotenv/cases.jsonl`),
//! every row, through the library API the row names.
//!
//! All failing cases are reported at once, each with its name.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use kiln_parser::compose::dotenv;
use kiln_parser::compose::env_files::{env_files, service_environment, EnvFile};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/compose/conformance/dotenv")
}

/// What a case produced: key -> value (`None`: a key without value).
type Outcome = Result<BTreeMap<String, Option<String>>, String>;

fn lookup_of(case: &Value) -> BTreeMap<String, String> {
    case["lookup"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn read_files(case: &Value) -> Result<Vec<(String, String)>, String> {
    let files = case["files"].as_array().ok_or("no files")?;
    files
        .iter()
        .map(|f| {
            let name = f.as_str().ok_or("file name is not a string")?;
            let bytes = fs::read(dir().join(name)).map_err(|e| format!("{name}: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|e| format!("{name}: {e}"))?;
            Ok((name.to_string(), text))
        })
        .collect()
}

fn some(map: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, Option<String>> {
    map.into_iter().map(|(k, v)| (k, Some(v))).collect()
}

/// Runs one case through the API its `api` field names.
fn run(case: &Value) -> Outcome {
    let files = read_files(case)?;
    let env = lookup_of(case);
    let lookup = |name: &str| env.get(name).cloned();
    let env_files_of: Vec<EnvFile<'_>> = files
        .iter()
        .map(|(name, text)| EnvFile { name, text })
        .collect();
    match case["api"].as_str().unwrap_or_default() {
        api @ ("parse" | "read") => {
            let mut out = BTreeMap::new();
            for (_, text) in &files {
                let map = if api == "parse" {
                    dotenv::parse(text, &lookup)
                } else {
                    dotenv::read(text, &lookup)
                };
                out.extend(some(map.map_err(|e| e.to_string())?));
            }
            Ok(out)
        }
        "env-files" => Ok(some(
            env_files(&env_files_of, &lookup).map_err(|e| e.to_string())?,
        )),
        "service-environment" => {
            let service: Vec<(String, Option<String>)> = case["service_environment"]
                .as_object()
                .ok_or("no service_environment")?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
                .collect();
            let map =
                service_environment(&env_files_of, &service, &lookup).map_err(|e| e.to_string())?;
            Ok(map.into_iter().collect())
        }
        other => Err(format!("unknown api {other:?}")),
    }
}

/// Whether our error message carries upstream's text. kiln numbers lines where
/// the statement starts, so a `line N: ` prefix of upstream's text may differ.
fn error_matches(ours: &str, upstream: &str) -> bool {
    let upstream = upstream.trim();
    if upstream.is_empty() || ours.contains(upstream) {
        return true;
    }
    let without_line = upstream
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .map(|(_, rest)| rest);
    without_line.is_some_and(|rest| ours.contains(rest))
}

fn expected_values(name: &str) -> Result<BTreeMap<String, Option<String>>, String> {
    let path = dir().join(format!("{name}.expected.json"));
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: BTreeMap<String, Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(json
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map(str::to_string)))
        .collect())
}

/// Checks one case; `Err` says what was wrong.
fn check(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().ok_or("case without a name")?;
    let outcome = run(case);
    if case["expect"] == "error" {
        let err = match outcome {
            Ok(got) => return Err(format!("expected an error, got {got:?}")),
            Err(err) => err,
        };
        let mut wanted = case["error_contains"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Ok(text) = fs::read_to_string(dir().join(format!("{name}.error"))) {
            wanted = if wanted.is_empty() { text } else { wanted };
        }
        if !error_matches(&err, &wanted) {
            return Err(format!("error {err:?} does not carry {wanted:?}"));
        }
        return Ok(());
    }
    let got = outcome?;
    let expected = expected_values(name)?;
    let exact = case["match"] == "exact";
    if exact && got != expected {
        return Err(format!("got {got:?}\n  expected exactly {expected:?}"));
    }
    for (key, value) in &expected {
        if got.get(key) != Some(value) {
            return Err(format!(
                "{key:?}: got {:?}, expected {value:?}",
                got.get(key)
            ));
        }
    }
    for key in case["absent"].as_array().into_iter().flatten() {
        let key = key.as_str().unwrap_or_default();
        if got.contains_key(key) {
            return Err(format!("{key:?} must be absent, got {:?}", got[key]));
        }
    }
    Ok(())
}

#[test]
fn every_dotenv_case() {
    let manifest = dir().join("cases.jsonl");
    let text = fs::read_to_string(&manifest).expect("read dotenv/cases.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("cases.jsonl:{}: {e}", i + 1));
        checked += 1;
        if let Err(why) = check(&case) {
            failures.push(format!("{}: {why}", case["name"]));
        }
    }
    assert!(
        checked >= 74,
        "only {checked} cases in {}",
        manifest.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} dotenv cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
