use super::*;
use crate::compose::files::merge_texts;
use crate::compose::yaml::{parse, Pos};

fn merged(files: &[&str]) -> Result<Node, MergeError> {
    let files: Vec<(String, String)> = files
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("{i}.yaml"), t.to_string()))
        .collect();
    merge_texts(&files)
}

fn json(text: &str) -> serde_json::Value {
    parse(text, "expected").unwrap().to_json()
}

#[test]
fn scalars_replace_and_sequences_append() {
    let out = merged(&[
        "services: {a: {image: x, cap_add: [A]}}",
        "services: {a: {image: y, cap_add: [B]}}",
    ]);
    let want = json("services: {a: {image: y, cap_add: [A, B]}}");
    assert_eq!(out.unwrap().to_json(), want);
}

#[test]
fn null_override_keeps_base_but_command_takes_null() {
    let out = merged(&[
        "services: {a: {image: x, command: c}}",
        "services: {a: {image: null, command: null}}",
    ]);
    assert_eq!(
        out.unwrap().to_json(),
        json("services: {a: {image: x, command: null}}")
    );
}

#[test]
fn mapping_over_scalar_kind_mismatch_names_file_line_and_path() {
    let err = merged(&[
        "services:\n  a:\n    ports: [\"80\"]\n",
        "services:\n  a:\n    ports: 80\n",
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1.yaml:3:12: cannot override services.a.ports"
    );
}

#[test]
fn labels_become_sorted_key_value_strings() {
    let out = merged(&[
        "services: {a: {labels: {b: 2, a: 1.5, c: null}}}",
        "services: {a: {labels: {a: x}}}",
    ]);
    assert_eq!(
        out.unwrap().to_json(),
        json("services: {a: {labels: [a=x, b=2, c]}}")
    );
}

#[test]
fn positions_survive_the_merge() {
    let out = merged(&[
        "services:\n  a:\n    image: x\n",
        "services:\n  a:\n    user: me\n",
    ])
    .unwrap();
    let a = out.get("services").unwrap().get("a").unwrap();
    assert_eq!(a.get("image").unwrap().pos, Pos { line: 3, col: 12 });
    assert_eq!(a.get("user").unwrap().pos, Pos { line: 3, col: 11 });
}

#[test]
fn reset_removes_and_override_replaces() {
    let base = "services: {a: {ports: [\"80\"], environment: {A: 1}, dns: [x]}}";
    let over = "services: {a: {ports: !reset [], environment: !override {B: 2}, dns: [y]}}";
    let out = merged(&[base, over]).unwrap();
    assert_eq!(
        out.to_json(),
        json("services: {a: {environment: {B: 2}, dns: [x, y]}}")
    );
}

#[test]
fn unicity_errors_name_the_entry() {
    let err = merged(&["services:\n  a:\n    volumes:\n      - {source: x}\n"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0.yaml:4:9: service volume services.a.volumes.[0] is missing a mount target"
    );
}

#[test]
fn logging_with_other_driver_replaces() {
    let base = "services: {a: {logging: {driver: json-file, options: {max-size: 1m}}}}";
    let over = "services: {a: {logging: {driver: syslog, options: {tag: t}}}}";
    let out = merged(&[base, over]).unwrap();
    assert_eq!(out.to_json(), json(over));
}

#[test]
fn ipam_config_matches_by_subnet() {
    let base = "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}}}";
    let over = "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.2}, {subnet: 10.1.0.0/24}]}}}";
    let out = merged(&[base, over]).unwrap();
    let want = "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.2}, {subnet: 10.1.0.0/24}]}}}";
    assert_eq!(out.to_json(), json(want));
}

#[test]
fn top_level_must_be_a_mapping() {
    let err = merged(&["- a\n"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0.yaml:1:1: top-level object must be a mapping"
    );
}
