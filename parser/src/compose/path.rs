//! Dotted paths into a Compose tree (`services.web.ports`), and the patterns
//! the merge rules are keyed on (`services.*.ports`), as compose-go's
//! `tree.Path` has them.
//!
//! A path is kept as its segments, so a key that itself holds a dot (a
//! service called `a.b`) stays one segment, which is what compose-go gets by
//! replacing the dot inside a key before joining.

use std::fmt;

/// A path from the top of a Compose tree: mapping keys, and sequence
/// positions written as the caller chose (`0` or `[0]`, see each pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreePath {
    parts: Vec<String>,
}

impl TreePath {
    /// The empty path (the top of the tree).
    pub fn root() -> TreePath {
        TreePath::default()
    }

    /// A path from its segments.
    pub fn from_parts<I: IntoIterator<Item = S>, S: Into<String>>(parts: I) -> TreePath {
        TreePath {
            parts: parts.into_iter().map(Into::into).collect(),
        }
    }

    /// This path with one more segment.
    pub fn next(&self, part: &str) -> TreePath {
        let mut parts = self.parts.clone();
        parts.push(part.to_string());
        TreePath { parts }
    }

    /// The segments.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Whether this path matches `pattern` (dot-separated, `*` matching any
    /// one segment): same number of segments, each equal or `*`.
    pub fn matches(&self, pattern: &str) -> bool {
        let parts: Vec<&str> = pattern.split('.').collect();
        self.matches_parts(&parts)
    }

    /// [`TreePath::matches`] with the pattern already split into segments
    /// (the rule tables keep them so: splitting on every lookup was most of
    /// the merge's time).
    pub fn matches_parts(&self, pattern: &[&str]) -> bool {
        pattern.len() == self.parts.len()
            && pattern
                .iter()
                .zip(&self.parts)
                .all(|(want, part)| *want == "*" || want == part)
    }

    /// Whether `other` is this path with zero or more segments appended.
    pub fn starts_with(&self, other: &TreePath) -> bool {
        self.parts.starts_with(&other.parts)
    }
}

impl fmt::Display for TreePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_star_and_length() {
        let p = TreePath::from_parts(["services", "web", "ports"]);
        assert!(p.matches("services.*.ports"));
        assert!(!p.matches("services.*"));
        assert!(!p.matches("services.*.volumes"));
        let dotted = TreePath::from_parts(["services", "a.b", "ports"]);
        assert!(dotted.matches("services.*.ports"));
        assert_eq!(dotted.to_string(), "services.a.b.ports");
    }
}
