//! compose-go's interpolation cases, every row of
//! `testdata/compose/conformance/interpolation/{cases,operator-choice,variables}.jsonl`.
//!
//! Each test walks its whole manifest and reports every failing case at once,
//! each with its name.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use kiln_parser::compose::interpolate::{substitute, Operator};
use kiln_parser::compose::variables::extract_variables;
use serde_json::{json, Value};

/// Every case of one manifest, parsed.
fn manifest(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/compose/conformance/interpolation")
        .join(name);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1)))
        .collect()
}

/// Runs `check` on every case and panics with all failures.
fn walk(name: &str, min: usize, check: impl Fn(&Value) -> Result<(), String>) {
    let cases = manifest(name);
    assert!(cases.len() >= min, "only {} cases in {name}", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            check(case)
                .err()
                .map(|why| format!("{}: {why}", case["name"]))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases of {name} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn substitution_case(case: &Value) -> Result<(), String> {
    let template = case["template"].as_str().ok_or("no template")?;
    let env: BTreeMap<String, String> =
        serde_json::from_value(case["env"].clone()).map_err(|e| format!("env: {e}"))?;
    let result = substitute(template, &|name| env.get(name).cloned());
    if case["error"] == true {
        let err = result.err().ok_or("expected an error")?.to_string();
        let wanted = case["error_contains"].as_str().unwrap_or_default();
        if !err.contains(wanted) {
            return Err(format!("error {err:?} does not contain {wanted:?}"));
        }
        if let Some(whole) = case["error_equals"].as_str() {
            if err != whole {
                return Err(format!("error {err:?} is not {whole:?}"));
            }
        }
        return Ok(());
    }
    let got = result.map_err(|e| format!("unexpected error: {e}"))?;
    let expected = case["expected"].as_str().ok_or("no expected")?;
    if got != expected {
        return Err(format!("got {got:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn every_substitution_case() {
    walk("cases.jsonl", 95, substitution_case);
}

#[test]
fn every_operator_choice_case() {
    walk("operator-choice.jsonl", 12, |case| {
        let input = case["input"].as_str().ok_or("no input")?;
        let got = Operator::choose(input).map(Operator::as_str);
        let expected = case["operator"].as_str();
        if got != expected {
            return Err(format!("got {got:?}, expected {expected:?}"));
        }
        Ok(())
    });
}

#[test]
fn every_variables_case() {
    walk("variables.jsonl", 18, |case| {
        let got: BTreeMap<String, Value> = extract_variables(&case["input"])
            .into_iter()
            .map(|v| {
                let row = json!({"Name": v.name, "DefaultValue": v.default_value,
                    "PresenceValue": v.presence_value, "Required": v.required});
                (v.name, row)
            })
            .collect();
        let expected: BTreeMap<String, Value> = serde_json::from_value(case["expected"].clone())
            .map_err(|e| format!("expected: {e}"))?;
        if got != expected {
            return Err(format!("got {got:?}\n  expected {expected:?}"));
        }
        Ok(())
    });
}
