//! Tests of the pattern compiler and matcher.

use super::*;

fn compile(text: &str) -> Pattern {
    Pattern::compile(text, '\\').unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn chars(text: &str) -> Vec<char> {
    text.chars().collect()
}

#[test]
fn compiles_tokens() {
    use Token::*;
    assert_eq!(
        compile("a**?\\*").tokens,
        [Literal('a'), AnyRun, AnyChar, Literal('*')]
    );
    assert_eq!(
        compile("[a-c]").tokens,
        [
            Literal('['),
            Literal('a'),
            Literal('-'),
            Literal('c'),
            Literal(']')
        ]
    );
    assert!(Pattern::compile("a\\", '\\').is_err());
    assert_eq!(
        Pattern::compile("a`*", '`').unwrap().tokens,
        [Literal('a'), Literal('*')]
    );
}

#[test]
fn brackets_match_themselves_as_in_buildkit() {
    let p = compile("[0-9]");
    assert_eq!(p.find(&chars("ab7c"), 0), None);
    assert_eq!(p.find(&chars("x[0-9]y"), 0), Some((1, 6)));
}

#[test]
fn prefixes() {
    let p = compile("a*b");
    assert_eq!(p.prefix_len(&chars("aXbYb"), false), Some(3));
    assert_eq!(p.prefix_len(&chars("aXbYb"), true), Some(5));
    assert_eq!(p.prefix_len(&chars("Xab"), true), None);
    assert_eq!(compile("").prefix_len(&chars("abc"), true), Some(0));
    assert_eq!(compile("*").prefix_len(&chars("abc"), false), Some(0));
    assert_eq!(compile("*").prefix_len(&chars("abc"), true), Some(3));
}

#[test]
fn trims() {
    let p = compile("*.");
    assert_eq!(p.trim_prefix("a.b.c", false), "b.c");
    assert_eq!(p.trim_prefix("a.b.c", true), "c");
    let q = compile(".*");
    assert_eq!(q.trim_suffix("a.b.c", false), "a.b");
    assert_eq!(q.trim_suffix("a.b.c", true), "a");
    assert_eq!(compile("[0-9]").trim_suffix("v12", false), "v12");
}

#[test]
fn finds_leftmost_longest() {
    let p = compile("b*d");
    assert_eq!(p.find(&chars("abcdbd"), 0), Some((1, 6)));
    assert_eq!(p.find(&chars("abcdbd"), 2), Some((4, 6)));
    assert_eq!(compile("x").find(&chars("abc"), 0), None);
    assert_eq!(compile("").find(&chars("abc"), 3), Some((3, 3)));
    assert_eq!(compile("a?").find(&chars("ba\nab"), 0), Some((3, 5)));
}

#[test]
fn replaces() {
    let p = compile("a");
    assert_eq!(p.replace_first("banana", "o"), "bonana");
    assert_eq!(p.replace_all("banana", "o", 1 << 20), "bonono");
    assert_eq!(compile("*").replace_all("ab\ncd", "x", 1 << 20), "x\nx");
    assert_eq!(compile("").replace_all("", "x", 1 << 20), "x");
    assert_eq!(
        compile("n*").replace_all("banana", "[$0]", 1 << 20),
        "ba[nana]"
    );
}

#[test]
fn expands_like_go() {
    let cases = [
        ("$$", "$"),
        ("$0", "M"),
        ("${0}", "M"),
        ("$000", "M"),
        ("$1", ""),
        ("$x.", "."),
        ("${1", "${1"),
        ("${}", "${}"),
        ("a$", "a$"),
        ("$0a", ""),
        ("<$0>", "<M>"),
    ];
    for (template, expected) in cases {
        assert_eq!(go_expand(template, "M"), expected, "template {template:?}");
    }
}

#[test]
fn long_inputs_stay_fast() {
    let value: String = "a".repeat(20_000);
    let p = compile("*a*b");
    assert_eq!(p.trim_prefix(&value, true), value);
    assert_eq!(p.replace_first(&value, "x"), value);
    let q = compile(&"*a".repeat(200));
    assert_eq!(q.trim_suffix(&value[..2000], false), value[..1800]);
}
