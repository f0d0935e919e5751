//! The special merge rules of compose-go's `mergeSpecials`, keyed by path
//! pattern. Each rule is only used when both sides have the key.

use super::sequence::{merge_to_sequence, sequence_node, to_sequence};
use super::{ipam, merge_mappings, MergeError};
use crate::compose::path::TreePath;
use crate::compose::tree::{get, key, node, same_data};
use crate::compose::yaml::{Key, Node, Value};

/// A special rule: base, override, path, file -> merged.
pub(crate) type Rule = fn(Node, Node, &TreePath, &str) -> Result<Node, MergeError>;

/// compose-go's table, pattern -> rule.
const RULES: &[(&[&str], Rule)] = &[
    (
        &["networks", "*", "ipam", "config"],
        ipam::merge_ipam_config,
    ),
    (&["networks", "*", "labels"], to_sequence_rule),
    (&["volumes", "*", "labels"], to_sequence_rule),
    (&["services", "*", "annotations"], to_sequence_rule),
    (&["services", "*", "build"], merge_build),
    (&["services", "*", "build", "args"], to_sequence_rule),
    (
        &["services", "*", "build", "additional_contexts"],
        to_sequence_rule,
    ),
    (
        &["services", "*", "build", "extra_hosts"],
        merge_extra_hosts,
    ),
    (&["services", "*", "build", "labels"], to_sequence_rule),
    (&["services", "*", "command"], replace),
    (&["services", "*", "depends_on"], merge_depends_on),
    (&["services", "*", "deploy", "labels"], to_sequence_rule),
    (&["services", "*", "dns"], to_sequence_rule),
    (&["services", "*", "dns_opt"], to_sequence_rule),
    (&["services", "*", "dns_search"], to_sequence_rule),
    (&["services", "*", "entrypoint"], replace),
    (&["services", "*", "env_file"], to_sequence_rule),
    (&["services", "*", "label_file"], to_sequence_rule),
    (&["services", "*", "environment"], to_sequence_rule),
    (&["services", "*", "extra_hosts"], merge_extra_hosts),
    (&["services", "*", "healthcheck", "test"], replace),
    (&["services", "*", "labels"], to_sequence_rule),
    (
        &["services", "*", "volumes", "*", "volume", "labels"],
        to_sequence_rule,
    ),
    (&["services", "*", "logging"], merge_logging),
    (&["services", "*", "models"], merge_to_mapping),
    (&["services", "*", "networks"], merge_to_mapping),
    (&["services", "*", "sysctls"], to_sequence_rule),
    (&["services", "*", "tmpfs"], to_sequence_rule),
    (&["services", "*", "ulimits", "*"], replace),
];

/// The special rule for `path`, if any.
pub(crate) fn rule_for(path: &TreePath) -> Option<Rule> {
    RULES
        .iter()
        .find(|(pattern, _)| path.matches_parts(pattern))
        .map(|(_, rule)| *rule)
}

/// `override` (and `mergeUlimit`, which comes to the same): the override's
/// value, even `null`.
fn replace(_: Node, over: Node, _: &TreePath, _: &str) -> Result<Node, MergeError> {
    Ok(over)
}

fn to_sequence_rule(base: Node, over: Node, _: &TreePath, _: &str) -> Result<Node, MergeError> {
    Ok(merge_to_sequence(base, over))
}

/// `mergeExtraHosts`: as a sequence, the override's entries that the base
/// already has are dropped.
fn merge_extra_hosts(base: Node, over: Node, _: &TreePath, _: &str) -> Result<Node, MergeError> {
    let pos = base.pos;
    let right = to_sequence(base);
    let left = to_sequence(over).unwrap_or_default();
    let existing = right.clone().unwrap_or_default();
    let left = left
        .into_iter()
        .filter(|v| !existing.iter().any(|e| same_data(e, v)))
        .collect();
    Ok(sequence_node(right, left, pos))
}

/// `mergeBuild`: a string `build` is `{context: <string>}`, then mappings
/// merge.
fn merge_build(base: Node, over: Node, path: &TreePath, file: &str) -> Result<Node, MergeError> {
    let pos = base.pos;
    let right = build_mapping(base);
    let left = build_mapping(over);
    let merged = merge_mappings(right, left, path, file)?;
    Ok(node(Value::Map(merged), pos))
}

fn build_mapping(value: Node) -> Vec<(Key, Node)> {
    match value.value {
        Value::Str(_) => vec![(key("context", value.pos), value)],
        Value::Map(entries) => entries,
        _ => Vec::new(),
    }
}

/// `mergeDependsOn`: a list of names becomes a mapping of
/// `{condition: service_started, required: true}`, then mappings merge.
fn merge_depends_on(
    base: Node,
    over: Node,
    path: &TreePath,
    file: &str,
) -> Result<Node, MergeError> {
    merge_as_mappings(base, over, true, path, file)
}

/// `mergeNetworks` / `mergeModels`: a list of names becomes a mapping with
/// null values, then mappings merge.
fn merge_to_mapping(
    base: Node,
    over: Node,
    path: &TreePath,
    file: &str,
) -> Result<Node, MergeError> {
    merge_as_mappings(base, over, false, path, file)
}

/// Both sides as mappings (lists of names converted, as dependencies when
/// `depends_on`), then merged key by key.
fn merge_as_mappings(
    base: Node,
    over: Node,
    depends_on: bool,
    path: &TreePath,
    file: &str,
) -> Result<Node, MergeError> {
    let pos = base.pos;
    let right = to_mapping(base, depends_on, path, file)?;
    let left = to_mapping(over, depends_on, path, file)?;
    Ok(node(
        Value::Map(merge_mappings(right, left, path, file)?),
        pos,
    ))
}

/// `convertIntoMapping`: a mapping stays; a sequence of names becomes a
/// mapping (null values, or a fresh `depends_on` default per name); any
/// other value is empty. A later duplicate name keeps the first's place.
pub(crate) fn to_mapping(
    value: Node,
    depends_on: bool,
    path: &TreePath,
    file: &str,
) -> Result<Vec<(Key, Node)>, MergeError> {
    match value.value {
        Value::Map(entries) => Ok(entries),
        Value::Seq(items) => {
            let mut entries: Vec<(Key, Node)> = Vec::new();
            for item in items {
                let Some(name) = item.as_str() else {
                    let reason = format!("{path}: expected a string, got {}", item.kind());
                    return Err(MergeError::invalid(file, item.pos, reason));
                };
                let v = if depends_on {
                    depends_on_default(item.pos)
                } else {
                    node(Value::Null, item.pos)
                };
                crate::compose::tree::set(&mut entries, key(name, item.pos), v);
            }
            Ok(entries)
        }
        _ => Ok(Vec::new()),
    }
}

fn depends_on_default(pos: crate::compose::yaml::Pos) -> Node {
    let entries = vec![
        (
            key("condition", pos),
            node(Value::Str("service_started".into()), pos),
        ),
        (key("required", pos), node(Value::Bool(true), pos)),
    ];
    node(Value::Map(entries), pos)
}

/// `mergeLogging`: options merge only when both name the same driver (or
/// either names none); otherwise the override replaces the base. A `null`
/// override keeps the base (Go would fail on it); a base that is not a
/// mapping is replaced.
fn merge_logging(base: Node, over: Node, path: &TreePath, file: &str) -> Result<Node, MergeError> {
    match (base.value, over.value) {
        (Value::Map(config), Value::Map(other)) => {
            let same = match (get(&other, "driver"), get(&config, "driver")) {
                (Some(a), Some(b)) => same_data(a, b),
                _ => true,
            };
            if same {
                let merged = merge_mappings(config, other, path, file)?;
                Ok(node(Value::Map(merged), base.pos))
            } else {
                Ok(node(Value::Map(other), over.pos))
            }
        }
        (value, Value::Null) => Ok(node(value, base.pos)),
        (Value::Map(_), _) => Err(MergeError::CannotOverride {
            file: file.to_string(),
            pos: over.pos,
            path: path.to_string(),
        }),
        (_, value) => Ok(node(value, over.pos)),
    }
}
