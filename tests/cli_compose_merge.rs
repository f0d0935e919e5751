//! End-to-end: `kiln debug compose merge FILE…` as a user runs it.
//!
//! Every case of the merge corpus (`testdata/compose/conformance/merge`)
//! merges to its expected file, compared as data (the printed YAML read
//! back); a refused merge prints one line naming the file, line and key
//! path and exits 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kiln_parser::compose::yaml;
use serde_json::Value as Json;

mod support;
use support::{one_line_error, Scratch};

fn kiln(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run kiln")
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/compose/conformance/merge")
}

fn as_data(text: &str, what: &str) -> Json {
    yaml::parse(text, what)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .to_json()
}

#[test]
fn every_merge_case_through_the_binary() {
    let manifest = std::fs::read_to_string(corpus().join("cases.jsonl")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for row in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let case: Json = serde_json::from_str(row).unwrap();
        let name = case["name"].as_str().unwrap();
        let dir = corpus().join(name);
        let mut args = vec!["debug", "compose", "merge"];
        args.extend(
            case["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap()),
        );
        let out = kiln(&args, &dir);
        let expected_file = dir.join(case["expected"].as_str().unwrap());
        let expected = as_data(&std::fs::read_to_string(expected_file).unwrap(), name);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || as_data(&stdout, name) != expected {
            let stderr = String::from_utf8_lossy(&out.stderr);
            failures.push(format!("{name}: {stderr}{stdout}"));
        }
        count += 1;
    }
    assert!(count >= 60, "{count} cases");
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn refused_merge_names_file_line_and_path() {
    let scratch = Scratch::new("compose-merge-refused");
    std::fs::write(
        scratch.0.join("a.yaml"),
        "services:\n  web:\n    ports: [\"80:80\"]\n",
    )
    .unwrap();
    std::fs::write(
        scratch.0.join("b.yaml"),
        "services:\n  web:\n    ports: 80\n",
    )
    .unwrap();
    let out = kiln(
        &["debug", "compose", "merge", "a.yaml", "b.yaml"],
        &scratch.0,
    );
    let stderr = one_line_error(out);
    assert_eq!(
        stderr,
        "kiln: b.yaml:3:12: cannot override services.web.ports\n"
    );
}

#[test]
fn reset_and_override_tags_apply_across_files() {
    let scratch = Scratch::new("compose-merge-reset");
    let base =
        "services:\n  web:\n    image: a\n    ports: [\"80:80\"]\n    environment: {A: \"1\"}\n";
    let over = "services:\n  web:\n    ports: !reset []\n    environment: !override {B: \"2\"}\n";
    std::fs::write(scratch.0.join("a.yaml"), base).unwrap();
    std::fs::write(scratch.0.join("b.yaml"), over).unwrap();
    let out = kiln(
        &["debug", "compose", "merge", "a.yaml", "b.yaml"],
        &scratch.0,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "services:\n  web:\n    image: a\n    environment:\n      B: \"2\"\n"
    );
}

#[test]
fn invalid_yaml_and_missing_file_fail_with_one_line() {
    let scratch = Scratch::new("compose-merge-bad");
    std::fs::write(scratch.0.join("dup.yaml"), "services:\n  a: {}\n  a: {}\n").unwrap();
    let stderr = one_line_error(kiln(&["debug", "compose", "merge", "dup.yaml"], &scratch.0));
    assert!(stderr.starts_with("kiln: dup.yaml:3:"), "{stderr}");
    let stderr = one_line_error(kiln(
        &["debug", "compose", "merge", "nope.yaml"],
        &scratch.0,
    ));
    assert!(stderr.contains("nope.yaml"), "{stderr}");
}
