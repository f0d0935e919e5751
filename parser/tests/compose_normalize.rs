//! compose-go's `Normalize` cases (`testdata/compose/conformance/normalize/`),
//! every row: `input.yaml` normalised with the row's environment must equal
//! `expected.yaml` as data (key order aside, null distinct from missing).
//!
//! All failing cases are reported at once, each with its name.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use kiln_parser::compose::loader::normalize::normalize;
use kiln_parser::compose::yaml;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/compose/conformance/normalize")
}

fn run_case(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().ok_or("no name")?;
    let folder = dir().join(name);
    let read = |f: &str| fs::read_to_string(folder.join(f)).map_err(|e| format!("{f}: {e}"));
    let mut input = yaml::parse(&read("input.yaml")?, "input.yaml").map_err(|e| e.to_string())?;
    let expected =
        yaml::parse(&read("expected.yaml")?, "expected.yaml").map_err(|e| e.to_string())?;
    let env: HashMap<String, String> = case["env"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let project = input
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    normalize(&mut input, &project, &env);
    if input.to_json() == expected.to_json() {
        Ok(())
    } else {
        Err(format!(
            "got {}\nwant {}",
            input.to_json(),
            expected.to_json()
        ))
    }
}

#[test]
fn every_normalize_case() {
    let manifest = fs::read_to_string(dir().join("cases.jsonl")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        count += 1;
        if let Err(why) = run_case(&case) {
            failures.push(format!("{}: {why}", case["name"]));
        }
    }
    assert!(count >= 9, "only {count} cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
