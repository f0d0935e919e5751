//! The limits of `kiln_parser::dockerfile::limits` and the shell lexer's
//! per-word limit: hostile Dockerfiles fail with a positioned error instead
//! of exhausting memory.

use kiln_parser::dockerfile::instructions::{GlobalScope, StageScope};
use kiln_parser::dockerfile::limits::{MAX_DOCKERFILE_BYTES, MAX_INSTRUCTIONS};
use kiln_parser::dockerfile::parse_dockerfile;
use kiln_parser::shell::{Lexer, ShellError, MAX_WORD_BYTES};

fn vars(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn a_word_stops_at_the_limit() {
    let half = "x".repeat(MAX_WORD_BYTES / 2);
    let env = vars(&[("A", half.clone())]);
    let lexer = Lexer::default();
    assert_eq!(
        lexer.expand_word("$A$A", &env).unwrap().len(),
        MAX_WORD_BYTES
    );
    for word in ["$A$A$A", "\"$A$A$A\"", "${A}'x'$A", "${X:-$A$A$A}"] {
        let err = lexer.expand_word(word, &env).unwrap_err();
        assert!(matches!(err, ShellError::TooLong { .. }), "{word}: {err}");
        assert!(
            err.to_string().contains("longer than 1048576 bytes"),
            "{err}"
        );
    }
}

#[test]
fn replace_all_stops_before_building_the_whole_result() {
    // A thousand matches, each replaced by 64 KiB: 64 MiB if built.
    let env = vars(&[("A", "x".repeat(1000)), ("B", "y".repeat(64 << 10))]);
    let err = Lexer::default()
        .expand_word("${A//x/$B}", &env)
        .unwrap_err();
    assert!(
        matches!(err, ShellError::TooLong { offset: 0, .. }),
        "{err}"
    );
}

#[test]
fn global_args_share_the_build_budget_with_stages() {
    let mut text = String::from("ARG A0=xxxxxxxxxx\n");
    for i in 1..17 {
        text.push_str(&format!("ARG A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    text.push_str("FROM scratch\nARG A16\n");
    for i in 0..40 {
        text.push_str(&format!("LABEL l{i}=$A16\n"));
    }
    let df = parse_dockerfile(&text).unwrap();
    let global = GlobalScope::new(df.escape, &df.meta_args, &[], &[]).unwrap();
    assert!(global.budget().used() > 1 << 20);
    let mut scope = StageScope::new(&global);
    let err = df.stages[0]
        .instructions
        .iter()
        .map(|i| scope.apply(i))
        .find_map(Result::err)
        .expect("the budget runs out");
    // 1.25 MiB from the ARGs, then 640 KiB per LABEL: the 24th goes over.
    assert_eq!(err.position().line, 19 + 24);
    assert!(
        err.to_string()
            .contains("16777216 bytes of expanded variables"),
        "{err}"
    );
}

#[test]
fn oversized_and_overlong_dockerfiles_are_refused() {
    let big = format!(
        "FROM scratch\nLABEL a=\"{}\"\n",
        "x".repeat(MAX_DOCKERFILE_BYTES)
    );
    let err = parse_dockerfile(&big).unwrap_err();
    assert!(
        err.to_string().starts_with("1:1: the Dockerfile is "),
        "{err}"
    );
    let many = "FROM scratch\n".to_string() + &"USER u\n".repeat(MAX_INSTRUCTIONS);
    let err = parse_dockerfile(&many).unwrap_err();
    let line = MAX_INSTRUCTIONS + 1;
    assert_eq!(
        err.to_string(),
        format!("{line}:1: more than {MAX_INSTRUCTIONS} instructions (kiln's limit)")
    );
    let fits = "FROM scratch\n".to_string() + &"USER u\n".repeat(MAX_INSTRUCTIONS - 1);
    assert!(parse_dockerfile(&fits).is_ok());
}

#[test]
fn pattern_operations_have_a_work_limit() {
    use kiln_parser::shell::MAX_PATTERN_WORK;
    // 64 KiB against itself: 4 Gi matching steps (minutes); refused at once.
    let env = vars(&[("A", "x".repeat(64 << 10))]);
    let lexer = Lexer::default();
    for word in ["${A#$A}", "${A%%$A}", "${A//$A/y}", "${A/$A/}"] {
        let err = lexer.expand_word(word, &env).unwrap_err();
        assert!(matches!(err, ShellError::TooCostly { .. }), "{word}: {err}");
    }
    // Ordinary patterns on the same value stay fine.
    assert_eq!(
        lexer.expand_word("${A#x}", &env).unwrap().len(),
        (64 << 10) - 1
    );
    assert_eq!(lexer.expand_word("${A//x/}", &env).unwrap(), "");
    const { assert!(64 * (64 << 10) < MAX_PATTERN_WORK) };
}
