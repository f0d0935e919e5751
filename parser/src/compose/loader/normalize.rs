//! compose-go's `Normalize` on the merged model: the implicit `default`
//! network, `<project>_<key>` resource names, `depends_on` entries implied by
//! `links`, `network_mode`/`ipc`/`pid`/`uts`/`cgroup: service:X` and
//! `volumes_from`, build defaults, `build.args` and `environment` entries
//! without a value taken from the environment, `pre_start` hooks inheriting
//! the service image.

use std::collections::HashMap;

use super::super::yaml::{Key, Node, Value};
use super::canonical::{map, model_get_mut, set, str_node};

fn key(text: &str) -> Key {
    Key {
        text: text.to_string(),
        pos: Default::default(),
    }
}

/// Normalises `model` (a mapping) for project `name` with environment `env`.
pub fn normalize(model: &mut Node, name: &str, env: &HashMap<String, String>) {
    set(model, "name", str_node(name));
    normalize_networks(model);
    if let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) {
        for (_, service) in services.iter_mut() {
            if matches!(service.value, Value::Null) {
                service.value = Value::Map(Vec::new());
            }
            normalize_service(service, env);
        }
    }
    set_names(model, name);
}

fn normalize_service(service: &mut Node, env: &HashMap<String, String>) {
    if service.get("pull_policy").and_then(Node::as_str) == Some("if_not_present") {
        set(service, "pull_policy", str_node("missing"));
    }
    if let Some(build) = model_get_mut(service, "build") {
        if matches!(build.value, Value::Map(_)) {
            if build.get("context").is_none() {
                set(build, "context", str_node("."));
            }
            if build.get("dockerfile").is_none() && build.get("dockerfile_inline").is_none() {
                set(build, "dockerfile", str_node("Dockerfile"));
            }
            if let Some(args) = model_get_mut(build, "args") {
                resolve(args, env, false);
            }
        }
    }
    if let Some(environment) = model_get_mut(service, "environment") {
        resolve(environment, env, true);
    }
    implied_depends_on(service);
    if let Some(Value::Seq(volumes)) = model_get_mut(service, "volumes").map(|v| &mut v.value) {
        for volume in volumes.iter_mut() {
            if let Some(target) = volume.get("target").and_then(Node::as_str) {
                let cleaned = super::canonical::clean_target(target);
                set(volume, "target", str_node(&cleaned));
            }
        }
    }
    inherit_pre_start_image(service);
}

/// Adds the dependencies that other attributes imply, never replacing an
/// explicit entry.
fn implied_depends_on(service: &mut Node) {
    let mut implied: Vec<(String, bool)> = Vec::new();
    if let Some(Value::Seq(links)) = service.get("links").map(|l| &l.value) {
        for link in links.iter().filter_map(Node::as_str) {
            let parts: Vec<&str> = link.split(':').collect();
            let target = if parts.len() == 2 { parts[0] } else { link };
            implied.push((target.to_string(), true));
        }
    }
    for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
        if let Some(shared) = service
            .get(ns)
            .and_then(Node::as_str)
            .and_then(|r| r.strip_prefix("service:"))
        {
            implied.push((shared.to_string(), true));
        }
    }
    if let Some(Value::Seq(from)) = service.get("volumes_from").map(|l| &l.value) {
        for v in from
            .iter()
            .filter_map(Node::as_str)
            .filter(|v| !v.starts_with("container:"))
        {
            implied.push((v.split(':').next().unwrap_or(v).to_string(), false));
        }
    }
    if implied.is_empty() {
        return;
    }
    if service.get("depends_on").is_none() {
        set(service, "depends_on", Node::new(Value::Map(Vec::new())));
    }
    let Some(Value::Map(deps)) = model_get_mut(service, "depends_on").map(|d| &mut d.value) else {
        return;
    };
    for (name, restart) in implied {
        if deps.iter().any(|(k, _)| k.text == name) {
            continue;
        }
        let dep = map(vec![
            ("condition", str_node("service_started")),
            ("restart", Node::new(Value::Bool(restart))),
            ("required", Node::new(Value::Bool(true))),
        ]);
        deps.push((key(&name), dep));
    }
}

/// Resolves entries without a value from `env` (`KEY` in a list, `KEY:`
/// null in a mapping). Unresolved ones are kept (`keep_empty`, environment)
/// or dropped (build args).
fn resolve(value: &mut Node, env: &HashMap<String, String>, keep_empty: bool) {
    match &mut value.value {
        Value::Seq(items) => items.retain_mut(|item| {
            let Some(s) = item.as_str() else { return true };
            if s.contains('=') {
                return true;
            }
            match env.get(s) {
                Some(v) => {
                    item.value = Value::Str(format!("{s}={v}"));
                    true
                }
                None => keep_empty,
            }
        }),
        Value::Map(entries) => entries.retain_mut(|(k, v)| {
            if !matches!(v.value, Value::Null) {
                return true;
            }
            match env.get(&k.text) {
                Some(found) => {
                    v.value = Value::Str(found.clone());
                    true
                }
                None => keep_empty,
            }
        }),
        _ => {}
    }
}

fn inherit_pre_start_image(service: &mut Node) {
    let Some(image) = service
        .get("image")
        .and_then(Node::as_str)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
    else {
        return;
    };
    if let Some(Value::Seq(hooks)) = model_get_mut(service, "pre_start").map(|h| &mut h.value) {
        for hook in hooks.iter_mut() {
            if hook.get("image").is_none() {
                set(hook, "image", str_node(&image));
            }
        }
    }
}

/// Attaches services with no network (and no `network_mode`/`provider`) to
/// `default`, and declares `default` when some service uses it.
fn normalize_networks(model: &mut Node) {
    let mut uses_default = false;
    if let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) {
        for (_, service) in services.iter_mut() {
            if matches!(service.value, Value::Null) {
                service.value = Value::Map(Vec::new());
            }
            if service.get("provider").is_some() || service.get("network_mode").is_some() {
                continue;
            }
            let attach = match service.get("networks").map(|n| &n.value) {
                None | Some(Value::Null) => true,
                Some(Value::Map(m)) if m.is_empty() => true,
                Some(Value::Seq(s)) if s.is_empty() => true,
                Some(net) => {
                    uses_default |=
                        matches!(net, Value::Map(m) if m.iter().any(|(k, _)| k.text == "default"));
                    false
                }
            };
            if attach {
                set(
                    service,
                    "networks",
                    map(vec![("default", Node::new(Value::Null))]),
                );
                uses_default = true;
            }
        }
    }
    if !uses_default {
        return;
    }
    if model
        .get("networks")
        .is_none_or(|n| matches!(n.value, Value::Null))
    {
        set(model, "networks", Node::new(Value::Map(Vec::new())));
    }
    if let Some(Value::Map(networks)) = model_get_mut(model, "networks").map(|n| &mut n.value) {
        if !networks.iter().any(|(k, _)| k.text == "default") {
            networks.push((key("default"), Node::new(Value::Null)));
        }
    }
}

/// Resources with no `name` are named `<project>_<key>`, or `<key>` when
/// external.
fn set_names(model: &mut Node, project: &str) {
    for kind in ["networks", "volumes", "configs", "secrets"] {
        let Some(Value::Map(resources)) = model_get_mut(model, kind).map(|r| &mut r.value) else {
            continue;
        };
        for (k, resource) in resources.iter_mut() {
            if !matches!(resource.value, Value::Map(_)) {
                resource.value = Value::Map(Vec::new());
            }
            if resource
                .get("name")
                .is_some_and(|n| !matches!(n.value, Value::Null))
            {
                continue;
            }
            let external = resource.get("external").is_some_and(is_true);
            let name = if external {
                k.text.clone()
            } else {
                format!("{project}_{}", k.text)
            };
            set(resource, "name", str_node(&name));
        }
    }
}

/// Go's `strconv.ParseBool(fmt.Sprint(x))`.
pub fn is_true(node: &Node) -> bool {
    match &node.value {
        Value::Bool(b) => *b,
        Value::Int(1) => true,
        Value::Str(s) => matches!(s.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}
