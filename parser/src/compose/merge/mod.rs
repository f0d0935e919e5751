//! compose-go's `override.Merge`: one Compose tree merged over another
//! (`-f base.yaml -f override.yaml`), with the special rules of its
//! `override/merge.go` (commit e70e961c).
//!
//! The general rule: mappings merge key by key, sequences are appended, and
//! any other value of the override replaces the base one; an override that
//! is `null` keeps the base value. A mapping or sequence overridden by a
//! value of another kind is refused (`cannot override services.web.ports`).
//! The special rules, keyed by path pattern, are in [`special`]:
//! `command`/`entrypoint`/`healthcheck.test` replace; labels, environment and
//! the like become `KEY=VALUE` sequences ([`sequence`]); `depends_on`,
//! `networks` and `models` become mappings; a string `build` becomes
//! `{context: ...}`; `logging` merges only for the same driver; `ulimits`
//! entries replace; `extra_hosts` skip repeats; `ipam.config` entries match
//! by `subnet` ([`ipam`]).
//!
//! Positions survive: a merged mapping keeps the base's node and keys, a
//! value taken from the override keeps the override's position. Go's maps
//! have no order; here the base's keys stay in their order and new keys are
//! appended in the override's order.

mod error;
mod ipam;
pub mod sequence;
mod special;

pub use error::MergeError;

use super::path::TreePath;
use super::tree;
use super::yaml::{Key, Node, Value};

/// Merges `over` (read from `file`, named in errors) over `base`, as
/// compose-go's `override.Merge(base, over)`. A `null` base counts as an
/// empty mapping.
pub fn merge(base: Node, over: Node, file: &str) -> Result<Node, MergeError> {
    let base = match base.value {
        Value::Null => Node {
            value: Value::Map(Vec::new()),
            ..base
        },
        _ => base,
    };
    merge_at(base, over, &TreePath::root(), file)
}

/// `MergeYaml`: merges `over` into `base` at `path`, applying the special
/// rule for that path when there is one.
pub fn merge_at(base: Node, over: Node, path: &TreePath, file: &str) -> Result<Node, MergeError> {
    if let Some(rule) = special::rule_for(path) {
        return rule(base, over, path, file);
    }
    if matches!(over.value, Value::Null) {
        return Ok(base);
    }
    match base.value {
        Value::Map(entries) => match over.value {
            Value::Map(other) => {
                let merged = merge_mappings(entries, other, path, file)?;
                Ok(Node {
                    value: Value::Map(merged),
                    ..base
                })
            }
            _ => Err(cannot_override(&over, path, file)),
        },
        Value::Seq(mut items) => match over.value {
            Value::Seq(other) => {
                items.extend(other);
                Ok(Node {
                    value: Value::Seq(items),
                    ..base
                })
            }
            _ => Err(cannot_override(&over, path, file)),
        },
        _ => Ok(over),
    }
}

/// `mergeMappings`: each key of `other` is added, or merged with the base's
/// value at `path.key`.
pub(crate) fn merge_mappings(
    mut entries: Vec<(Key, Node)>,
    other: Vec<(Key, Node)>,
    path: &TreePath,
    file: &str,
) -> Result<Vec<(Key, Node)>, MergeError> {
    for (key, value) in other {
        match tree::index(&entries, &key.text) {
            None => entries.push((key, value)),
            Some(i) => {
                let next = path.next(&key.text);
                let existing = std::mem::replace(&mut entries[i].1, Node::new(Value::Null));
                entries[i].1 = merge_at(existing, value, &next, file)?;
            }
        }
    }
    Ok(entries)
}

fn cannot_override(over: &Node, path: &TreePath, file: &str) -> MergeError {
    MergeError::CannotOverride {
        file: file.to_string(),
        pos: over.pos,
        path: path.to_string(),
    }
}

#[cfg(test)]
mod tests;
