//! Interpolation of a YAML tree ([`yaml::Node`](super::yaml::Node)) that keeps
//! positions, so that an error names the line and column of the leaf as well
//! as its key path (`12:7: services.web.image: required variable TAG is
//! missing a value: set TAG`); the loader puts the file name in front.
//!
//! The rules are those of [`interpolate_tree`](super::interpolate_tree): string
//! leaves only (keys are not substituted), and with `casts` the strings at the
//! keys where compose wants a number or a boolean are cast after substitution.
//! Positions and tags (`!reset`, `!override`) stay on the nodes.

use super::interpolate_cast::compose_cast_for;
use super::interpolate_tree::{KeyPath, PathPart, TreeError, Walker};
use super::yaml::{Node, Pos, Value};

/// An interpolation error at one leaf of a YAML tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {error}")]
pub struct NodeError {
    /// Where the leaf is written.
    pub pos: Pos,
    /// What went wrong, with the key path (shown in the message).
    pub error: TreeError,
}

/// Substitutes every string leaf of `node`; with `casts`, also casts the
/// strings at compose's typed keys (`replicas`, `init`, `ports[].target`...).
pub fn interpolate_node(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    on_unset: &mut dyn FnMut(&KeyPath, &str),
    casts: bool,
) -> Result<Node, NodeError> {
    let cast_for: &dyn Fn(&KeyPath) -> Option<_> =
        if casts { &compose_cast_for } else { &|_| None };
    let mut walker = Walker {
        lookup,
        on_unset,
        cast_for,
    };
    walk(&mut walker, node, &mut KeyPath::default())
}

fn walk(walker: &mut Walker<'_, '_>, node: &Node, path: &mut KeyPath) -> Result<Node, NodeError> {
    let value = match &node.value {
        Value::Str(text) => {
            let leaf = walker.leaf(text, path).map_err(|error| NodeError {
                pos: node.pos,
                error,
            })?;
            from_json(leaf)
        }
        Value::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, elem) in entries {
                path.push(PathPart::Key(key.text.clone()));
                let done = walk(walker, elem, path);
                path.pop();
                out.push((key.clone(), done?));
            }
            Value::Map(out)
        }
        Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, elem) in items.iter().enumerate() {
                path.push(PathPart::Index(i));
                let done = walk(walker, elem, path);
                path.pop();
                out.push(done?);
            }
            Value::Seq(out)
        }
        other => other.clone(),
    };
    Ok(Node {
        value,
        pos: node.pos,
        tag: node.tag.clone(),
    })
}

/// A leaf's result (a string, or what a cast made of it) as a YAML value.
fn from_json(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse;

    fn env(name: &str) -> Option<String> {
        match name {
            "TAG" => Some("1.2".into()),
            "N" => Some("3".into()),
            _ => None,
        }
    }

    #[test]
    fn leaves_are_substituted_and_positions_and_tags_kept() {
        let text =
            "services:\n  web:\n    image: app:${TAG}\n    scale: ${N}\n    ports: !reset []\n";
        let node = parse(text, "compose.yaml").unwrap();
        let out = interpolate_node(&node, &env, &mut |_, _| {}, true).unwrap();
        let web = out.get("services").and_then(|s| s.get("web")).unwrap();
        assert_eq!(web.get("image").and_then(Node::as_str), Some("app:1.2"));
        assert_eq!(
            web.get("image").map(|n| n.pos),
            Some(Pos { line: 3, col: 12 })
        );
        assert_eq!(web.get("scale").map(|n| &n.value), Some(&Value::Int(3)));
        assert_eq!(
            web.get("ports").and_then(|n| n.tag.as_deref()),
            Some("!reset")
        );
    }

    #[test]
    fn errors_carry_line_column_and_key_path() {
        let text = "services:\n  web:\n    ports:\n      - \"80\"\n      - ${P:?set P}\n";
        let node = parse(text, "compose.yaml").unwrap();
        let err = interpolate_node(&node, &env, &mut |_, _| {}, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "5:9: services.web.ports[1]: required variable P is missing a value: set P"
        );
    }

    #[test]
    fn without_casts_strings_stay_strings() {
        let node = parse("services:\n  web:\n    scale: \"${N}\"\n", "c.yaml").unwrap();
        let out = interpolate_node(&node, &env, &mut |_, _| {}, false).unwrap();
        let scale = out
            .get("services")
            .and_then(|s| s.get("web"))
            .and_then(|w| w.get("scale"));
        assert_eq!(scale.and_then(Node::as_str), Some("3"));
    }
}
