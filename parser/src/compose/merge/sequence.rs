//! compose-go's `convertIntoSequence` and `mergeToSequence`: how `labels`,
//! `environment`, `dns`, `env_file`... given either as a mapping or as a
//! sequence (or a lone string) are merged as one sequence of strings.

use crate::compose::gofmt;
use crate::compose::tree::node;
use crate::compose::yaml::{Node, Value};

/// A value as a sequence: a mapping becomes `KEY=VALUE` strings (`KEY` for a
/// null value, one `KEY=item` per item for a sequence value), sorted by byte
/// order; a sequence stays as is; a string becomes a one-item sequence.
/// `None` is Go's nil slice (a mapping with no entries, or another kind of
/// value), which the caller needs to tell `null` from `[]` in the result.
pub fn to_sequence(value: Node) -> Option<Vec<Node>> {
    match value.value {
        Value::Map(entries) => {
            let mut seq = Vec::new();
            for (key, val) in entries {
                match val.value {
                    Value::Null => seq.push(node(Value::Str(key.text.clone()), key.pos)),
                    Value::Seq(items) => {
                        for item in items {
                            let text = format!("{}={}", key.text, gofmt::v(&item));
                            seq.push(node(Value::Str(text), item.pos));
                        }
                    }
                    _ => {
                        let text = format!("{}={}", key.text, gofmt::v(&val));
                        seq.push(node(Value::Str(text), val.pos));
                    }
                }
            }
            seq.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            (!seq.is_empty()).then_some(seq)
        }
        Value::Seq(items) => Some(items),
        Value::Str(_) => Some(vec![value]),
        _ => None,
    }
}

/// `mergeToSequence`: both sides as sequences, the override's appended. The
/// result is `null` when Go's `append` would give a nil slice (base nil and
/// nothing to add).
pub fn merge_to_sequence(base: Node, over: Node) -> Node {
    let pos = base.pos;
    let right = to_sequence(base);
    let left = to_sequence(over).unwrap_or_default();
    sequence_node(right, left, pos)
}

/// `append(right, left...)` as a node.
pub(crate) fn sequence_node(
    right: Option<Vec<Node>>,
    left: Vec<Node>,
    pos: crate::compose::yaml::Pos,
) -> Node {
    match right {
        None if left.is_empty() => node(Value::Null, pos),
        right => {
            let mut items = right.unwrap_or_default();
            items.extend(left);
            node(Value::Seq(items), pos)
        }
    }
}
