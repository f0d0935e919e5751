//! The loader corpus (`testdata/compose/conformance/loader`) through the
//! merge passes: every case's files are loaded with `files::load` (YAML,
//! `!reset`/`!override`, `include`, `extends`, merge, uniqueness) from a
//! host that reads the case folder, and each check of `expect.json` is
//! asserted on the resulting tree.
//!
//! Some checks need a pass that runs later in the loader and is not part of
//! these passes (interpolation, the canonical long syntax, profiles, the
//! consistency check). Those are listed in [`LATER_PASS`] with the reason,
//! and the test asserts instead what these passes must hand to that later
//! pass (the raw value), so no case goes unchecked.

use std::path::{Path, PathBuf};

use kiln_parser::compose::files::{load, ComposeFile, FileHost, LoadOptions};
use serde_json::{json, Value as Json};

/// Reads the case folder from disk.
struct DiskHost;

impl FileHost for DiskHost {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// (case, check path, why it belongs to a later pass, what these passes
/// must produce instead: path, value; `null` value = must load).
const LATER_PASS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "TestExtendsPort",
        "services.test.ports.0.target",
        "canonical long port syntax",
        "services.test.ports.0",
        "\"8000:8000\"",
    ),
    (
        "TestExtendsRelativePath",
        "services.test.build.context",
        "canonical build mapping",
        "services.test.build",
        "\"testdata/extends\"",
    ),
    (
        "TestExtendsWithInterpolation",
        "services.test.volumes.0.source",
        "interpolation and canonical volumes",
        "services.test.volumes.0",
        "\"${SOURCE:-/dev/null}:/tmp/foo:ro\"",
    ),
    (
        "TestLoadExtends",
        "services.foo.command.0",
        "canonical command list",
        "services.foo.command",
        "\"echo\"",
    ),
    (
        "TestLoadExtendsOverrideCommand",
        "services.foo.command",
        "canonical command list",
        "services.foo.command",
        "\"/bin/ash -c \\\"rm -rf /tmp/might-not-exist\\\"\"",
    ),
    (
        "TestLoadExtendsDependsOn",
        "services.service_b.depends_on",
        "canonical depends_on mapping",
        "services.service_b.depends_on",
        "[\"service_a\"]",
    ),
    (
        "TestLoadExtendsDependsOn",
        "services.service_b.depends_on.service_a.condition",
        "canonical depends_on mapping",
        "services.service_b.depends_on",
        "[\"service_a\"]",
    ),
    (
        "TestLoadExtendsDependsOn",
        "services.service_b.depends_on.service_a.required",
        "canonical depends_on mapping",
        "services.service_b.depends_on",
        "[\"service_a\"]",
    ),
    (
        "TestProfiles--no-profile",
        "services.foo",
        "profiles",
        "services.foo.profiles",
        "[\"debug\", \"dev\"]",
    ),
    (
        "TestExtendsWithServiceRef--depends_on",
        "error",
        "consistency check",
        "services.bar.depends_on",
        "[\"zot\"]",
    ),
    (
        "TestExtendsWithServiceRef--shared_ipc",
        "error",
        "consistency check",
        "services.bar.ipc",
        "\"service:zot\"",
    ),
    (
        "TestExtendsWithServiceRef--shared_network_mode",
        "error",
        "consistency check",
        "services.bar.network_mode",
        "\"service:zot\"",
    ),
    (
        "TestExtendsWithServiceRef--volumes_from",
        "error",
        "consistency check",
        "services.bar.volumes_from",
        "[\"zot\"]",
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/compose/conformance/loader")
}

fn lookup<'a>(model: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(model, |node, part| match node {
        Json::Object(map) => map.get(part),
        Json::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn later_pass(
    case: &str,
    path: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    LATER_PASS.iter().find(|row| row.0 == case && row.1 == path)
}

/// One check of `expect.json` on `model`; `Err` says what differs.
fn check(case: &str, model: &Json, c: &Json) -> Result<(), String> {
    let path = c["path"].as_str().unwrap();
    if let Some(row) = later_pass(case, path) {
        return substitute(model, row);
    }
    let found = lookup(model, path);
    let ok = if let Some(want) = c.get("equals") {
        found == Some(want)
    } else if c.get("absent").is_some() {
        found.is_none()
    } else if c.get("empty").is_some() {
        match found {
            None | Some(Json::Null) => true,
            Some(Json::Array(a)) => a.is_empty(),
            Some(Json::Object(m)) => m.is_empty(),
            _ => false,
        }
    } else if c.get("falsy").is_some() {
        matches!(found, None | Some(Json::Null) | Some(Json::Bool(false)))
    } else if let Some(n) = c.get("length") {
        let len = match found {
            Some(Json::Array(a)) => a.len(),
            Some(Json::Object(m)) => m.len(),
            _ => usize::MAX,
        };
        json!(len) == *n
    } else if let Some(keys) = c.get("keys") {
        let mut want: Vec<&str> = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let mut got: Vec<&str> = match found {
            Some(Json::Object(m)) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        want.sort();
        got.sort();
        want == got
    } else if let Some(p) = c.get("equals_path") {
        found == Some(p)
    } else {
        return Err(format!("unknown check {c}"));
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{c}: found {found:?}"))
    }
}

fn substitute(model: &Json, row: &(&str, &str, &str, &str, &str)) -> Result<(), String> {
    let want: Json = serde_json::from_str(row.4).unwrap();
    match lookup(model, row.3) {
        Some(v) if *v == want => Ok(()),
        other => Err(format!(
            "{} (left to the {} pass): want {want}, found {other:?}",
            row.3, row.2
        )),
    }
}

fn run_case(name: &str) -> Result<(), String> {
    let dir = corpus().join(name);
    let expect: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expect.json")).unwrap()).unwrap();
    let files: Vec<ComposeFile> = expect["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| ComposeFile {
            path: dir.join(f.as_str().unwrap()),
            text: None,
        })
        .collect();
    let opts = LoadOptions {
        working_dir: dir.clone(),
        ..LoadOptions::default()
    };
    let result = load(&files, &opts, &DiskHost);
    let expected = expect["expect"].as_str().unwrap();
    let model = match (expected, result) {
        (_, Ok(model)) => model.to_json(),
        ("error" | "ok-or-error", Err(_)) => return Ok(()),
        (_, Err(e)) => return Err(format!("unexpected error: {e}")),
    };
    if expected == "error" {
        return match later_pass(name, "error") {
            Some(row) => substitute(&model, row),
            None => Err("loaded, upstream refuses it".into()),
        };
    }
    for c in expect["checks"].as_array().into_iter().flatten() {
        check(name, &model, c)?;
    }
    Ok(())
}

#[test]
fn every_loader_case_through_the_merge_passes() {
    let manifest = std::fs::read_to_string(corpus().join("cases.jsonl")).unwrap();
    let names: Vec<String> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(names.len() >= 45, "{} cases", names.len());
    let failures: Vec<String> = names
        .iter()
        .filter_map(|n| run_case(n).err().map(|e| format!("{n}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn extends_cycle_is_refused_with_the_chain() {
    let dir = std::env::temp_dir().join(format!("kiln-extends-cycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  a:\n    extends: b\n  b:\n    extends:\n      service: a\n",
    )
    .unwrap();
    let files = [ComposeFile {
        path: file.clone(),
        text: None,
    }];
    let opts = LoadOptions {
        working_dir: dir.clone(),
        ..LoadOptions::default()
    };
    let err = load(&files, &opts, &DiskHost).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.starts_with(&format!("{}:", file.display())), "{err}");
    assert!(err.contains("Circular reference: a in"), "{err}");
}
