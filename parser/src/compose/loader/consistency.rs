//! The checks compose-go makes on a loaded project (`loader/validate.go`
//! and the type decoders), with its messages: references to undefined
//! services, networks, volumes, secrets and configs, `network_mode` with
//! `networks`, `depends_on` cycles, `external` with driver settings, GPU
//! `count` vs `device_ids`, empty bind sources.

use std::collections::{BTreeSet, HashMap};

use super::super::yaml::{Node, Value};
use super::error::LoadError;
use super::normalize::is_true;

fn keys(node: Option<&Node>) -> BTreeSet<String> {
    match node.map(|n| &n.value) {
        Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.text.clone()).collect(),
        _ => BTreeSet::new(),
    }
}

fn err(msg: String) -> LoadError {
    LoadError::Project(msg)
}

/// Checks that hold whatever the options (compose-go decodes them while
/// binding the model): `external` with driver settings, devices, bind
/// sources.
pub fn check_always(model: &Node) -> Result<(), LoadError> {
    for kind in ["volumes", "networks"] {
        if let Some(Value::Map(resources)) = model.get(kind).map(|r| &r.value) {
            for (name, resource) in resources {
                if !resource.get("external").is_some_and(is_true) {
                    continue;
                }
                for attr in ["driver", "driver_opts", "labels"] {
                    if resource.get(attr).is_some() {
                        let msg = format!(
                            "{kind}.{}: conflicting parameters \"external\" and {attr:?} specified",
                            name.text
                        );
                        return Err(err(msg));
                    }
                }
            }
        }
    }
    if let Some(Value::Map(services)) = model.get("services").map(|s| &s.value) {
        for (_, service) in services {
            check_devices(service)?;
            check_binds(service)?;
        }
    }
    Ok(())
}

fn check_devices(service: &Node) -> Result<(), LoadError> {
    let devices = service
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("reservations"))
        .and_then(|r| r.get("devices"));
    let Some(Value::Seq(devices)) = devices.map(|d| &d.value) else {
        return Ok(());
    };
    for device in devices {
        match device.get("count").map(|c| &c.value) {
            Some(Value::Str(s)) if s != "all" && s.parse::<i64>().is_err() => {
                return Err(err(format!(
                    "invalid value {s:?}, the only value allowed is 'all' or a number"
                )));
            }
            Some(_) if device.get("device_ids").is_some() => {
                return Err(err(
                    "\"count\" and \"device_ids\" attributes are exclusive".to_string()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_binds(service: &Node) -> Result<(), LoadError> {
    let Some(Value::Seq(volumes)) = service.get("volumes").map(|v| &v.value) else {
        return Ok(());
    };
    for volume in volumes {
        let bind = volume.get("type").and_then(Node::as_str) == Some("bind");
        if bind
            && volume
                .get("source")
                .and_then(Node::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(err(
                "invalid mount config for type \"bind\": field Source must not be empty"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

/// compose-go's `checkConsistency` on the project (after profiles):
/// `disabled` are services switched off by profiles, which still exist.
pub fn check(model: &Node, disabled: &BTreeSet<String>) -> Result<(), LoadError> {
    let services = keys(model.get("services"));
    let networks = keys(model.get("networks"));
    let volumes = keys(model.get("volumes"));
    let Some(Value::Map(entries)) = model.get("services").map(|s| &s.value) else {
        return Ok(());
    };
    for (name, service) in entries {
        let name = &name.text;
        if service.get("image").is_none()
            && service.get("build").is_none()
            && service.get("provider").is_none()
        {
            let msg = format!("service {name:?} has neither an image nor a build context specified: invalid compose project");
            return Err(err(msg));
        }
        if service.get("network_mode").is_some()
            && service
                .get("networks")
                .is_some_and(|n| !keys(Some(n)).is_empty())
        {
            return Err(err(format!("service {name} declares mutually exclusive `network_mode` and `networks`: invalid compose project")));
        }
        for net in keys(service.get("networks")) {
            if !networks.contains(&net) {
                return Err(err(format!(
                    "service {name:?} refers to undefined network {net}: invalid compose project"
                )));
            }
        }
        for dep in keys(service.get("depends_on")) {
            if !services.contains(&dep) && !disabled.contains(&dep) {
                return Err(err(format!("service {name:?} depends on undefined service {dep:?}: invalid compose project")));
            }
        }
        check_volume_refs(name, service, &volumes)?;
        for kind in ["secrets", "configs"] {
            let defined = keys(model.get(kind));
            if let Some(Value::Seq(mounts)) = service.get(kind).map(|s| &s.value) {
                for source in mounts
                    .iter()
                    .filter_map(|m| m.get("source"))
                    .filter_map(Node::as_str)
                {
                    if !defined.contains(source) {
                        let what = &kind[..kind.len() - 1];
                        return Err(err(format!("service {name:?} refers to undefined {what} {source}: invalid compose project")));
                    }
                }
            }
        }
    }
    check_cycles(entries)
}

fn check_volume_refs(
    name: &str,
    service: &Node,
    volumes: &BTreeSet<String>,
) -> Result<(), LoadError> {
    let Some(Value::Seq(mounts)) = service.get("volumes").map(|v| &v.value) else {
        return Ok(());
    };
    for mount in mounts {
        let is_volume = mount.get("type").and_then(Node::as_str) == Some("volume");
        if let Some(source) = mount
            .get("source")
            .and_then(Node::as_str)
            .filter(|s| is_volume && !s.is_empty())
        {
            if !volumes.contains(source) {
                return Err(err(format!(
                    "service {name:?} refers to undefined volume {source}: invalid compose project"
                )));
            }
        }
    }
    Ok(())
}

/// A `depends_on` cycle, named as compose-go's graph walk names it.
fn check_cycles(services: &[(super::super::yaml::Key, Node)]) -> Result<(), LoadError> {
    let graph: HashMap<&str, Vec<String>> = services
        .iter()
        .map(|(k, s)| {
            (
                k.text.as_str(),
                keys(s.get("depends_on")).into_iter().collect(),
            )
        })
        .collect();
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut names: Vec<&str> = graph.keys().copied().collect();
    names.sort();
    for start in names {
        let mut stack = vec![start.to_string()];
        visit(start, &graph, &mut state, &mut stack)?;
    }
    Ok(())
}

fn visit<'a>(
    node: &'a str,
    graph: &'a HashMap<&str, Vec<String>>,
    state: &mut HashMap<&'a str, u8>,
    stack: &mut Vec<String>,
) -> Result<(), LoadError> {
    match state.get(node) {
        Some(2) => return Ok(()),
        Some(1) => {
            let from = stack.iter().position(|s| s == node).unwrap_or(0);
            return Err(err(format!(
                "dependency cycle detected: {}",
                stack[from..].join(" -> ")
            )));
        }
        _ => {}
    }
    state.insert(node, 1);
    for dep in graph.get(node).into_iter().flatten() {
        if let Some((name, _)) = graph.get_key_value(dep.as_str()) {
            stack.push(dep.clone());
            visit(name, graph, state, stack)?;
            stack.pop();
        }
    }
    state.insert(node, 2);
    Ok(())
}
