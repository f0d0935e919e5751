//! The seam between the loader and the passes written beside it (`.env`
//! files, `${}` interpolation, merge, schema validation). Each pass is called
//! through one narrow function here, so a pass can be swapped for its full
//! implementation without touching the pipeline.
//!
//! `.env` files, interpolation and the schema are the dedicated modules
//! ([`env_files`], [`crate::compose::interpolate`], [`schema`]); the merge
//! here is the smallest deep merge (mappings by key, sequences appended,
//! `!reset`/`!override`) until the merge module lands.

use super::super::env_files::{self, EnvFile};
use super::super::env_map::EnvMap;
use super::super::interpolate::{substitute, TemplateError};
use super::super::schema::{self, PathSeg, Reason, SchemaError};
use super::super::yaml::{Key, Node, Value};
use super::error::LoadError;

/// A lookup of one variable (process environment, then `.env` values).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads `.env` files in order into the map Compose gets from them (later
/// keys win); `lookup` is the environment `${}` and bare `KEY` lines see
/// first. Errors name the file and line.
pub fn read_env_files(files: &[(String, String)], lookup: Lookup) -> Result<EnvMap, LoadError> {
    let files: Vec<EnvFile> = files.iter().map(|(name, text)| EnvFile { name, text }).collect();
    env_files::env_files(&files, lookup).map_err(|e| LoadError::Project(e.to_string()))
}

/// Interpolates every string leaf of a compose file's tree (keys untouched),
/// naming the file, position and key path in errors (compose-go's
/// `interpolation.Interpolate`).
pub fn interpolate(node: &mut Node, file: &str, lookup: Lookup) -> Result<(), LoadError> {
    walk_strings(node, String::new(), &mut |n, path| {
        if let Value::Str(s) = &n.value {
            let done = substitute(s, lookup).map_err(|e| {
                let reason = match e {
                    TemplateError::Invalid { .. } => {
                        format!("invalid interpolation format in {s:?} (a literal $ is written $$)")
                    }
                    other => other.to_string(),
                };
                LoadError::at(file, n.pos, path, reason)
            })?;
            n.value = Value::Str(done);
        }
        Ok(())
    })
}

fn walk_strings(
    node: &mut Node,
    path: String,
    f: &mut dyn FnMut(&mut Node, &str) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    match &mut node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_strings(item, format!("{path}[{i}]"), f)?;
            }
            Ok(())
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let p = if path.is_empty() { k.text.clone() } else { format!("{path}.{}", k.text) };
                walk_strings(v, p, f)?;
            }
            Ok(())
        }
        _ => f(node, &path),
    }
}

/// Merges `over` onto `base` as compose-go's `override.Merge` does for the
/// common cases: mappings key by key, later scalars win, sequences append,
/// `!reset` removes, `!override` replaces.
pub fn merge(base: Node, over: Node) -> Result<Node, LoadError> {
    Ok(merge_node(Some(base), over).unwrap_or_else(|| Node::new(Value::Map(Vec::new()))))
}

fn merge_node(base: Option<Node>, over: Node) -> Option<Node> {
    match over.tag.as_deref() {
        Some("!reset") => return None,
        Some("!override") => return Some(Node { tag: None, ..over }),
        _ => {}
    }
    let Some(base) = base else {
        return Some(strip_tags(over));
    };
    match (base.value, over.value) {
        (Value::Map(mut b), Value::Map(o)) => {
            for (k, v) in o {
                let pos = b.iter().position(|(bk, _)| bk.text == k.text);
                let replaced = matches!(k.text.as_str(), "command" | "entrypoint" | "test");
                let old = pos.filter(|_| !replaced).map(|i| b[i].1.clone());
                match (merge_node(old, v), pos) {
                    (Some(n), Some(i)) => b[i].1 = n,
                    (Some(n), None) => b.push((k, n)),
                    (None, Some(i)) => {
                        b.remove(i);
                    }
                    (None, None) => {}
                }
            }
            Some(Node { value: Value::Map(b), ..base_meta(base.pos) })
        }
        (Value::Seq(mut b), Value::Seq(o)) => {
            b.extend(o.into_iter().filter_map(|n| merge_node(None, n)));
            Some(Node { value: Value::Seq(b), ..base_meta(base.pos) })
        }
        (_, value) => Some(strip_tags(Node { value, pos: over.pos, tag: None })),
    }
}

fn base_meta(pos: super::super::yaml::Pos) -> Node {
    Node { value: Value::Null, pos, tag: None }
}

/// Applies `!reset` tags inside one file (a reset value is dropped) and
/// forgets the tags.
pub fn strip_tags(node: Node) -> Node {
    let value = match node.value {
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .filter(|(_, v)| v.tag.as_deref() != Some("!reset"))
                .map(|(k, v): (Key, Node)| (k, strip_tags(v)))
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(
            items.into_iter().filter(|v| v.tag.as_deref() != Some("!reset")).map(strip_tags).collect(),
        ),
        v => v,
    };
    Node { value, pos: node.pos, tag: None }
}

/// Validates one file's model against the compose-spec schema; the
/// violation is reported at the node its key path leads to.
pub fn validate(model: &Node, file: &str) -> Result<(), LoadError> {
    match schema::validate(&model.to_json()) {
        Ok(()) => Ok(()),
        Err(SchemaError::Invalid(v)) => {
            let (node, path) = locate(model, &v.path);
            // An unknown key is reported where that key is written.
            let pos = match (&v.reason, &node.value) {
                (Reason::AdditionalProperties { names }, Value::Map(entries)) => entries
                    .iter()
                    .find(|(k, _)| names.first() == Some(&k.text))
                    .map_or(node.pos, |(k, _)| k.pos),
                _ => node.pos,
            };
            let reason = v.to_string();
            let reason = reason.strip_prefix(&v.dotted_path()).unwrap_or(&reason).trim_start().to_string();
            Err(LoadError::at(file, pos, &path, reason))
        }
        Err(e) => Err(LoadError::Project(e.to_string())),
    }
}

/// The deepest node `segs` reaches in `model`, and the path written the
/// kiln way (`services.web.ports[0]`).
fn locate<'a>(model: &'a Node, segs: &[PathSeg]) -> (&'a Node, String) {
    let mut node = model;
    let mut path = String::new();
    for seg in segs {
        let next = match (seg, &node.value) {
            (PathSeg::Key(k), Value::Map(_)) => node.get(k).map(|n| (n, format!("{}{k}", if path.is_empty() { "" } else { "." }))),
            (PathSeg::Index(i), Value::Seq(items)) => items.get(*i).map(|n| (n, format!("[{i}]"))),
            _ => None,
        };
        match next {
            Some((n, part)) => {
                node = n;
                path.push_str(&part);
            }
            None => {
                path.push_str(&match seg {
                    PathSeg::Key(k) if path.is_empty() => k.clone(),
                    PathSeg::Key(k) => format!(".{k}"),
                    PathSeg::Index(i) => format!("[{i}]"),
                });
            }
        }
    }
    (node, path)
}
