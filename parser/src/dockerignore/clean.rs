//! Lexical path cleaning with the rules of Go's `path.Clean`, which Docker applies to
//! every pattern (and which kiln also applies to the paths it is asked about).

/// Cleans `path` like Go's `path.Clean`: collapses repeated `/`, drops `.` elements,
/// resolves `..` against the element before it, drops a trailing `/`.
///
/// A `..` that cannot be resolved is kept in a relative path and dropped at the
/// root of an absolute one; an empty result is `.` (or `/` when rooted).
pub(crate) fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut kept: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." if kept.last().is_some_and(|last| *last != "..") => {
                kept.pop();
            }
            ".." if rooted => {}
            other => kept.push(other),
        }
    }
    let body = kept.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// A path to match, as Docker's walker would pass it: cleaned and relative to the
/// context root. `/a/b`, `./a/b` and `a//b/` all become `a/b`; the root is `.`.
pub(crate) fn context_relative(path: &str) -> String {
    let cleaned = go_clean(path);
    match cleaned.strip_prefix('/') {
        Some("") => ".".to_string(),
        Some(rest) => rest.to_string(),
        None => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "/"),
            ("a//b", "a/b"),
            ("a/./b/", "a/b"),
            ("./a", "a"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("/../a", "/a"),
            ("/a/b/../../..", "/"),
            ("!a/../b", "b"),
        ];
        for (input, want) in cases {
            assert_eq!(go_clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn context_relative_strips_root() {
        assert_eq!(context_relative("/a/b/"), "a/b");
        assert_eq!(context_relative("./a"), "a");
        assert_eq!(context_relative("/"), ".");
        assert_eq!(context_relative(""), ".");
    }
}
