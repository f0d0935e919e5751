//! Where an expansion looks variables up.
//!
//! The lexer never reads the process environment: callers pass the variables
//! (build args, `ENV` values, …) so that expansion stays a pure function.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Variables visible to an expansion.
///
/// Lookup is by exact, case-sensitive name (BuildKit's Unix behaviour).
/// `None` means "unset", which differs from "set to the empty string" for the
/// `${V-w}`, `${V+w}` and `${V?w}` modifiers.
pub trait Env {
    /// The value of `name`, or `None` when it is unset.
    fn lookup(&self, name: &str) -> Option<&str>;
}

/// A map of variables; each name has one value.
impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// A sorted map of variables; each name has one value.
impl Env for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// An ordered list of `(name, value)` pairs: the first pair with the name
/// wins, as in BuildKit's "if key already exists, keep previous value".
impl Env for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Same as the slice: the first pair with the name wins.
impl Env for Vec<(String, String)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

/// A reference to an environment, so that a `&[(String, String)]` (which
/// cannot become a `&dyn Env` itself) can be passed as `&slice`.
impl<T: Env + ?Sized> Env for &T {
    fn lookup(&self, name: &str) -> Option<&str> {
        (**self).lookup(name)
    }
}

/// The empty environment: every variable is unset.
impl Env for () {
    fn lookup(&self, _name: &str) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(String, String)> {
        vec![
            ("A".to_owned(), "first".to_owned()),
            ("A".to_owned(), "second".to_owned()),
            ("E".to_owned(), String::new()),
        ]
    }

    #[test]
    fn slices_keep_the_first_value() {
        let env = pairs();
        assert_eq!(env.lookup("A"), Some("first"));
        assert_eq!(env.as_slice().lookup("A"), Some("first"));
        assert_eq!(env.lookup("E"), Some(""));
        assert_eq!(env.lookup("a"), None, "lookup is case-sensitive");
    }

    #[test]
    fn maps_and_unit() {
        let map: HashMap<String, String> = pairs().into_iter().collect();
        assert_eq!(map.lookup("A"), Some("second"));
        let tree: BTreeMap<String, String> = pairs().into_iter().collect();
        assert_eq!(tree.lookup("E"), Some(""));
        assert_eq!(tree.lookup("X"), None);
        assert_eq!(().lookup("A"), None);
    }
}
