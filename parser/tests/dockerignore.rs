//! `.dockerignore` reading and matching, checked against Docker's behaviour
//! (moby/patternmatcher + ignorefile, BuildKit's fsutil walker).

use std::fs;
use std::path::{Path, PathBuf};

use kiln_parser::dockerignore::{
    ignore_file_candidates, parse, select_ignore_file, DockerignoreError, Matcher, Pattern,
    SyntaxError,
};

/// (`.dockerignore` text, context path, ignored?). Patterns are separated by `\n`.
const CASES: &[(&str, &str, bool)] = &[
    // --- plain names and parents --------------------------------------------
    ("foo", "foo", true),
    ("foo", "foo/bar/baz", true), // a pattern matching a parent ignores the subtree
    ("foo", "foobar", false),
    ("foo", "x/foo", false), // patterns are anchored at the context root
    ("foo/bar", "foo/bar/baz.txt", true),
    ("foo/bar", "foo", false),
    // --- `*`, `?` -----------------------------------------------------------
    ("*", "file.go", true),
    // Docker: `*` does not cross `/`, but matches the top-level parent `a`, so
    // it ignores everything.
    ("*", "a/b/c", true),
    ("*.go", "main.go", true),
    ("*.go", "cmd/main.go", false), // `*` is one path element: no recursion
    ("*/*.go", "cmd/main.go", true),
    ("a*/b", "abc/b", true),
    ("a*/b", "a/c/b", false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
    ("a*b?c*x", "abxbbxdbxebxczzy", false),
    (".*", ".git", true),
    (".*", "git", false),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("a?b", "a/b", false),         // `?` never matches `/`
    ("a?b", "a☺b", true),          // one character, not one byte
    ("abc.def", "abcZdef", false), // `.` is literal
    ("a(b)c+{d}$|", "a(b)c+{d}$|", true),
    // --- `**` ---------------------------------------------------------------
    ("**", "anything/at/all", true), // `**` alone ignores everything
    ("**/foo", "foo", true),         // zero directories
    ("**/foo", "a/b/foo", true),
    ("**/foo", "afoo", false),
    ("**/foo", "a/foo/bar", true), // via the parent `a/foo`
    ("foo/**", "foo/x/y", true),
    // Docker: `foo/**` does not match `foo` itself (the directory entry is kept,
    // its content is not).
    ("foo/**", "foo", false),
    ("a/**/b", "a/b", true),
    ("a/**/b", "a/x/y/b", true),
    ("a/**/b", "a/xb", false),
    ("**/*.txt", "notes.txt", true),
    ("**/*.txt", "d/e/notes.txt", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    // Docker's suffix shortcut: a leading `**` followed only by literals is a
    // plain "ends with" test, so `**.txt` ignores `d/x.txt` ...
    ("**.txt", "d/x.txt", true),
    ("**file", "dir/myfile", true),
    // ... while inside a pattern `**` not followed by `/` still means "whole
    // directories", so `a/**.txt` needs the file to be named `.txt`.
    ("a/**.txt", "a/x.txt", false),
    ("a/**.txt", "a/x/.txt", true),
    ("foo**", "foobar/baz", true), // prefix shortcut
    // --- character classes --------------------------------------------------
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[b-d]e", "ae", false),
    ("a[^b-d]e", "aze", true),
    ("a[^b-d]e", "ace", false),
    ("[a-ζ]*", "α", true),
    ("[\\]a]", "]", true),
    ("[x\\-]", "-", true),
    ("[*]", "*", true), // `*` inside a class is literal (filepath.Match)
    ("[*]", "a", false),
    // Docker: a class may match `/` (its regexp class does).
    ("a[^x]b", "a/b", true),
    // --- escapes ------------------------------------------------------------
    ("a\\*b", "a*b", true),
    ("a\\*b", "axb", false),
    ("a\\\\", "a\\", true),
    ("\\#notes", "#notes", true),
    ("\\!important", "!important", true), // escaped `!` is a literal, not an exception
    // --- cleaning -----------------------------------------------------------
    ("/foo", "foo", true),
    ("./foo", "foo/x", true),
    ("foo//bar/", "foo/bar", true),
    ("a/../b", "b", true),
    ("a/../b", "a", false),
    (".", "anything", false), // `.` matches only the root, which is never ignored
    ("/", "anything", false), // `/` stays `/`: matches nothing
    ("../x", "x", false),     // patterns escaping the context match nothing
    ("foo", "./foo/", true),  // paths are cleaned too
    ("foo", "/foo", true),
    // --- comments and whitespace --------------------------------------------
    ("# foo\nbar", "foo", false),
    (" # foo", "# foo", true), // `#` only comments at the very start of a line
    ("  foo  \n", "foo", true),
    ("\u{feff}foo", "foo", true), // BOM dropped
    ("\u{feff}# foo", "# foo", false),
    ("foo\r\nbar\r\n", "bar", true), // CRLF
    // --- exceptions and ordering --------------------------------------------
    ("*.md\n!README.md", "README.md", false),
    ("*.md\n!README.md", "CHANGES.md", true),
    ("!README.md\n*.md", "README.md", true), // last match wins
    ("docs\n!docs/keep.txt", "docs/keep.txt", false),
    ("docs\n!docs/keep.txt", "docs/other.txt", true),
    // Docker: the directory itself stays ignored; a walker still descends
    // (see `pruning_follows_buildkit`) and sends it as the parent of keep.txt.
    ("docs\n!docs/keep.txt", "docs", true),
    ("docs/\n!docs/README.md", "docs/README.md", false),
    ("docs/*\n!docs/README.md", "docs/README.md", false),
    ("**\n!util/docker/web", "util/docker/web/foo", false), // exception via parent
    (
        "**\n!util/docker/web\nutil/docker/web/foo",
        "util/docker/web/foo",
        true,
    ),
    (
        "**\n!dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        false,
    ),
    ("*\n!src\nsrc/gen", "src/gen/x.rs", true),
    ("*\n!src\nsrc/gen", "src/main.rs", false),
    ("! foo ", "foo", false), // the pattern after `!` is trimmed too
    ("foo\n!foo/bar\nfoo/bar/baz", "foo/bar/baz/x", true),
    ("foo\n!foo/bar\nfoo/bar/baz", "foo/bar/qux", false),
];

#[test]
fn matching_table() {
    let mut failures = Vec::new();
    for &(text, path, want) in CASES {
        let matcher = Matcher::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        if matcher.matches(path) != want {
            failures.push(format!(
                "patterns {text:?}, path {path:?}: want ignored={want}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn canonical(text: &str) -> Vec<String> {
    parse(text)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn reading_cleans_like_docker() {
    let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# comment\n! /inverted/abs/path\n";
    assert_eq!(
        canonical(text),
        [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path"
        ]
    );
    assert_eq!(canonical("./\na/..\n."), [".", ".", "."]);
    assert_eq!(canonical("a/./b\n!./c//d/\n/../e"), ["a/b", "!c/d", "e"]);
    // Docker trims again after cleaning, so `foo /` is `foo`, and a cleaned
    // pattern that starts with `!` is an exception.
    assert_eq!(canonical("foo /\n./!bar"), ["foo", "!bar"]);
    assert_eq!(canonical(""), Vec::<String>::new());
    assert_eq!(canonical("\u{feff}"), Vec::<String>::new());
}

#[test]
fn patterns_keep_lines_and_kinds() {
    let patterns = parse("# head\n\n*.md\n!README.md\r\n").unwrap();
    let summary: Vec<(usize, bool, &str)> = patterns
        .iter()
        .map(|p| (p.line(), p.is_exception(), p.text()))
        .collect();
    assert_eq!(summary, [(3, false, "*.md"), (4, true, "README.md")]);
    assert!(Matcher::new(patterns).has_exceptions());
    assert!(Matcher::parse("# only comments").unwrap().is_empty());
}

#[test]
fn malformed_patterns_name_line_and_pattern() {
    let cases: &[(&str, usize, &str, SyntaxError)] = &[
        ("ok\n[", 2, "[", SyntaxError::UnterminatedClass),
        ("a[", 1, "a[", SyntaxError::UnterminatedClass),
        ("# c\n\n  [^bc  ", 3, "[^bc", SyntaxError::UnterminatedClass),
        ("[]a]", 1, "[]a]", SyntaxError::EmptyClass),
        ("[-x]", 1, "[-x]", SyntaxError::BadClassChar('-')),
        ("[x-]", 1, "[x-]", SyntaxError::BadClassChar(']')),
        ("[a-b-c]", 1, "[a-b-c]", SyntaxError::BadClassChar('-')),
        (
            "[z-a]",
            1,
            "[z-a]",
            SyntaxError::ReversedRange { lo: 'z', hi: 'a' },
        ),
        ("\\", 1, "\\", SyntaxError::TrailingEscape),
        // `foo\/` cleans to `foo\`: Docker rejects it too.
        ("foo\\/", 1, "foo\\/", SyntaxError::TrailingEscape),
        ("!docs/[", 1, "!docs/[", SyntaxError::UnterminatedClass),
    ];
    for (text, line, pattern, reason) in cases {
        let want = DockerignoreError::BadPattern {
            line: *line,
            pattern: pattern.to_string(),
            reason: reason.clone(),
        };
        assert_eq!(parse(text).unwrap_err(), want, "{text:?}");
    }
}

#[test]
fn bare_exclamation_is_illegal() {
    for (text, line) in [("!", 1), ("a\n  !  ", 2), ("!/", 1)] {
        let err = parse(text).unwrap_err();
        assert!(
            matches!(err, DockerignoreError::EmptyException { .. }),
            "{text:?}"
        );
        assert_eq!(err.line(), line);
    }
    let err = parse("x\n!").unwrap_err();
    assert_eq!(
        err.display_in(".dockerignore"),
        ".dockerignore:2: illegal exclusion pattern \"!\": `!` must be followed by a pattern"
    );
}

#[test]
fn pattern_new_for_single_patterns() {
    let p = Pattern::new("  !/a/b/ ", 9).unwrap();
    assert_eq!((p.to_string(), p.line()), ("!a/b".to_string(), 9));
    assert!(p.matches("a/b/c") && !p.matches_exact("a/b/c"));
    assert_eq!(
        Pattern::new("", 4),
        Err(DockerignoreError::EmptyPattern { line: 4 })
    );
}

#[test]
fn pruning_follows_buildkit() {
    let m = Matcher::parse("node_modules\n*.log").unwrap();
    assert!(m.can_skip_dir("node_modules"));
    assert!(!m.can_skip_dir("src"));

    // A literal exception inside the directory: descend.
    let m = Matcher::parse("docs\nbuild\n!docs/keep.txt").unwrap();
    assert!(!m.can_skip_dir("docs"));
    assert!(m.can_skip_dir("build"));

    // A trailing `/**` or `/*` does not count as a wildcard.
    let m = Matcher::parse("*\n!src/**\n!web/*").unwrap();
    assert!(!m.can_skip_dir("src") && !m.can_skip_dir("web"));
    assert!(m.can_skip_dir("target"));

    // BuildKit: any exception with a real wildcard stops all pruning, so
    // `!**/keep.txt` re-includes `build/keep.txt` below an ignored `build`.
    let m = Matcher::parse("build\n!**/keep.txt").unwrap();
    assert!(!m.can_skip_dir("build"));
    assert!(!m.matches("build/keep.txt"));
    assert!(m.matches("build/other"));
}

#[test]
fn ignore_file_selection() {
    assert_eq!(
        ignore_file_candidates(Some("build/app.Dockerfile"), "."),
        ["build/app.Dockerfile.dockerignore", ".dockerignore"]
    );
    let exists = |p: &str| p == "build/app.Dockerfile.dockerignore" || p == ".dockerignore";
    assert_eq!(
        select_ignore_file(Some("build/app.Dockerfile"), ".", &exists).as_deref(),
        Some("build/app.Dockerfile.dockerignore")
    );
    assert_eq!(
        select_ignore_file(Some("Dockerfile"), ".", &exists).as_deref(),
        Some(".dockerignore")
    );
    assert_eq!(select_ignore_file(None, "ctx", &|_| false), None);
}

// --- golden cases: testdata/dockerignore/{ok,err}/<case>/ -------------------
//
// ok/<case>/dockerignore + paths -> expected (patterns, then one verdict per
// path; a path ending in `/` is a directory and also gets descend/prune).
// err/<case>/dockerignore -> expected (the error, as the CLI prints it).
// KILN_BLESS=1 rewrites the expected files.

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dockerignore")
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(golden_root().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

fn dump_ok(dir: &Path) -> String {
    let text = fs::read_to_string(dir.join("dockerignore")).unwrap();
    let matcher = Matcher::parse(&text).unwrap();
    let mut out = String::from("# patterns\n");
    for p in matcher.patterns() {
        let verb = if p.is_exception() {
            "include"
        } else {
            "exclude"
        };
        out += &format!("{}: {verb} {}\n", p.line(), p.text());
    }
    out += "# paths\n";
    let paths = fs::read_to_string(dir.join("paths")).unwrap();
    for path in paths.lines().filter(|l| !l.is_empty()) {
        let verdict = if matcher.matches(path) {
            "ignored"
        } else {
            "kept"
        };
        out += &format!("{verdict:7} {path}");
        if path.ends_with('/') && matcher.matches(path) {
            out += if matcher.can_skip_dir(path) {
                " prune"
            } else {
                " descend"
            };
        }
        out += "\n";
    }
    out
}

fn dump_err(dir: &Path) -> String {
    let text = fs::read_to_string(dir.join("dockerignore")).unwrap();
    let err = parse(&text).expect_err("case should fail");
    format!("{}\n", err.display_in(".dockerignore"))
}

fn check_golden(kind: &str, dump: fn(&Path) -> String) -> usize {
    let dirs = cases(kind);
    for dir in &dirs {
        let got = dump(dir);
        let expected = dir.join("expected");
        if std::env::var_os("KILN_BLESS").is_some() {
            fs::write(&expected, &got).unwrap();
            continue;
        }
        let want = fs::read_to_string(&expected).unwrap_or_default();
        assert_eq!(got, want, "golden case {}", dir.display());
    }
    dirs.len()
}

#[test]
fn golden_ok() {
    assert!(check_golden("ok", dump_ok) > 0);
}

#[test]
fn golden_err() {
    assert!(check_golden("err", dump_err) > 0);
}
