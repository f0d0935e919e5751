//! Interpolation of a whole model tree: every string leaf substituted with
//! [`interpolate::substitute`](super::interpolate::substitute), as compose-go's
//! `interpolation.Interpolate` does before the model is validated. Mapping keys
//! are not substituted, numbers, booleans and nulls are left alone.
//!
//! [`interpolate_model`] also casts the strings at the key paths where compose
//! wants a number or a boolean (see [`interpolate_cast`](super::interpolate_cast)).
//!
//! Errors carry the key path of the leaf, written as kiln writes paths
//! (`services.web.ports[0]`), where compose-go writes `services.web.ports.[]`.

use super::interpolate::{substitute_reporting, TemplateError};
use super::interpolate_cast::{cast, compose_cast_for, Cast};
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
    #[error("{path}: invalid interpolation format (a literal $ is written $$): {error}")]
    InvalidFormat {
        /// Where the leaf is.
        path: KeyPath,
        /// The template error (shown in the message).
        error: TemplateError,
    },
    /// A required variable without a value (compose: "error while
    /// interpolating ...").
    #[error("{path}: {error}")]
    Required {
        /// Where the leaf is.
        path: KeyPath,
        /// The template error (its message is the `${VAR:?message}` text).
        error: TemplateError,
    },
    /// The interpolated string is not of the type the key wants.
    #[error("{path}: failed to cast to expected type: {reason}")]
    Cast {
        /// Where the leaf is.
        path: KeyPath,
        /// Why the cast failed (`invalid boolean: maybe`).
        reason: String,
    },
}

impl TreeError {
    /// The key path of the leaf that failed.
    pub fn path(&self) -> &KeyPath {
        match self {
            TreeError::InvalidFormat { path, .. }
            | TreeError::Required { path, .. }
            | TreeError::Cast { path, .. } => path,
        }
    }

    fn at(path: KeyPath, error: TemplateError) -> TreeError {
        match error {
            TemplateError::Invalid { .. } => TreeError::InvalidFormat { path, error },
            TemplateError::MissingRequired { .. } => TreeError::Required { path, error },
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
    let mut walker = Walker {
        lookup,
        on_unset,
        cast_for: &|_| None,
    };
    walker.walk(tree, &KeyPath::default())
}

/// Interpolates a compose model as compose-go's loader does: every string leaf
/// substituted, then the strings at typed keys cast (`replicas: "${N}"` becomes
/// a number, `init: "yes"` a boolean).
pub fn interpolate_model(
    tree: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    on_unset: &mut dyn FnMut(&KeyPath, &str),
) -> Result<Value, TreeError> {
    let mut walker = Walker {
        lookup,
        on_unset,
        cast_for: &compose_cast_for,
    };
    walker.walk(tree, &KeyPath::default())
}

struct Walker<'a, 'b> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    on_unset: &'b mut dyn FnMut(&KeyPath, &str),
    cast_for: &'a dyn Fn(&KeyPath) -> Option<Cast>,
}

impl Walker<'_, '_> {
    fn walk(&mut self, value: &Value, path: &KeyPath) -> Result<Value, TreeError> {
        match value {
            Value::String(text) => self.leaf(text, path),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (key, elem) in map {
                    let child = path.child(PathPart::Key(key.clone()));
                    out.insert(key.clone(), self.walk(elem, &child)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, elem)| self.walk(elem, &path.child(PathPart::Index(i))))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    fn leaf(&mut self, text: &str, path: &KeyPath) -> Result<Value, TreeError> {
        let on_unset = &mut *self.on_unset;
        let value = substitute_reporting(text, self.lookup, &mut |name| on_unset(path, name))
            .map_err(|e| TreeError::at(path.clone(), e))?;
        match (self.cast_for)(path) {
            None => Ok(Value::String(value)),
            Some(kind) => cast(kind, &value).map_err(|reason| TreeError::Cast {
                path: path.clone(),
                reason,
            }),
        }
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
        assert!(
            err.to_string().contains(r#"Invalid template: "${""#),
            "{err}"
        );
    }

    #[test]
    fn the_model_pass_casts_typed_keys() {
        let tree = json!({"services": {"web": {"init": "${INIT:-yes}", "ports": [{"target": "80"}],
            "image": "80", "deploy": {"replicas": "$N"}}}});
        let n = |name: &str| (name == "N").then(|| "3".to_string());
        let out = interpolate_model(&tree, &n, &mut |_, _| {}).unwrap();
        assert_eq!(
            out,
            json!({"services": {"web": {"init": true, "ports": [{"target": 80}],
                "image": "80", "deploy": {"replicas": 3}}}})
        );
        let tree = json!({"services": {"web": {"privileged": "${P:-maybe}"}}});
        let err = interpolate_model(&tree, &env, &mut |_, _| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "services.web.privileged: failed to cast to expected type: invalid boolean: maybe"
        );
    }

    #[test]
    fn unset_variables_are_reported_with_their_path() {
        let tree = json!({"a": ["$X"]});
        let mut seen = Vec::new();
        interpolate_tree_reporting(&tree, &env, &mut |p, n| seen.push(format!("{p} {n}"))).unwrap();
        assert_eq!(seen, ["a[0] X"]);
    }
}
