//! The `.env` rules one at a time, beyond the upstream corpus: each row is a
//! text, the lookup it sees, and the whole map compose-go's parser gives.

use kiln_parser::compose::dotenv::{self, DotenvError};

fn parse(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
    let lookup = |name: &str| (name == "HOME").then(|| "/root".to_string());
    dotenv::parse(text, &lookup).map(|m| m.into_iter().collect())
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[track_caller]
fn check(rows: &[(&str, &[(&str, &str)])]) {
    for (text, expected) in rows {
        assert_eq!(parse(text), Ok(pairs(expected)), "{text:?}");
    }
}

#[test]
fn unquoted_values_end_at_a_blank_before_hash_and_are_trimmed() {
    check(&[
        ("A=1#not-a-comment", &[("A", "1#not-a-comment")]),
        ("A=1 # comment\nB=2", &[("A", "1"), ("B", "2")]),
        (
            "A=1\t# tab is no comment start",
            &[("A", "1\t# tab is no comment start")],
        ),
        ("A=x=y:z  \t", &[("A", "x=y:z")]),
        ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
        ("A=", &[("A", "")]),
    ]);
}

#[test]
fn statements_come_in_three_spellings() {
    check(&[
        (
            "A: 1\nexport B=2\n  C = 3",
            &[("A", "1"), ("B", "2"), ("C", "3")],
        ),
        ("exportX=1\nexport\tY=2", &[("exportX", "1"), ("Y", "2")]),
        ("# only a comment\n\n   \n# another", &[]),
    ]);
}

#[test]
fn keys_hold_letters_digits_and_a_few_marks() {
    check(&[
        ("a.b-c_d[0]=1", &[("a.b-c_d[0]", "1")]),
        ("ключ_Ä=1\nκ2=2", &[("ключ_Ä", "1"), ("κ2", "2")]),
        ("=v", &[("", "v")]),
    ]);
    let err = parse("A=1\n\nB$C=1").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"line 3: unexpected character "$" in variable name "B$C=1""#
    );
    // Circled letters are alphabetic in Unicode but not letters (category So).
    assert!(matches!(
        parse("\u{24B6}=1"),
        Err(DotenvError::UnexpectedCharacter { .. })
    ));
    let err = parse("A=1\nMY KEY=1").unwrap_err();
    assert_eq!(err.to_string(), "line 2: key cannot contain a space");
}

#[test]
fn single_quotes_are_literal() {
    check(&[
        (r"A='a\nb $HOME \'q\''", &[("A", r"a\nb $HOME 'q'")]),
        ("A='multi\nline'", &[("A", "multi\nline")]),
    ]);
}

#[test]
fn double_quotes_expand_escapes_and_variables() {
    check(&[
        (
            r#"A="x\ay\bz\f\n\r\t\v\\\"""#,
            &[("A", "x\x07y\x08z\x0C\n\r\t\x0B\\\"")],
        ),
        (
            r#"A="\0101\0377\0777\08\x41\u0041\c""#,
            &[("A", "A\u{FF}\\0777\\08\\x41\\u0041\\c")],
        ),
        (
            r#"A="$HOME \$HOME $$HOME ${HOME}""#,
            &[("A", "/root $HOME $HOME /root")],
        ),
        (
            "A=\"two\nlines\" # c\nB=2",
            &[("A", "two\nlines"), ("B", "2")],
        ),
        (r#"A="x"B=2"#, &[("A", "x"), ("B", "2")]),
    ]);
}

#[test]
fn substitution_sees_the_lookup_then_earlier_keys() {
    check(&[
        ("HOME=/home\nA=$HOME", &[("HOME", "/home"), ("A", "/root")]),
        ("B=1\nA=${B}-${C:-d}", &[("B", "1"), ("A", "1-d")]),
        ("A='$B'\nB=x", &[("A", "$B"), ("B", "x")]),
    ]);
    let err = parse("\nA=${MISSING:?set it}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: required variable MISSING is missing a value: set it"
    );
}

#[test]
fn bare_keys_come_from_the_lookup_or_are_skipped() {
    check(&[
        ("HOME\nNOPE\nA=1", &[("HOME", "/root"), ("A", "1")]),
        ("HOME\r\n", &[("HOME", "/root")]),
        // compose-go quirk: a last line without `=` nor newline is a value of
        // the empty key.
        ("A=1\nLAST", &[("A", "1"), ("", "LAST")]),
    ]);
}

#[test]
fn a_byte_order_mark_is_skipped() {
    check(&[("\u{FEFF}A=1", &[("A", "1")])]);
}

#[test]
fn broken_texts_fail_with_their_line() {
    let cases: &[(&str, &str)] = &[
        (
            "A=1\nB=\"open\nC=3",
            "line 2: unterminated quoted value \"open",
        ),
        ("A='x\\'", "line 1: unterminated quoted value 'x\\'"),
        ("A=1\nexport ", "line 2: zero length string"),
        ("A=${", r#"line 1: Invalid template: "${""#),
    ];
    for (text, message) in cases {
        assert_eq!(parse(text).unwrap_err().to_string(), *message, "{text:?}");
    }
}

#[test]
fn read_drops_keys_that_start_with_a_digit() {
    let map = dotenv::read("1A=x\nB1=y\n٣=z", &|_| None).unwrap();
    let keys: Vec<_> = map.iter().map(|(k, _)| k.to_string()).collect();
    // Only ASCII digits count, as in compose-go's `^\s*\d`.
    assert_eq!(keys, ["B1", "٣"]);
}
