//! Small helpers on [`Node`] mappings used by the merge passes (mappings
//! are vectors of entries in file order).

use super::yaml::{Key, Node, Pos, Value};

/// The entry under `key` in `entries`.
pub(crate) fn get<'a>(entries: &'a [(Key, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
}

/// The position of the entry under `key` in `entries`.
pub(crate) fn index(entries: &[(Key, Node)], key: &str) -> Option<usize> {
    entries.iter().position(|(k, _)| k.text == key)
}

/// Sets `key` to `value`: replaces the value in place when the key exists
/// (keeping the key's position), appends the entry otherwise.
pub(crate) fn set(entries: &mut Vec<(Key, Node)>, key: Key, value: Node) {
    match index(entries, &key.text) {
        Some(i) => entries[i].1 = value,
        None => entries.push((key, value)),
    }
}

/// Removes and returns the value under `key`.
pub(crate) fn remove(entries: &mut Vec<(Key, Node)>, key: &str) -> Option<Node> {
    index(entries, key).map(|i| entries.remove(i).1)
}

/// A key with a position.
pub(crate) fn key(text: &str, pos: Pos) -> Key {
    Key {
        text: text.to_string(),
        pos,
    }
}

/// A node with a value and a position, no tag.
pub(crate) fn node(value: Value, pos: Pos) -> Node {
    Node {
        value,
        pos,
        tag: None,
    }
}

/// Values equal as data (positions and tags ignored), as Go's `==` on
/// decoded YAML values compares them.
pub(crate) fn same_data(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_data(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| get(y, &k.text).is_some_and(|w| same_data(v, w)))
        }
        (x, y) => x == y,
    }
}
