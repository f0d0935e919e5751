//! Context-relative paths: cleaning that can never climb above the root, and the
//! canonical order of entries.
//!
//! A context path is `/`-separated, relative, clean (no `.`, `..`, empty or
//! trailing components) and the root is `"."`.

use std::cmp::Ordering;

/// Cleans `path` like Go's `filepath.Clean`, but scoped to the context root: a
/// leading `/` is dropped and `..` at the root stays at the root (as BuildKit
/// resolves COPY sources), so `../../etc/passwd` is `etc/passwd`.
pub fn scoped_clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// `dir/name` for a context path `dir` (the root is `"."`).
pub fn join(dir: &str, name: &str) -> String {
    if dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent of a context path (`"."` for top-level names and the root).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => ".",
    }
}

/// The last component of a context path.
pub fn base(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Whether `path` is `dir` itself or below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "."
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// The canonical entry order: component by component, byte-wise, the root first.
/// This is a depth-first pre-order walk with each directory's names sorted, so a
/// directory comes right before its contents (`a`, `a/b`, `a.txt`).
pub fn compare(a: &str, b: &str) -> Ordering {
    fn key(p: &str) -> impl Iterator<Item = u8> + '_ {
        let p = if p == "." { "" } else { p };
        p.bytes().map(|c| if c == b'/' { 0 } else { c })
    }
    key(a).cmp(key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_never_climbs_out() {
        assert_eq!(scoped_clean("../../etc/passwd"), "etc/passwd");
        assert_eq!(scoped_clean("/a/./b//c/"), "a/b/c");
        assert_eq!(scoped_clean("a/../../.."), ".");
        assert_eq!(scoped_clean(""), ".");
        assert_eq!(scoped_clean("/"), ".");
    }

    #[test]
    fn order_puts_directories_before_their_contents() {
        let mut v = vec!["a.txt", "a/b", "a", ".", "a-b"];
        v.sort_by(|a, b| compare(a, b));
        assert_eq!(v, [".", "a", "a/b", "a-b", "a.txt"]);
        assert!(is_within("a/b", "a"));
        assert!(!is_within("ab", "a"));
        assert!(is_within("x", "."));
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(base("a/b/c"), "c");
    }
}
