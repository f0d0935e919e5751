//! The compose merge corpus (`testdata/compose/conformance/merge`): every
//! case of `cases.jsonl`, merged by the library as compose-go's
//! `override.Merge` + `EnforceUnicity` and compared as data with the
//! expected file.

use std::path::{Path, PathBuf};

use kiln_parser::compose::files::merge_texts;
use kiln_parser::compose::merge::{merge, MergeError};
use kiln_parser::compose::yaml;
use serde_json::Value as Json;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/compose/conformance/merge")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every row of the manifest.
fn cases() -> Vec<Json> {
    read(&corpus().join("cases.jsonl"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("manifest row"))
        .collect()
}

/// `override.Merge` file after file, no uniqueness pass.
fn merge_only(files: &[(String, String)]) -> Result<yaml::Node, MergeError> {
    let mut dict = yaml::Node::new(yaml::Value::Map(Vec::new()));
    for (name, text) in files {
        for doc in yaml::parse_documents(text, name)? {
            dict = merge(dict, doc, name)?;
        }
    }
    Ok(dict)
}

#[test]
fn every_merge_case_matches_upstream() {
    let cases = cases();
    assert!(cases.len() >= 60, "the manifest has {} rows", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let dir = corpus().join(name);
        let files: Vec<(String, String)> = case["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = f.as_str().unwrap();
                (format!("{name}/{f}"), read(&dir.join(f)))
            })
            .collect();
        let expected_file = dir.join(case["expected"].as_str().unwrap());
        let expected = yaml::parse(&read(&expected_file), "expected")
            .unwrap()
            .to_json();
        let got = match case["compare"].as_str().unwrap() {
            // The spec's examples: the merge function alone.
            "merge" => merge_only(&files),
            // merge+unicity, unicity (one file), load-yaml-model (no
            // include/extends/tags in its files: the same passes).
            _ => merge_texts(&files),
        };
        match got {
            Ok(got) if got.to_json() == expected => {}
            Ok(got) => failures.push(format!("{name}: got\n{}", yaml::emit(&got))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
