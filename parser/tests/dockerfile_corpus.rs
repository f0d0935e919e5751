//! BuildKit's own parser corpus (testdata/dockerfile/conformance, copied from
//! ../shared/conformance/buildkit-parser): every `testfiles/<case>/Dockerfile`
//! must parse and, where a `result` file exists, dump to exactly that text;
//! every `testfiles-negative/<case>/Dockerfile` must fail. No case is skipped.

use std::fs;
use std::path::{Path, PathBuf};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/dockerfile/conformance")
        .join(dir);
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", root.display());
    cases
}

fn read(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn every_positive_case_dumps_like_buildkit() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let cases = corpus("testfiles");
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let ast = match kiln_parser::dockerfile::parse(&read(&case.join("Dockerfile"))) {
            Ok(ast) => ast,
            Err(e) => {
                failures.push(format!("{name}: failed to parse: {e}"));
                continue;
            }
        };
        let result = case.join("result");
        if result.exists() {
            compared += 1;
            let expected = read(&result);
            let actual = ast.dump();
            if actual != expected {
                failures.push(format!(
                    "{name}: dump differs\n--- expected\n{expected}--- actual\n{actual}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(compared >= 20, "only {compared} cases had a result file");
}

#[test]
fn every_negative_case_fails() {
    for case in corpus("testfiles-negative") {
        let text = read(&case.join("Dockerfile"));
        assert!(
            kiln_parser::dockerfile::parse(&text).is_err(),
            "{} parsed but must fail",
            case.display()
        );
    }
}
