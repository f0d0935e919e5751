//! End-to-end: `kiln debug dockerfile-dump` as a user runs it.
//!
//! Every BuildKit corpus case dumps to exactly its `result` file; a file that
//! does not parse gives one line `kiln: FILE:LINE:COL: …` on stderr and exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("run kiln")
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn cases(rel: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata(rel))
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn dumps_every_corpus_case_exactly() {
    let mut failures = Vec::new();
    for case in cases("dockerfile/conformance/testfiles") {
        let out = kiln(&[
            "debug",
            "dockerfile-dump",
            case.join("Dockerfile").to_str().unwrap(),
        ]);
        let expected = std::fs::read_to_string(case.join("result")).expect("result file");
        if !out.status.success() || String::from_utf8_lossy(&out.stdout) != expected {
            failures.push(format!(
                "{}: {}",
                case.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn negative_cases_fail_with_one_line() {
    for case in cases("dockerfile/conformance/testfiles-negative") {
        let file = case.join("Dockerfile");
        let out = kiln(&["debug", "dockerfile-dump", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("kiln: {}:", file.display())),
            "{stderr}"
        );
    }
}

#[test]
fn typed_errors_name_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("kiln-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Dockerfile");
    std::fs::write(&file, "FROM busybox\nCOPY --form=a x /y\n").unwrap();
    let path = file.to_str().unwrap();

    let syntax_only = kiln(&["debug", "dockerfile-dump", path]);
    assert!(
        syntax_only.status.success(),
        "the syntax pass accepts unknown flags, as BuildKit's does"
    );

    let typed = kiln(&["debug", "dockerfile-dump", "--typed", path]);
    assert_eq!(typed.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&typed.stderr),
        format!("kiln: {path}:2:6: unknown flag: --form\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_standard_input_and_reports_missing_files() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["debug", "dockerfile-dump", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a\nrun b\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(from \"a\")\n(run \"b\")\n"
    );

    let missing = kiln(&["debug", "dockerfile-dump", "/nonexistent/Dockerfile"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("kiln: cannot read Dockerfile /nonexistent/Dockerfile:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn the_bundled_example_checks() {
    let out = kiln(&[
        "debug",
        "dockerfile-dump",
        "--typed",
        testdata("examples/multistage/Dockerfile").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("\nstage ").count() + usize::from(stdout.starts_with("stage ")),
        3,
        "{stdout}"
    );
}
