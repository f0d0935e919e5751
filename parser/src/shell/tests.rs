//! Unit tests of the public API: modifiers, patterns, escapes, options,
//! word splitting, errors and their offsets. BuildKit's own vectors run in
//! `parser/tests/shell_conformance.rs`.

use super::{Env, Lexer, ShellError};

fn env() -> Vec<(String, String)> {
    [
        ("PWD", "/home"),
        ("EMPTY", ""),
        ("FILE", "archive.tar.gz"),
        ("PATHV", "/usr/local/bin"),
        ("SPACED", "a  b c"),
        ("AB", "ab"),
        ("NL", "a\nb"),
        ("BRACKETS", "[a-c]x"),
        ("KOREAN", "한국어"),
        ("HASHSTAR", "#*."),
        ("BS", "\\"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn expand_with(lexer: Lexer, input: &str) -> String {
    lexer
        .expand_word(input, &env())
        .unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn word(input: &str) -> String {
    expand_with(Lexer::new('\\'), input)
}

fn words(input: &str) -> Vec<String> {
    Lexer::new('\\')
        .expand_words(input, &env())
        .unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn error(input: &str) -> ShellError {
    match Lexer::new('\\').expand_word(input, &env()) {
        Ok(word) => panic!("{input:?}: expected an error, got {word:?}"),
        Err(e) => e,
    }
}

fn check(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(word(input), *expected, "input {input:?}");
    }
}

#[test]
fn default_alternative_and_required() {
    check(&[
        ("${UNSET-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${EMPTY:-d}", "d"),
        ("${PWD:-d}", "/home"),
        ("${UNSET:-${AB:-x}y}", "aby"),
        ("${UNSET+a}", ""),
        ("${EMPTY+a}", "a"),
        ("${EMPTY:+a}", ""),
        ("${PWD:+a$AB}", "aab"),
        ("${EMPTY?}", ""),
        ("${PWD:?}", "/home"),
    ]);
}

#[test]
fn required_messages() {
    let cases = [
        ("${UNSET?}", "UNSET: is not allowed to be unset"),
        ("${UNSET:?}", "UNSET: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${UNSET?must be set}", "UNSET: must be set"),
        ("${EMPTY:?oops $PWD}", "EMPTY: oops /home"),
    ];
    for (input, message) in cases {
        let expected = format!("failed to process \"{input}\": {message}");
        assert_eq!(error(input).to_string(), expected);
    }
    assert!(matches!(
        error("${UNSET?}"),
        ShellError::Unset { offset: 0, .. }
    ));
    assert!(matches!(
        error("${EMPTY:?}"),
        ShellError::Empty { offset: 0, .. }
    ));
    let rejected = error("ab${UNSET?no}");
    assert!(
        matches!(rejected, ShellError::Rejected { offset: 2, ref message, .. } if message == "no")
    );
}

#[test]
fn prefix_and_suffix_removal() {
    check(&[
        ("${FILE#*.}", "tar.gz"),
        ("${FILE##*.}", "gz"),
        ("${FILE%.*}", "archive.tar"),
        ("${FILE%%.*}", "archive"),
        ("${FILE#a?c}", "hive.tar.gz"),
        // `[` is literal, as in BuildKit (no bracket expressions).
        ("${FILE#[a-c]}", "archive.tar.gz"),
        ("${FILE%%[a-z]*}", "archive.tar.gz"),
        ("${BRACKETS#[a-c]}", "x"),
        ("${FILE#x*}", "archive.tar.gz"),
        ("${FILE#*\\.}", "tar.gz"),
        ("${FILE%\\*}", "archive.tar.gz"),
        ("${KOREAN#?}", "국어"),
        ("${KOREAN%어}", "한국"),
        ("${UNSET#*}", ""),
        // `##` is recognised after expansion, as in BuildKit.
        ("${FILE#$HASHSTAR}", "gz"),
        // `*` and `?` do not cross a newline (Go's `.`).
        ("${NL#*}", "a\nb"),
        ("${NL##*}", "\nb"),
        ("${NL%%*}", "a\n"),
        ("${NL#a?}", "a\nb"),
    ]);
}

#[test]
fn replacement() {
    check(&[
        ("${FILE/a/A}", "Archive.tar.gz"),
        ("${FILE//a/A}", "Archive.tAr.gz"),
        ("${FILE/.*/}", "archive"),
        ("${BRACKETS//[a-c]/_}", "_x"),
        ("${FILE/?/X}", "Xrchive.tar.gz"),
        ("${FILE//?/X}", "XXXXXXXXXXXXXX"),
        ("${FILE/x/y}", "archive.tar.gz"),
        ("${PATHV//\\//-}", "-usr-local-bin"),
        ("${PATHV/\\/usr/}", "/local/bin"),
        ("${AB//*/x}", "x"),
        ("${EMPTY//*/x}", "x"),
        ("${EMPTY/*/x}", "x"),
        ("${AB///-}", "-a-b-"),
        ("${UNSET/a/b}", ""),
        // Go's ReplaceAllString expands `$0`; the first-match form does not.
        ("${AB//?/'<$0>'}", "<a><b>"),
        ("${AB/?/'<$0>'}", "<$0>b"),
        // The replacement keeps its escape characters, as in BuildKit.
        ("${AB/a/x\\}y}", "x\\}yb"),
    ]);
}

#[test]
fn unsupported_modifiers() {
    for (input, modifier, offset) in [
        ("${PWD:=x}", ":=", 6),
        ("${PWD:#x}", ":#", 6),
        ("${PWD:%x}", ":%", 6),
        ("${PWD,}", ",", 5),
        ("x${PWD:Y}", ":Y", 7),
    ] {
        let e = error(input);
        assert_eq!(e.offset(), offset, "{input:?}");
        let expected = format!("unsupported modifier ({modifier}) in substitution");
        assert!(e.to_string().ends_with(&expected), "{input:?}: {e}");
    }
}

#[test]
fn syntax_errors_and_offsets() {
    let cases: [(&str, usize, &str); 9] = [
        ("he${", 2, "syntax error: missing '}'"),
        ("he${PWD", 2, "syntax error: missing '}'"),
        ("${X/a/b", 0, "syntax error: missing '}'"),
        ("a${X:-${Y}", 1, "syntax error: missing '}'"),
        ("${}", 2, "syntax error: bad substitution"),
        ("x${:-a}", 3, "syntax error: bad substitution"),
        ("a${X/b", 1, "syntax error: missing '/' in ${}"),
        (
            "ab'cd",
            2,
            "unexpected end of statement while looking for matching single-quote",
        ),
        (
            "x\"a\\\"",
            1,
            "unexpected end of statement while looking for matching double-quote",
        ),
    ];
    for (input, offset, message) in cases {
        let e = error(input);
        assert_eq!(e.offset(), offset, "{input:?}: {e}");
        assert_eq!(e.input(), input);
        let quoted = crate::go_quote(input);
        assert_eq!(
            e.to_string(),
            format!("failed to process {quoted}: {message}")
        );
    }
    let nested = error("xx${A:-${B?}}");
    assert!(matches!(nested, ShellError::Unset { offset: 7, ref name, .. } if name == "B"));
    assert_eq!(
        error("he${\n").to_string(),
        "failed to process \"he${\\n\": unsupported modifier (\n) in substitution"
    );
}

#[test]
fn invalid_pattern() {
    let e = error("${PWD#$BS}");
    assert!(
        matches!(e, ShellError::InvalidPattern { offset: 6, ref pattern, .. } if pattern == "\\")
    );
    assert!(
        e.to_string()
            .contains("invalid pattern (\\) in substitution"),
        "{e}"
    );
}

#[test]
fn nesting_is_limited() {
    let nest = |depth: usize| format!("{}x{}", "${U:-".repeat(depth), "}".repeat(depth));
    assert_eq!(word(&nest(50)), "x");
    assert!(matches!(
        error(&nest(150)),
        ShellError::TooDeep { offset: 500, .. }
    ));
}

#[test]
fn backtick_escape() {
    let tick = Lexer::new('`');
    assert_eq!(tick.escape(), '`');
    let cases = [
        ("he`$PWD", "he$PWD"),
        ("he\\$PWD", "he\\/home"),
        ("\"a`\"b\"", "a\"b"),
        ("\"a`tb\"", "a`tb"),
        ("\"a``b\"", "a`b"),
        ("hello`", "hello"),
        ("a`'b", "a'b"),
        ("C:\\dir", "C:\\dir"),
        ("${FILE#*`.}", "tar.gz"),
        ("${FILE#*\\.}", "archive.tar.gz"),
    ];
    for (input, expected) in cases {
        assert_eq!(expand_with(tick, input), expected, "input {input:?}");
    }
}

#[test]
fn escapes_and_quotes() {
    check(&[
        ("a\\ b", "a b"),
        ("'a\\b'", "a\\b"),
        ("\"a\\b\"", "a\\b"),
        ("\"a\\\\b\"", "a\\b"),
        ("\"$AB'$AB'\"", "ab'ab'"),
        ("$", "$"),
        ("$.", "$."),
        ("$1x$@y", "xy"),
        ("\u{feff}$AB", "ab"),
        ("a\u{feff}", "a\u{feff}"),
    ]);
}

#[test]
fn raw_quotes_and_escapes() {
    let quotes = Lexer::new('\\').raw_quotes(true);
    assert_eq!(expand_with(quotes, "a'b'\"c$AB\""), "a'b'\"cab\"");
    let escapes = Lexer::new('\\').raw_escapes(true);
    assert_eq!(expand_with(escapes, "he\\$PWD\\"), "he\\$PWD\\");
    assert_eq!(expand_with(escapes, "\"a\\\"b\""), "a\\\"b");
    // BuildKit's quirk: a literal escape inside double quotes comes out twice.
    assert_eq!(expand_with(escapes, "\"a\\tb\""), "a\\\\tb");
    // The word of `-` never keeps raw escapes; a `#` pattern does.
    assert_eq!(expand_with(escapes, "${UNSET:-\\$x}"), "$x");
    assert_eq!(expand_with(escapes, "${FILE#*\\.}"), "tar.gz");
    let both = escapes.raw_quotes(true);
    let got = both.expand_words("a\\ b 'c d'", &env()).unwrap();
    assert_eq!(got, ["a\\ b", "'c d'"]);
}

#[test]
fn skip_unset_env() {
    let skip = Lexer::new('\\').skip_unset_env(true);
    let cases = [
        ("$UNSET/$PWD", "$UNSET//home"),
        ("${UNSET}", "${UNSET}"),
        ("${UNSET:-x}", "${UNSET:-x}"),
        ("${UNSET:-$AB}", "${UNSET:-ab}"),
        ("${UNSET:=x}", "${UNSET:=x}"),
        ("${UNSET##*.}", "${UNSET##*.}"),
        ("${UNSET/a/b}", "${UNSET/a/b}"),
        ("${UNSET//a/b}", "${UNSET//a/b}"),
        ("${EMPTY:-x}", "x"),
    ];
    for (input, expected) in cases {
        assert_eq!(expand_with(skip, input), expected, "input {input:?}");
    }
    assert!(skip.expand_word("${UNSET:#x}", &env()).is_err());
}

#[test]
fn heredoc_detection_mode() {
    let lexer = Lexer::new('\\')
        .raw_quotes(true)
        .raw_escapes(true)
        .skip_unset_env(true);
    let got = lexer.expand_words("cat <<\"EOF\" $HOME\\ x", &()).unwrap();
    assert_eq!(got, ["cat", "<<\"EOF\"", "$HOME\\ x"]);
}

#[test]
fn word_splitting() {
    let cases: [(&str, &[&str]); 10] = [
        ("a \"b c\" d", &["a", "b c", "d"]),
        ("$SPACED", &["a", "b", "c"]),
        ("\"$SPACED\"", &["a  b c"]),
        ("x${SPACED}y", &["xa", "b", "cy"]),
        ("\"\"", &[]),
        ("a \"\" b", &["a", "b"]),
        (" \t ", &[]),
        ("a\\ b", &["a b"]),
        ("${UNSET:-x y}", &["x", "y"]),
        // BuildKit loses "a" here (a shared buffer); kiln does not.
        ("a${EMPTY:-b c}", &["ab", "c"]),
    ];
    for (input, expected) in cases {
        assert_eq!(words(input), expected, "input {input:?}");
    }
    assert_eq!(word("x${SPACED}y"), "xa  b cy");
}

#[test]
fn env_kinds() {
    let map: std::collections::HashMap<String, String> = env().into_iter().collect();
    let lexer = Lexer::default();
    assert_eq!(lexer.expand_word("$AB", &map).unwrap(), "ab");
    let slice: &[(String, String)] = &env();
    assert_eq!(lexer.expand_word("${AB}", &slice).unwrap(), "ab");
    assert_eq!(lexer.expand_word("[$AB]", &()).unwrap(), "[]");
    assert_eq!(
        lexer.expand_word("$ab", &env()).unwrap(),
        "",
        "case-sensitive"
    );
    assert_eq!(().lookup("AB"), None);
}

/// Every short word over the characters that matter must expand or fail,
/// never panic, and both entry points must agree on failing.
#[test]
fn short_words_never_panic() {
    let alphabet: Vec<char> = "${}:-#%/?*\\`'\"a [!\n".chars().collect();
    let env = env();
    let lexers = [
        Lexer::new('\\'),
        Lexer::new('`').raw_quotes(true).raw_escapes(true),
        Lexer::new('\\').skip_unset_env(true),
    ];
    let mut word = [0usize; 4];
    for len in 0..=4 {
        word.iter_mut().for_each(|i| *i = 0);
        loop {
            let input: String = word[..len].iter().map(|&i| alphabet[i]).collect();
            for lexer in lexers {
                let one = lexer.expand_word(&input, &env);
                let many = lexer.expand_words(&input, &env);
                assert_eq!(one.is_ok(), many.is_ok(), "{input:?}");
                if let Err(e) = one {
                    assert!(e.offset() <= input.chars().count(), "{input:?}: {e:?}");
                }
            }
            if !advance(&mut word[..len], alphabet.len()) {
                break;
            }
        }
    }
}

/// Next combination in lexicographic order; false after the last.
fn advance(digits: &mut [usize], base: usize) -> bool {
    for d in digits.iter_mut().rev() {
        *d += 1;
        if *d < base {
            return true;
        }
        *d = 0;
    }
    false
}
