//! The model printed as `docker compose config` prints it: keys in the order
//! of compose-go's Go structs (top level `name, services, networks, volumes,
//! secrets, configs, models`; ports `mode, host_ip, target, published,
//! protocol`; mounts `type, source, target, ...`), mapping keys that are
//! names (services, environment, labels) sorted as Go sorts map keys. With
//! `--no-interpolate` compose prints the raw model, every key sorted.

use super::super::yaml::{self, Key, Node, Value};

const TOP: &[&str] = &[
    "name", "services", "networks", "volumes", "secrets", "configs", "models",
];
const PORT: &[&str] = &[
    "name",
    "mode",
    "host_ip",
    "target",
    "published",
    "protocol",
    "app_protocol",
];
const MOUNT: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
    "image",
];
const DEPENDENCY: &[&str] = &["condition", "restart", "required"];
const BUILD: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "entitlements",
    "args",
    "ssh",
    "labels",
    "cache_from",
    "cache_to",
    "no_cache",
    "additional_contexts",
    "network",
    "pull",
    "target",
    "shm_size",
    "extra_hosts",
    "isolation",
    "privileged",
    "secrets",
    "tags",
    "ulimits",
    "platforms",
];
const RESOURCE: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "attachable",
    "labels",
    "enable_ipv4",
    "enable_ipv6",
    "file",
    "environment",
    "content",
];
const FILE_MOUNT: &[&str] = &["source", "target", "uid", "gid", "mode"];

/// Orders every mapping of a bound project as compose-go's structs print.
pub fn order_project(model: &mut Node) {
    order_by(model, TOP);
    let Value::Map(top) = &mut model.value else {
        return;
    };
    for (k, v) in top.iter_mut() {
        match k.text.as_str() {
            "services" => {
                sort_keys(v);
                if let Value::Map(services) = &mut v.value {
                    services.iter_mut().for_each(|(_, s)| order_service(s));
                }
            }
            "networks" | "volumes" | "secrets" | "configs" | "models" => {
                sort_keys(v);
                if let Value::Map(resources) = &mut v.value {
                    resources
                        .iter_mut()
                        .for_each(|(_, r)| order_by(r, RESOURCE));
                }
            }
            _ => {}
        }
    }
}

fn order_service(service: &mut Node) {
    sort_keys(service);
    let Value::Map(entries) = &mut service.value else {
        return;
    };
    for (k, v) in entries.iter_mut() {
        match k.text.as_str() {
            "ports" => each(v, PORT),
            "volumes" => each(v, MOUNT),
            "secrets" | "configs" => each(v, FILE_MOUNT),
            "build" => order_by(v, BUILD),
            "environment" | "labels" | "annotations" | "sysctls" | "networks" => sort_keys(v),
            "depends_on" => {
                sort_keys(v);
                if let Value::Map(deps) = &mut v.value {
                    deps.iter_mut().for_each(|(_, d)| order_by(d, DEPENDENCY));
                }
            }
            _ => {}
        }
    }
}

fn each(node: &mut Node, order: &[&str]) {
    if let Value::Seq(items) = &mut node.value {
        items.iter_mut().for_each(|i| order_by(i, order));
    }
}

/// Known keys in `order` first, the rest after them, sorted.
fn order_by(node: &mut Node, order: &[&str]) {
    if let Value::Map(entries) = &mut node.value {
        let rank = |k: &Key| {
            order
                .iter()
                .position(|o| *o == k.text)
                .unwrap_or(order.len())
        };
        entries.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.text.cmp(&b.text)));
    }
}

fn sort_keys(node: &mut Node) {
    if let Value::Map(entries) = &mut node.value {
        entries.sort_by(|(a, _), (b, _)| a.text.cmp(&b.text));
    }
}

/// Every mapping's keys sorted, recursively (`--no-interpolate`).
pub fn sort_all(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.sort_by(|(a, _), (b, _)| a.text.cmp(&b.text));
            entries.iter_mut().for_each(|(_, v)| sort_all(v));
        }
        Value::Seq(items) => items.iter_mut().for_each(sort_all),
        _ => {}
    }
}

/// Block YAML, as `config --format yaml` prints.
pub fn to_yaml(model: &Node) -> String {
    yaml::emit(model)
}

/// JSON with the node's key order, indented by `indent` spaces.
pub fn to_json(model: &Node, indent: usize) -> String {
    let mut out = String::new();
    json_into(&mut out, model, indent, 0);
    out
}

fn json_into(out: &mut String, node: &Node, indent: usize, depth: usize) {
    let pad = |n: usize| " ".repeat(n * indent);
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in entries.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&serde_json::Value::String(k.text.clone()).to_string());
                out.push_str(": ");
                json_into(out, v, indent, depth + 1);
                out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                json_into(out, item, indent, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        _ => out.push_str(&node.to_json().to_string()),
    }
}
