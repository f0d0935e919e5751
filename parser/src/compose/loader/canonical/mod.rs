//! The canonical (long-syntax) model, compose-go's `transform.Canonical` and
//! `transform.SetDefaultValues`: short forms become the mappings docker
//! compose prints (`ports`, `volumes`, `depends_on`, service `networks`,
//! `secrets`/`configs`, `build`, `external`), with their defaults.
//!
//! With interpolation off (`config --no-interpolate`) a short form that
//! does not parse (it still holds `${...}`) is kept as written, as compose-go
//! does with `ignoreParseError`.

pub mod ports;
pub mod volumes;

use super::super::yaml::{Key, Node, Value};
use super::error::LoadError;

/// A mapping node from `(key, value)` pairs, in order.
pub fn map(entries: Vec<(&str, Node)>) -> Node {
    let entries = entries
        .into_iter()
        .map(|(k, v)| {
            (
                Key {
                    text: k.to_string(),
                    pos: v.pos,
                },
                v,
            )
        })
        .collect();
    Node::new(Value::Map(entries))
}

/// A string node.
pub fn str_node(s: &str) -> Node {
    Node::new(Value::Str(s.to_string()))
}

/// A mount target cleaned as Go's `path.Clean` (empty stays empty).
pub fn clean_target(target: &str) -> String {
    if target.is_empty() {
        String::new()
    } else {
        super::source::clean(target)
    }
}

/// Sets `key` in mapping `node` (replacing a previous value).
pub fn set(node: &mut Node, key: &str, value: Node) {
    if let Value::Map(entries) = &mut node.value {
        match entries.iter_mut().find(|(k, _)| k.text == key) {
            Some((_, v)) => *v = value,
            None => entries.push((
                Key {
                    text: key.to_string(),
                    pos: value.pos,
                },
                value,
            )),
        }
    }
}

/// The canonical form of one file's tree (`file` names errors; `lenient`
/// keeps unparsable short forms, for `--no-interpolate`).
pub fn canonical(model: &mut Node, file: &str, lenient: bool) -> Result<(), LoadError> {
    let Value::Map(top) = &mut model.value else {
        return Ok(());
    };
    for (key, value) in top.iter_mut() {
        match key.text.as_str() {
            "services" => {
                if let Value::Map(services) = &mut value.value {
                    for (name, service) in services.iter_mut() {
                        let path = format!("services.{}", name.text);
                        service_canonical(service, file, &path, lenient)?;
                    }
                }
            }
            "networks" | "volumes" | "secrets" | "configs" => {
                if let Value::Map(resources) = &mut value.value {
                    for (name, resource) in resources.iter_mut() {
                        let path = format!("{}.{}", key.text, name.text);
                        maybe_external(resource, file, &path)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn service_canonical(
    service: &mut Node,
    file: &str,
    path: &str,
    lenient: bool,
) -> Result<(), LoadError> {
    let Value::Map(entries) = &mut service.value else {
        return Ok(());
    };
    for (key, value) in entries.iter_mut() {
        let at = format!("{path}.{}", key.text);
        match key.text.as_str() {
            "build" => {
                if let Value::Str(s) = &value.value {
                    *value = Node {
                        pos: value.pos,
                        ..map(vec![("context", str_node(s))])
                    };
                }
            }
            "depends_on" => depends_on(value),
            "networks" | "models" => list_to_null_map(value),
            "ports" => ports_canonical(value, file, &at, lenient)?,
            "volumes" => volumes_canonical(value, file, &at, lenient)?,
            "secrets" | "configs" => file_mounts(value, &key.text),
            "dns" | "label_file" => string_to_list(value),
            "env_file" => env_files(value),
            "devices" => devices(value, file, &at)?,
            _ => {}
        }
    }
    Ok(())
}

fn string_to_list(value: &mut Node) {
    if let Value::Str(_) = value.value {
        let item = value.clone();
        value.value = Value::Seq(vec![item]);
    }
}

/// `env_file: a.env` / `[a.env]` as `[{path: a.env, required: true}]`
/// (compose-go's `transformEnvFile`).
fn env_files(value: &mut Node) {
    string_to_list(value);
    let Value::Seq(items) = &mut value.value else {
        return;
    };
    for item in items.iter_mut() {
        if let Value::Str(path) = &item.value {
            let long = map(vec![
                ("path", str_node(path)),
                ("required", Node::new(Value::Bool(true))),
            ]);
            *item = Node {
                pos: item.pos,
                ..long
            };
        }
    }
}

/// `devices: ["/dev/a:/dev/b:rw"]` as `{source, target, permissions}`
/// (compose-go's `transformDeviceMapping`; permissions default to `rwm`).
fn devices(value: &mut Node, file: &str, path: &str) -> Result<(), LoadError> {
    let Value::Seq(items) = &mut value.value else {
        return Ok(());
    };
    for (i, item) in items.iter_mut().enumerate() {
        let Value::Str(spec) = &item.value else {
            continue;
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, permissions) = match parts.as_slice() {
            [s] => (*s, *s, "rwm"),
            [s, t] => (*s, if t.is_empty() { *s } else { *t }, "rwm"),
            [s, t, p] => (*s, if t.is_empty() { *s } else { *t }, *p),
            _ => {
                let reason = format!("confusing device mapping, please use long syntax: {spec}");
                return Err(LoadError::at(
                    file,
                    item.pos,
                    &format!("{path}[{i}]"),
                    reason,
                ));
            }
        };
        let long = map(vec![
            ("source", str_node(source)),
            ("target", str_node(target)),
            ("permissions", str_node(permissions)),
        ]);
        *item = Node {
            pos: item.pos,
            ..long
        };
    }
    Ok(())
}

fn depends_on(value: &mut Node) {
    let started = || {
        map(vec![
            ("condition", str_node("service_started")),
            ("required", Node::new(Value::Bool(true))),
        ])
    };
    match &mut value.value {
        Value::Seq(items) => value.value = Value::Map(names_to_entries(items, started)),
        Value::Map(entries) => {
            for (_, dep) in entries.iter_mut() {
                if matches!(dep.value, Value::Null) {
                    *dep = map(vec![]);
                }
                if dep.get("condition").is_none() {
                    set(dep, "condition", str_node("service_started"));
                }
                if dep.get("required").is_none() {
                    set(dep, "required", Node::new(Value::Bool(true)));
                }
            }
        }
        _ => {}
    }
}

fn list_to_null_map(value: &mut Node) {
    if let Value::Seq(items) = &value.value {
        value.value = Value::Map(names_to_entries(items, || Node::new(Value::Null)));
    }
}

/// A list of names as mapping entries (each name's position kept), each
/// with the value `make` gives; entries that are not strings are dropped.
fn names_to_entries(items: &[Node], make: impl Fn() -> Node) -> Vec<(Key, Node)> {
    items
        .iter()
        .filter_map(|i| {
            let key = Key {
                text: i.as_str()?.to_string(),
                pos: i.pos,
            };
            Some((key, make()))
        })
        .collect()
}

fn ports_canonical(
    value: &mut Node,
    file: &str,
    path: &str,
    lenient: bool,
) -> Result<(), LoadError> {
    let Value::Seq(items) = &value.value else {
        return Ok(());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let spec = match &item.value {
            Value::Int(n) => n.to_string(),
            Value::Str(s) => s.clone(),
            _ => {
                out.push(item.clone());
                continue;
            }
        };
        match ports::parse(&spec) {
            Ok(parsed) => out.extend(parsed.into_iter().map(|p| Node {
                pos: item.pos,
                ..port_node(p)
            })),
            Err(_) if lenient => return Ok(()),
            Err(reason) => {
                return Err(LoadError::at(
                    file,
                    item.pos,
                    &format!("{path}[{i}]"),
                    reason,
                ))
            }
        }
    }
    value.value = Value::Seq(out);
    Ok(())
}

fn port_node(p: ports::PortLong) -> Node {
    let mut entries = vec![("mode", str_node("ingress"))];
    if let Some(ip) = &p.host_ip {
        entries.push(("host_ip", str_node(ip)));
    }
    entries.push(("target", Node::new(Value::Int(p.target))));
    if let Some(published) = &p.published {
        entries.push(("published", str_node(published)));
    }
    entries.push(("protocol", str_node(&p.protocol)));
    map(entries)
}

fn volumes_canonical(
    value: &mut Node,
    file: &str,
    path: &str,
    lenient: bool,
) -> Result<(), LoadError> {
    let Value::Seq(items) = &mut value.value else {
        return Ok(());
    };
    for (i, item) in items.iter_mut().enumerate() {
        let Value::Str(spec) = &item.value else {
            continue;
        };
        match volumes::parse(spec) {
            Ok(long) => {
                *item = Node {
                    pos: item.pos,
                    ..long
                }
            }
            Err(_) if lenient => {}
            Err(reason) => {
                return Err(LoadError::at(
                    file,
                    item.pos,
                    &format!("{path}[{i}]"),
                    reason,
                ))
            }
        }
    }
    Ok(())
}

fn file_mounts(value: &mut Node, _kind: &str) {
    let Value::Seq(items) = &mut value.value else {
        return;
    };
    for item in items.iter_mut() {
        if let Value::Str(s) = &item.value {
            *item = Node {
                pos: item.pos,
                ..map(vec![("source", str_node(s))])
            };
        }
    }
}

/// `external: {name: x}` becomes `external: true` + `name: x`; a name that
/// disagrees with `external.name` is refused (compose-go's wording).
fn maybe_external(resource: &mut Node, file: &str, path: &str) -> Result<(), LoadError> {
    let Some(ext) = resource.get("external").cloned() else {
        return Ok(());
    };
    if !matches!(ext.value, Value::Map(_)) {
        return Ok(());
    }
    set(
        resource,
        "external",
        Node {
            pos: ext.pos,
            ..Node::new(Value::Bool(true))
        },
    );
    if let Some(ext_name) = ext.get("name") {
        match resource.get("name") {
            Some(name) if name.value != ext_name.value => {
                let reason = "name and external.name conflict; only use name";
                return Err(LoadError::at(file, ext.pos, path, reason));
            }
            Some(_) => {}
            None => set(resource, "name", ext_name.clone()),
        }
    }
    Ok(())
}

/// compose-go's `SetDefaultValues` on the merged model: build context `.`,
/// secret targets under `/run/secrets/`, port `mode`/`protocol`, bind
/// `create_host_path`.
pub fn set_defaults(model: &mut Node) {
    let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) else {
        return;
    };
    for (_, service) in services.iter_mut() {
        if let Some(build) = model_get_mut(service, "build") {
            if matches!(build.value, Value::Map(_)) && build.get("context").is_none() {
                set(build, "context", str_node("."));
            }
        }
        if let Some(Value::Seq(secrets)) = model_get_mut(service, "secrets").map(|s| &mut s.value) {
            for secret in secrets.iter_mut() {
                if secret.get("target").is_none() {
                    let source = secret
                        .get("source")
                        .and_then(Node::as_str)
                        .unwrap_or("")
                        .to_string();
                    set(
                        secret,
                        "target",
                        str_node(&format!("/run/secrets/{source}")),
                    );
                }
            }
        }
    }
}

/// The value under `key` of a mapping node, mutably.
pub fn model_get_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v),
        _ => None,
    }
}
