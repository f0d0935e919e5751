//! BuildKit's shell-expansion vectors (`envVarTest`, `wordsTest`), every line.
//!
//! Each test walks its whole file and reports every failing line at once,
//! with its line number, instead of stopping at the first.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use kiln_parser::shell::Lexer;

fn corpus(name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/dockerfile/conformance")
        .join(name);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (path, text)
}

/// Panics with all failures, one per line, if there are any.
fn report(path: &Path, checked: usize, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} of {checked} cases in {} failed:\n{}",
        failures.len(),
        path.display(),
        failures.join("\n")
    );
}

/// The environment every `envVarTest` line runs with.
fn env_var_test_env() -> BTreeMap<String, String> {
    [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Checks one `P|input|expected` line; `None` when it is skipped (Windows).
fn check_env_var_line(line: &str, env: &BTreeMap<String, String>) -> Option<Result<(), String>> {
    let fields: Vec<&str> = line.split('|').map(str::trim).collect();
    let [platform, input, expected] = fields[..] else {
        return Some(Err(format!(
            "expected 3 fields `P|input|expected`, got {line:?}"
        )));
    };
    match platform {
        "W" => return None,
        "A" | "U" => {}
        other => return Some(Err(format!("unknown platform {other:?}"))),
    }
    let got = Lexer::new('\\').expand_word(input, env);
    Some(match (expected, got) {
        ("error", Err(_)) => Ok(()),
        ("error", Ok(word)) => Err(format!("{input:?}: expected an error, got {word:?}")),
        (_, Ok(word)) if word == expected => Ok(()),
        (_, Ok(word)) => Err(format!("{input:?}: expected {expected:?}, got {word:?}")),
        (_, Err(e)) => Err(format!("{input:?}: expected {expected:?}, got error: {e}")),
    })
}

#[test]
fn env_var_test() {
    let (path, text) = corpus("envVarTest");
    let env = env_var_test_env();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match check_env_var_line(line, &env) {
            None => {}
            Some(result) => {
                checked += 1;
                if let Err(message) = result {
                    failures.push(format!("line {}: {message}", index + 1));
                }
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} cases found in {}",
        path.display()
    );
    report(&path, checked, &failures);
}

/// Checks one `input|w1,w2,...` line against `expand_words`.
fn check_words_line(line: &str, env: &BTreeMap<String, String>) -> Result<(), String> {
    let Some((input, expected)) = line.split_once('|') else {
        return Err(format!("expected `input|words`, got {line:?}"));
    };
    if expected.contains('|') {
        return Err(format!("more than one `|` in {line:?}"));
    }
    // As BuildKit's test: the input is trimmed, the expected words only on
    // the left (some end with significant spaces).
    let input = input.trim();
    let expected = expected.trim_start_matches(' ');
    let got = Lexer::new('\\').expand_words(input, env);
    match (expected, got) {
        ("error", Err(_)) => Ok(()),
        ("error", Ok(words)) => Err(format!("{input:?}: expected an error, got {words:?}")),
        (_, Ok(words)) if words == expected.split(',').collect::<Vec<_>>() => Ok(()),
        (_, Ok(words)) => Err(format!("{input:?}: expected {expected:?}, got {words:?}")),
        (_, Err(e)) => Err(format!("{input:?}: expected {expected:?}, got error: {e}")),
    }
}

#[test]
fn words_test() {
    let (path, text) = corpus("wordsTest");
    let mut env = BTreeMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(assignment) = line.strip_prefix("ENV ") {
            // The value keeps its trailing spaces; later values win.
            let assignment = assignment.trim_start_matches(' ');
            let (key, value) = assignment.split_once('=').unwrap_or((assignment, ""));
            env.insert(key.to_owned(), value.to_owned());
            continue;
        }
        checked += 1;
        if let Err(message) = check_words_line(line, &env) {
            failures.push(format!("line {}: {message}", index + 1));
        }
    }
    assert!(
        checked > 20,
        "only {checked} cases found in {}",
        path.display()
    );
    report(&path, checked, &failures);
}
