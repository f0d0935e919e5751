//! Golden tests of the typed Dockerfile model.
//!
//! - `testdata/dockerfile/ok/<case>/Dockerfile` must type-check; its
//!   `Dockerfile::dump()` must equal `typed` in the same folder.
//! - `testdata/dockerfile/err/<case>/Dockerfile` must fail; the one-line error
//!   (`Dockerfile:line:column: message`) must equal `error`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p kiln-parser --test dockerfile_typed` rewrites
//! the expected files. Every folder is a case: none is skipped.
//!
//! Also: every case of BuildKit's parser corpus either type-checks or fails
//! for the reason BuildKit's typed layer would fail it (see `corpus_*`).

use std::fs;
use std::path::{Path, PathBuf};

use kiln_parser::dockerfile::{parse_dockerfile, Dockerfile, DockerfileError};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dockerfile")
}

fn case_dirs(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(testdata().join(kind))
        .unwrap_or_else(|e| panic!("reading testdata/dockerfile/{kind}: {e}"))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file (or rewrites it); returns a
/// failure description.
fn check_golden(dir: &Path, file: &str, actual: &str) -> Option<String> {
    let path = dir.join(file);
    if updating() {
        fs::write(&path, actual).expect("writing golden file");
        return None;
    }
    let expected =
        fs::read_to_string(&path).unwrap_or_else(|_| format!("<missing {}>", path.display()));
    (expected != actual).then(|| {
        format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )
    })
}

/// Parses, turning a panic into a failure message (bad input must never panic).
fn parse_case(dir: &Path) -> Result<Result<Dockerfile, DockerfileError>, String> {
    let source = read_source(dir);
    std::panic::catch_unwind(|| parse_dockerfile(&source))
        .map_err(|_| format!("{}: panicked", dir.display()))
}

fn read_source(dir: &Path) -> String {
    fs::read_to_string(dir.join("Dockerfile")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn ok_cases() {
    let dirs = case_dirs("ok");
    assert!(
        dirs.len() >= 15,
        "expected at least 15 ok cases, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        match parse_case(dir) {
            Ok(Ok(df)) => failures.extend(check_golden(dir, "typed", &df.dump())),
            Ok(Err(e)) => failures.push(format!(
                "{}: unexpected error: {}",
                dir.display(),
                e.display_in("Dockerfile")
            )),
            Err(panicked) => failures.push(panicked),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ok cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn err_cases() {
    let dirs = case_dirs("err");
    assert!(
        dirs.len() >= 20,
        "expected at least 20 err cases, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        match parse_case(dir) {
            Ok(Ok(df)) => failures.push(format!(
                "{}: parsed but should fail:\n{}",
                dir.display(),
                df.dump()
            )),
            Ok(Err(e)) => failures.extend(check_golden(
                dir,
                "error",
                &format!("{}\n", e.display_in("Dockerfile")),
            )),
            Err(panicked) => failures.push(panicked),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} err cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// Corpus cases (testdata/dockerfile/conformance/testfiles) that BuildKit's
/// syntax parser accepts but its typed layer rejects, with kiln's error.
const CORPUS_TYPED_FAILURES: &[(&str, &str)] = &[
    // COPY has no --user flag (nor --doit): the case only exercises flag syntax.
    ("flags", "Dockerfile:3:6: unknown flag: --user"),
    // These files are a lone CMD (JSON-syntax edge cases) with no FROM before it.
    (
        "jeztah-invalid-json-json-inside-string",
        "Dockerfile:1:1: no build stage in current context",
    ),
    (
        "jeztah-invalid-json-json-inside-string-double",
        "Dockerfile:1:1: no build stage in current context",
    ),
    (
        "jeztah-invalid-json-unterminated-bracket",
        "Dockerfile:1:1: no build stage in current context",
    ),
    (
        "jeztah-invalid-json-unterminated-string",
        "Dockerfile:1:1: no build stage in current context",
    ),
    // Only CMD lines, no FROM.
    ("json", "Dockerfile:1:1: no build stage in current context"),
];

#[test]
fn corpus_cases_type_check_or_fail_as_buildkit_would() {
    let root = testdata().join("conformance/testfiles");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let expected = CORPUS_TYPED_FAILURES
            .iter()
            .find(|(case, _)| *case == name)
            .map(|(_, e)| *e);
        let actual = parse_dockerfile(&read_source(&dir)).map_err(|e| e.display_in("Dockerfile"));
        match (expected, actual) {
            (None, Ok(_)) => {}
            (Some(want), Err(got)) if got == want => {}
            (want, got) => failures.push(format!("{name}: expected {want:?}, got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
