//! `!reset` and `!override` (compose-go's `ResetProcessor`, `loader/reset.go`
//! at e70e961c).
//!
//! While a document is read, a value tagged `!reset` is removed from it and
//! its path recorded; a value tagged `!override` stays and its path is
//! recorded too. Before the document is merged, every recorded path is
//! removed from what was merged so far ([`Resets::apply`]), so `!reset`
//! clears a value and `!override` replaces it instead of merging. The same
//! record is applied to the base service of an `extends`.
//!
//! As in compose-go, recorded paths index sequences as `0` while
//! [`Resets::apply`] names sequence entries `[0]`: a `!reset` on one entry of
//! a sequence removes it from its own document only. Aliases are already
//! expanded by the YAML layer (with their tags), so a tag inside an anchor
//! applies wherever the anchor is used, and `<<` merges are applied, so the
//! recorded paths never hold `<<`. An alias that refers to its own anchor
//! (compose-go's "cycle detected") is refused by the YAML layer.

use super::path::TreePath;
use super::yaml::{Node, Value};

/// The paths a document marked with `!reset` or `!override`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resets {
    paths: Vec<TreePath>,
}

/// Removes the `!reset` values of `doc`, drops the tags, and records the
/// paths to clear from what `doc` is merged over.
pub fn resolve(doc: Node) -> (Node, Resets) {
    let mut resets = Resets::default();
    let pos = doc.pos;
    let node = resets.resolve_node(doc, &TreePath::root()).unwrap_or(Node {
        value: Value::Null,
        pos,
        tag: None,
    });
    (node, resets)
}

impl Resets {
    /// The recorded paths, in document order.
    pub fn paths(&self) -> &[TreePath] {
        &self.paths
    }

    /// Whether no path was recorded.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    fn resolve_node(&mut self, node: Node, path: &TreePath) -> Option<Node> {
        match node.tag.as_deref() {
            Some("!reset") => {
                self.paths.push(path.clone());
                return None;
            }
            Some("!override") => {
                self.paths.push(path.clone());
                return Some(strip_tags(node));
            }
            _ => {}
        }
        let value = match node.value {
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let next = path.next(&k.text);
                        self.resolve_node(v, &next).map(|v| (k, v))
                    })
                    .collect(),
            ),
            Value::Seq(items) => Value::Seq(
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.resolve_node(v, &path.next(&i.to_string())))
                    .collect(),
            ),
            other => other,
        };
        Some(Node {
            value,
            pos: node.pos,
            tag: None,
        })
    }

    /// Removes from `tree` every mapping entry whose path matches a recorded
    /// path (a recorded `*` segment matches any key, as compose-go's
    /// patterns do).
    pub fn apply(&self, tree: &mut Node) {
        if !self.paths.is_empty() {
            self.apply_at(tree, &TreePath::root());
        }
    }

    fn apply_at(&self, node: &mut Node, path: &TreePath) {
        match &mut node.value {
            Value::Map(entries) => entries.retain_mut(|(k, v)| {
                let next = path.next(&k.text);
                if self.matches(&next) {
                    return false;
                }
                self.apply_at(v, &next);
                true
            }),
            Value::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let next = path.next(&format!("[{i}]"));
                    if !self.matches(&next) {
                        self.apply_at(item, &next);
                    }
                }
            }
            _ => {}
        }
    }

    fn matches(&self, path: &TreePath) -> bool {
        self.paths.iter().any(|p| {
            p.parts().len() == path.parts().len()
                && p.parts()
                    .iter()
                    .zip(path.parts())
                    .all(|(a, b)| a == "*" || a == b)
        })
    }
}

/// A node without its tag or any tag below it (what `!override` keeps:
/// compose-go does not look inside an `!override` value).
fn strip_tags(node: Node) -> Node {
    let value = match node.value {
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, strip_tags(v)))
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(items.into_iter().map(strip_tags).collect()),
        other => other,
    };
    Node {
        value,
        pos: node.pos,
        tag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse;

    fn paths(r: &Resets) -> Vec<String> {
        r.paths().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn records_paths_and_drops_reset_values() {
        let doc = parse(
            "a:\n  b: !reset x\n  c: !override {d: !reset 1}\nl: [1, !reset 2, 3]\n",
            "f",
        )
        .unwrap();
        let (node, resets) = resolve(doc);
        assert_eq!(paths(&resets), ["a.b", "a.c", "l.1"]);
        let want = parse("a:\n  c: {d: 1}\nl: [1, 3]\n", "w").unwrap();
        assert_eq!(node.to_json(), want.to_json());
        assert!(node.get("a").unwrap().get("c").unwrap().tag.is_none());
    }

    #[test]
    fn apply_removes_mapping_keys_not_sequence_entries() {
        let (_, resets) = resolve(parse("a: {b: !reset}\nl: [!reset 1]\n", "f").unwrap());
        let mut base = parse("a: {b: 1, c: 2}\nl: [x, y]\n", "b").unwrap();
        resets.apply(&mut base);
        // compose-go names sequence entries `[0]` when applying but `0` when
        // recording, so a reset entry of a sequence never clears the base.
        assert_eq!(
            base.to_json(),
            parse("a: {c: 2}\nl: [x, y]\n", "w").unwrap().to_json()
        );
    }
}
