//! The model as compose-go binds it into its `types.Project` (what `config`
//! prints): each service's `env_file`s and `environment` resolved into one
//! mapping, `labels`/`build.args`/`sysctls`/`annotations` lists as
//! mappings, `command`/`entrypoint` strings split like a shell, healthcheck
//! tests in their list form, `restart: false` dependencies written short.

use std::collections::HashMap;

use super::super::env_files::{self, EnvFile};
use super::super::yaml::{Key, Node, Value};
use super::canonical::{model_get_mut, set};
use super::error::LoadError;
use super::source::FileSource;

/// Resolves every service's environment: its `env_file`s read through `fs`,
/// `environment` on top, bare names from `env` (compose-go's
/// `WithServicesEnvironmentResolved`).
pub fn resolve_environment(
    model: &mut Node,
    env: &HashMap<String, String>,
    fs: &dyn FileSource,
) -> Result<(), LoadError> {
    let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) else {
        return Ok(());
    };
    for (name, service) in services.iter_mut() {
        let own = service.get("environment").map(pairs).unwrap_or_default();
        let mut texts: Vec<(String, String)> = Vec::new();
        if let Some(Value::Seq(files)) = service.get("env_file").map(|f| &f.value) {
            for file in files {
                let (path, required) = match &file.value {
                    Value::Str(p) => (p.clone(), true),
                    Value::Map(_) => (
                        file.get("path")
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_string(),
                        !matches!(
                            file.get("required").map(|r| &r.value),
                            Some(Value::Bool(false))
                        ),
                    ),
                    _ => continue,
                };
                match fs.read(&path) {
                    Ok(text) => texts.push((path, text)),
                    Err(_) if !required => {}
                    Err(reason) => {
                        let msg = format!(
                            "service {:?}: env file {path} not found: {reason}",
                            name.text
                        );
                        return Err(LoadError::Project(msg));
                    }
                }
            }
        }
        if own.is_empty() && texts.is_empty() {
            continue;
        }
        let files: Vec<EnvFile> = texts
            .iter()
            .map(|(name, text)| EnvFile { name, text })
            .collect();
        let lookup = |k: &str| env.get(k).cloned();
        let resolved = env_files::service_environment(&files, &own, &lookup)
            .map_err(|e| LoadError::Project(e.to_string()))?;
        let entries = resolved
            .into_iter()
            .map(|(k, v)| (key(&k), Node::new(v.map_or(Value::Null, Value::Str))))
            .collect();
        set(service, "environment", Node::new(Value::Map(entries)));
    }
    Ok(())
}

fn key(text: &str) -> Key {
    Key {
        text: text.to_string(),
        pos: Default::default(),
    }
}

/// A scalar as the string Go would print for it.
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `KEY=VALUE` list or mapping as ordered pairs (`None`: no value).
fn pairs(node: &Node) -> Vec<(String, Option<String>)> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(scalar_text)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (s, None),
            })
            .collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.text.clone(), scalar_text(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A `KEY=VALUE` list (or mapping) as a mapping; `empty` is the value of a
/// bare key (`""` for labels, null for environment).
fn as_mapping(node: &mut Node, empty: Option<&str>) {
    let entries = pairs(node)
        .into_iter()
        .map(|(k, v)| {
            let value = match v.or(empty.map(str::to_string)) {
                Some(s) => Value::Str(s),
                None => Value::Null,
            };
            (key(&k), Node::new(value))
        })
        .collect();
    node.value = Value::Map(entries);
}

/// Reshapes a loaded model into the bound project's printed form.
pub fn bind(model: &mut Node) {
    let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) else {
        return;
    };
    for (_, service) in services.iter_mut() {
        bind_service(service);
    }
}

fn bind_service(service: &mut Node) {
    for (k, empty) in [
        ("environment", None),
        ("labels", Some("")),
        ("annotations", Some("")),
        ("sysctls", Some("")),
    ] {
        if let Some(node) = model_get_mut(service, k) {
            as_mapping(node, empty);
        }
    }
    if let Some(args) = model_get_mut(service, "build").and_then(|b| model_get_mut(b, "args")) {
        as_mapping(args, None);
    }
    if let Some(labels) = model_get_mut(service, "build").and_then(|b| model_get_mut(b, "labels")) {
        as_mapping(labels, Some(""));
    }
    for k in ["command", "entrypoint"] {
        if let Some(node) = model_get_mut(service, k) {
            if let Value::Str(s) = &node.value {
                node.value = Value::Seq(
                    shell_split(s)
                        .into_iter()
                        .map(|w| Node::new(Value::Str(w)))
                        .collect(),
                );
            }
        }
    }
    if let Some(test) = model_get_mut(service, "healthcheck").and_then(|h| model_get_mut(h, "test"))
    {
        if let Value::Str(s) = &test.value {
            let items = vec![
                Node::new(Value::Str("CMD-SHELL".into())),
                Node::new(Value::Str(s.clone())),
            ];
            test.value = Value::Seq(items);
        }
    }
    if let Some(Value::Map(deps)) = model_get_mut(service, "depends_on").map(|d| &mut d.value) {
        for (_, dep) in deps.iter_mut() {
            if let Value::Map(entries) = &mut dep.value {
                entries.retain(|(k, v)| !(k.text == "restart" && v.value == Value::Bool(false)));
            }
        }
    }
}

/// Splits a command string into words as a POSIX shell would (quotes and
/// backslashes; no expansion), as compose-go's `shellwords` does.
pub fn shell_split(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.extend(chars.next());
                in_word = true;
            }
            '\'' => {
                cur.extend(chars.by_ref().take_while(|&c| c != '\''));
                in_word = true;
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
                in_word = true;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}
