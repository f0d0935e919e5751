//! The seam between the loader and the passes written beside it (`.env`
//! files, `${}` interpolation, merge, schema validation). Each pass is called
//! through one narrow function here, so a pass can be swapped for its full
//! implementation without touching the pipeline.
//!
//! `.env` files, interpolation and its typed casts, and the schema are the
//! dedicated modules ([`env_files`], [`crate::compose::interpolate`],
//! [`crate::compose::interpolate_cast`], [`schema`]); merging is
//! [`crate::compose::files`]' (see `host.rs`).

use super::super::env_files::{self, EnvFile};
use super::super::env_map::EnvMap;
use super::super::interpolate::{substitute_reporting, TemplateError};
use super::super::interpolate_cast::{cast, compose_cast_for};
use super::super::interpolate_tree::{KeyPath, PathPart};
use super::super::schema::{self, PathSeg, Reason, SchemaError};
use super::super::yaml::{Node, Value};
use super::error::LoadError;

/// A lookup of one variable (process environment, then `.env` values).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads `.env` files in order into the map Compose gets from them (later
/// keys win); `lookup` is the environment `${}` and bare `KEY` lines see
/// first. Errors name the file and line.
pub fn read_env_files(files: &[(String, String)], lookup: Lookup) -> Result<EnvMap, LoadError> {
    let files: Vec<EnvFile> = files
        .iter()
        .map(|(name, text)| EnvFile { name, text })
        .collect();
    env_files::env_files(&files, lookup).map_err(|e| LoadError::Project(e.to_string()))
}

/// Interpolates every string leaf of a compose file's tree (keys untouched),
/// then casts the strings at typed keys (`replicas: "${N}"` becomes a
/// number), naming the file, position and key path in errors (compose-go's
/// `interpolation.Interpolate` with its cast table). `on_unset` hears each
/// unset variable whose (blank) value is used.
pub fn interpolate(
    node: &mut Node,
    file: &str,
    lookup: Lookup,
    on_unset: &mut dyn FnMut(&str),
) -> Result<(), LoadError> {
    walk_strings(
        node,
        String::new(),
        &KeyPath::default(),
        &mut |n, path, key_path| {
            if let Value::Str(s) = &n.value {
                let done = substitute_reporting(s, lookup, on_unset).map_err(|e| {
                    let reason = match e {
                        TemplateError::Invalid { .. } => {
                            format!(
                                "invalid interpolation format in {s:?} (a literal $ is written $$)"
                            )
                        }
                        other => other.to_string(),
                    };
                    LoadError::at(file, n.pos, path, reason)
                })?;
                n.value = match compose_cast_for(key_path) {
                    Some(kind) => match cast(kind, &done) {
                        Ok(json) => Node::from_json(&json).value,
                        Err(reason) => return Err(LoadError::at(file, n.pos, path, reason)),
                    },
                    None => Value::Str(done),
                };
            }
            Ok(())
        },
    )
}

type LeafFn<'a> = dyn FnMut(&mut Node, &str, &KeyPath) -> Result<(), LoadError> + 'a;

fn walk_strings(
    node: &mut Node,
    path: String,
    key_path: &KeyPath,
    f: &mut LeafFn,
) -> Result<(), LoadError> {
    match &mut node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_strings(
                    item,
                    format!("{path}[{i}]"),
                    &key_path.child(PathPart::Index(i)),
                    f,
                )?;
            }
            Ok(())
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let p = if path.is_empty() {
                    k.text.clone()
                } else {
                    format!("{path}.{}", k.text)
                };
                walk_strings(v, p, &key_path.child(PathPart::Key(k.text.clone())), f)?;
            }
            Ok(())
        }
        _ => f(node, &path, key_path),
    }
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
            let reason = reason
                .strip_prefix(&v.dotted_path())
                .unwrap_or(&reason)
                .trim_start()
                .to_string();
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
            (PathSeg::Key(k), Value::Map(_)) => node
                .get(k)
                .map(|n| (n, format!("{}{k}", if path.is_empty() { "" } else { "." }))),
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
