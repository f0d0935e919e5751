//! The compose-spec schema corpus (testdata/compose/conformance/schema, copied
//! from ../shared/conformance/compose): every case of `cases.jsonl` is read
//! through `kiln_parser::compose::yaml` and validated; `valid` ones must pass,
//! `invalid` ones must fail with a violation whose compose-go rendering
//! contains upstream's `error_contains`. No case is skipped, and every YAML
//! file of `valid/` and `invalid/` must be named by a case.
//!
//! Also: 316 mutated documents with the error upstream's own validator chose
//! (testdata/compose/schema-oracle), the embedded schema is the corpus's
//! `compose-spec.json`, violations map back to YAML positions, and a
//! 50-service model validates.

use kiln_parser::compose::schema::{self, PathSeg, SchemaError, COMPOSE_SPEC_JSON};
use kiln_parser::compose::yaml;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/compose/conformance/schema")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The YAML file `rel` (under the corpus) as the tree and its JSON.
fn load(rel: &str) -> (yaml::Node, Value) {
    let node = yaml::parse(&read(&corpus().join(rel)), rel).unwrap_or_else(|e| panic!("{e}"));
    let json = node.to_json();
    (node, json)
}

fn cases() -> Vec<Value> {
    let text = read(&corpus().join("cases.jsonl"));
    let rows: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("cases.jsonl: {e}: {l}")))
        .collect();
    assert!(rows.len() >= 30, "only {} cases", rows.len());
    rows
}

/// The outcome of one case, `Err` with a description when it fails.
fn run_case(case: &Value) -> Result<(), String> {
    let file = case["file"].as_str().ok_or("case without a file")?;
    let (_, model) = load(file);
    let result = schema::validate(&model);
    match (case["expect"].as_str(), result) {
        (Some("valid"), Ok(())) => Ok(()),
        (Some("valid"), Err(e)) => Err(format!("expected valid, got: {e}")),
        (Some("invalid"), Ok(())) => Err("expected a violation, document validated".into()),
        (Some("invalid"), Err(SchemaError::Invalid(v))) => {
            let text = v.to_string();
            match case["error_contains"].as_str() {
                Some(want) if !text.contains(want) => {
                    Err(format!("error {text:?} does not contain {want:?}"))
                }
                _ => Ok(()),
            }
        }
        (Some("invalid"), Err(e)) => Err(format!("not a violation: {e}")),
        (other, _) => Err(format!("unknown expect {other:?}")),
    }
}

#[test]
fn every_corpus_case_validates_as_upstream() {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| run_case(c).err().map(|e| format!("{}: {e}", c["name"])))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Mutated documents with the error upstream's validator chose for them
/// (testdata/compose/schema-oracle/README.md says how they were made).
#[test]
fn every_oracle_case_matches_upstream() {
    let path = corpus().join("../../schema-oracle/cases.jsonl");
    let text = read(&path);
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        count += 1;
        let row: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let got = match schema::validate(&row["model"]) {
            Ok(()) => None,
            Err(e) => Some(e.to_string()),
        };
        if got.as_deref() != row["error"].as_str() {
            failures.push(format!(
                "line {}: want {}, got {got:?}",
                i + 1,
                row["error"]
            ));
        }
    }
    assert!(count >= 300, "only {count} oracle cases");
    assert!(
        failures.is_empty(),
        "{} of {count} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_is_a_case() {
    let named: BTreeSet<String> = cases()
        .iter()
        .filter_map(|c| c["file"].as_str().map(String::from))
        .collect();
    let mut on_disk = BTreeSet::new();
    for dir in ["valid", "invalid"] {
        for entry in fs::read_dir(corpus().join(dir)).expect("corpus dir") {
            let name = entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            on_disk.insert(format!("{dir}/{name}"));
        }
    }
    assert_eq!(named, on_disk);
}

#[test]
fn the_embedded_schema_is_the_corpus_schema() {
    let corpus_schema: Value =
        serde_json::from_str(&read(&corpus().join("compose-spec.json"))).expect("JSON");
    let embedded: Value = serde_json::from_str(COMPOSE_SPEC_JSON).expect("JSON");
    assert_eq!(corpus_schema, embedded);
}

#[test]
fn violations_carry_their_path_and_yaml_position() {
    let (node, model) = load("invalid/TestBadDevelopConfig.yaml");
    let Err(SchemaError::Invalid(v)) = schema::validate(&model) else {
        panic!("expected a violation")
    };
    let key = |k: &str| PathSeg::Key(k.to_string());
    let want = vec![
        key("services"),
        key("frontend"),
        key("develop"),
        key("watch"),
        PathSeg::Index(0),
    ];
    assert_eq!(v.path, want);
    let pos = v.position(&node).expect("path exists in the tree");
    assert_eq!((pos.line, pos.col), (9, 11));

    let (node, model) = load("invalid/TestValidateUndefinedTopLevelOption.yaml");
    let Err(SchemaError::Invalid(v)) = schema::validate(&model) else {
        panic!("expected a violation")
    };
    assert_eq!(
        v.to_string(),
        "additional properties 'helicopters' not allowed"
    );
    let pos = v.position(&node).expect("the offending key");
    assert_eq!((pos.line, pos.col), (1, 1));
}

#[test]
fn interpolation_placeholders_pass_where_numbers_and_booleans_go() {
    let text = "services:\n  web:\n    image: app\n    ports: ['${PORT}:80', {target: 80, published: '${P}'}]\n    cpu_count: ${CPUS}\n    privileged: ${PRIV}\n    tty: 'true'\n";
    let model = yaml::parse(text, "compose.yaml").expect("YAML").to_json();
    assert_eq!(schema::validate(&model), Ok(()));
    let bad = yaml::parse("services:\n  web:\n    cpu_count: -2\n", "c.yaml")
        .expect("YAML")
        .to_json();
    let err = schema::validate(&bad)
        .expect_err("negative cpu_count")
        .to_string();
    // `cpu_count` is `oneOf: [string, {integer, minimum 0}]`: both branch
    // errors are as deep, and compose-go keeps the first one.
    assert_eq!(err, "services.web.cpu_count must be a string");
}

#[test]
fn service_names_and_extension_keys() {
    let ok =
        json!({"services": {"a.b-c_1": {"image": "x", "x-note": [1]}}, "x-top": {"any": true}});
    assert_eq!(schema::validate(&ok), Ok(()));
    let bad_name = json!({"services": {"bad name": {"image": "x"}}});
    let err = schema::validate(&bad_name)
        .expect_err("space in a service name")
        .to_string();
    assert_eq!(err, "services additional properties 'bad name' not allowed");
    let unknown = json!({"services": {"web": {"image": "x", "imagee": "y"}}});
    let err = schema::validate(&unknown)
        .expect_err("unknown key")
        .to_string();
    assert_eq!(
        err,
        "services.web additional properties 'imagee' not allowed"
    );
    let enum_value = json!({"services": {"web": {"depends_on": {"db": {"condition": "up"}}}}});
    let err = schema::validate(&enum_value)
        .expect_err("bad condition")
        .to_string();
    assert_eq!(
        err,
        "services.web.depends_on.db.condition value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'"
    );
}

#[test]
fn a_fifty_service_model_validates() {
    let mut services = serde_json::Map::new();
    for i in 0..50 {
        services.insert(
            format!("svc{i}"),
            json!({
                "image": format!("app{i}:1"),
                "ports": [format!("{}:80", 8000 + i)],
                "environment": {"N": i, "DEBUG": true},
                "volumes": [format!("./d{i}:/data"), {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 1024}}],
                "healthcheck": {"test": ["CMD", "true"], "interval": "5s"}
            }),
        );
    }
    let model = json!({"name": "big", "services": services});
    assert_eq!(schema::validate(&model), Ok(()));
    assert_eq!(schema::violations(&model), Ok(vec![]));
}
