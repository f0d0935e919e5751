//! Interpolation of a whole model tree: every string leaf substituted with
//! [`interpolate::substitute`](super::interpolate::substitute), as compose-go's
//! `interpolation.Interpolate` does before the model is validated. Mapping keys
//! are not substituted, numbers, booleans and nulls are left alone.
//!
//! Errors carry the key path of the leaf, written as kiln writes paths
//! (`services.web.ports[0]`), where compose-go writes `services.web.ports.[]`.

use super::interpolate::{substitute_reporting, TemplateError};
use serde_json::Value;
use std::fmt;

/// A key path in a model tree (`services.web.ports[0]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<PathPart>);

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    /// A mapping key.
    Key(String),
    /// A sequence index (from 0).
    Index(usize),
}

impl KeyPath {
    /// The path with one more step.
    pub fn child(&self, part: PathPart) -> KeyPath {
        let mut parts = self.0.clone();
        parts.push(part);
        KeyPath(parts)
    }

    /// The steps of the path, from the root.
    pub fn parts(&self) -> &[PathPart] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            match part {
                PathPart::Key(key) if i == 0 => write!(f, "{key}")?,
                PathPart::Key(key) => write!(f, ".{key}")?,
                PathPart::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A substitution that failed at one leaf of the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// An invalid `${...}` (compose: "invalid interpolation format for ...").
    #[error("{path}: invalid interpolation format (a literal $ is written $$): {source}")]
    InvalidFormat {
        /// Where the leaf is.
        path: KeyPath,
        /// The template error.
        source: TemplateError,
    },
    /// A required variable without a value (compose: "error while
    /// interpolating ...").
    #[error("{path}: {source}")]
    Required {
        /// Where the leaf is.
        path: KeyPath,
        /// The template error (its message is the `${VAR:?message}` text).
        source: TemplateError,
    },
}

impl TreeError {
    /// The key path of the leaf that failed.
    pub fn path(&self) -> &KeyPath {
        match self {
            TreeError::InvalidFormat { path, .. } | TreeError::Required { path, .. } => path,
        }
    }

    fn at(path: KeyPath, source: TemplateError) -> TreeError {
        match source {
            TemplateError::Invalid { .. } => TreeError::InvalidFormat { path, source },
            TemplateError::MissingRequired { .. } => TreeError::Required { path, source },
        }
    }
}

/// Substitutes every string leaf of `tree` with the variables `lookup` knows.
pub fn interpolate_tree(
    tree: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, TreeError> {
    interpolate_tree_reporting(tree, lookup, &mut |_, _| {})
}

/// Like [`interpolate_tree`], calling `on_unset(path, name)` for each unset
/// variable that is used (compose warns "The X variable is not set").
pub fn interpolate_tree_reporting(
    tree: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    on_unset: &mut dyn FnMut(&KeyPath, &str),
) -> Result<Value, TreeError> {
    walk(tree, &KeyPath::default(), lookup, on_unset)
}

fn walk(
    value: &Value,
    path: &KeyPath,
    lookup: &dyn Fn(&str) -> Option<String>,
    on_unset: &mut dyn FnMut(&KeyPath, &str),
) -> Result<Value, TreeError> {
    match value {
        Value::String(text) => substitute_reporting(text, lookup, &mut |name| on_unset(path, name))
            .map(Value::String)
            .map_err(|e| TreeError::at(path.clone(), e)),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, elem) in map {
                let child = path.child(PathPart::Key(key.clone()));
                out.insert(key.clone(), walk(elem, &child, lookup, on_unset)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, elem)| walk(elem, &path.child(PathPart::Index(i)), lookup, on_unset))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        (name == "USER").then(|| "jenny".to_string())
    }

    #[test]
    fn every_string_leaf_is_substituted_and_keys_are_not() {
        let tree = json!({"services": {"$USER": {"image": "x:${USER}", "ports": [80, "${USER}"],
            "init": true, "x": null}}});
        let out = interpolate_tree(&tree, &env).unwrap();
        assert_eq!(
            out,
            json!({"services": {"$USER": {"image": "x:jenny", "ports": [80, "jenny"],
                "init": true, "x": null}}})
        );
    }

    #[test]
    fn errors_name_the_key_path() {
        let tree = json!({"services": {"web": {"ports": ["8080", "${P:?set P}"]}}});
        let err = interpolate_tree(&tree, &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "services.web.ports[1]: required variable P is missing a value: set P"
        );
        let tree = json!({"services": {"web": {"image": "${"}}});
        let err = interpolate_tree(&tree, &env).unwrap_err();
        assert_eq!(err.path().to_string(), "services.web.image");
        assert!(err.to_string().contains(r#"Invalid template: "${""#), "{err}");
    }

    #[test]
    fn unset_variables_are_reported_with_their_path() {
        let tree = json!({"a": ["$X"]});
        let mut seen = Vec::new();
        interpolate_tree_reporting(&tree, &env, &mut |p, n| seen.push(format!("{p} {n}"))).unwrap();
        assert_eq!(seen, ["a[0] X"]);
    }
}
