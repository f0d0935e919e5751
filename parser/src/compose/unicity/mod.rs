//! compose-go's `override.EnforceUnicity` (`override/uncity.go`, commit
//! e70e961c): in the sequences it knows, entries that define the same thing
//! twice are folded into one. The last definition wins and takes the place
//! of the first.
//!
//! What counts as "the same" per path ([`index_for`]): `KEY` of `KEY=VALUE`
//! strings (labels, environment, dns, cap_add, profiles, links...), the
//! container path of `volumes` and `devices`, the target of `secrets` and
//! `configs` (`/run/secrets/<name>` for a short secret), the whole text or
//! `host:published:target/protocol` of `ports`, the path of `env_file`.
//! Only mappings are walked: a sequence is not searched for nested rules.

mod volume;

use super::gofmt;
use super::merge::MergeError;
use super::path::TreePath;
use super::yaml::{Node, Value};

/// A rule: the entry and its path (`services.web.ports.[0]`) to its key.
type Indexer = fn(&Node, &TreePath) -> Result<String, String>;

const RULES: &[(&[&str], Indexer)] = &[
    (&["networks", "*", "labels"], key_value),
    (&["networks", "*", "ipam", "options"], key_value),
    (&["services", "*", "annotations"], key_value),
    (&["services", "*", "build", "args"], key_value),
    (
        &["services", "*", "build", "additional_contexts"],
        key_value,
    ),
    (&["services", "*", "build", "platform"], key_value),
    (&["services", "*", "build", "tags"], key_value),
    (&["services", "*", "build", "labels"], key_value),
    (&["services", "*", "cap_add"], key_value),
    (&["services", "*", "cap_drop"], key_value),
    (&["services", "*", "configs"], config_mount),
    (&["services", "*", "deploy", "labels"], key_value),
    (&["services", "*", "dns"], key_value),
    (&["services", "*", "dns_opt"], key_value),
    (&["services", "*", "dns_search"], key_value),
    (&["services", "*", "environment"], key_value),
    (&["services", "*", "env_file"], env_file),
    (&["services", "*", "expose"], expose),
    (&["services", "*", "labels"], key_value),
    (&["services", "*", "links"], key_value),
    (&["services", "*", "networks", "*", "aliases"], key_value),
    (
        &["services", "*", "networks", "*", "link_local_ips"],
        key_value,
    ),
    (&["services", "*", "ports"], port),
    (&["services", "*", "profiles"], key_value),
    (&["services", "*", "secrets"], secret_mount),
    (&["services", "*", "sysctls"], key_value),
    (&["services", "*", "tmpfs"], key_value),
    (&["services", "*", "volumes"], volume),
    // compose-go lists `devices` twice; the second entry (this one) wins.
    (&["services", "*", "devices"], device),
];

/// Applies the uniqueness rules to a whole tree (`file` names the file in
/// errors: an entry that cannot be indexed is always from the file just
/// merged, as earlier entries passed this check already).
pub fn enforce_unicity(tree: Node, file: &str) -> Result<Node, MergeError> {
    walk(tree, &TreePath::root(), file)
}

fn walk(node: Node, path: &TreePath, file: &str) -> Result<Node, MergeError> {
    match node.value {
        Value::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let next = path.next(&k.text);
                out.push((k, walk(v, &next, file)?));
            }
            Ok(Node {
                value: Value::Map(out),
                ..node
            })
        }
        Value::Seq(items) => match index_for(path) {
            Some(indexer) => {
                let items = fold(items, indexer, path, file)?;
                Ok(Node {
                    value: Value::Seq(items),
                    ..node
                })
            }
            None => Ok(Node {
                value: Value::Seq(items),
                ..node
            }),
        },
        _ => Ok(node),
    }
}

/// The rule for a sequence at `path`, if any.
fn index_for(path: &TreePath) -> Option<Indexer> {
    RULES
        .iter()
        .rev()
        .find(|(p, _)| path.matches_parts(p))
        .map(|(_, i)| *i)
}

fn fold(
    items: Vec<Node>,
    indexer: Indexer,
    path: &TreePath,
    file: &str,
) -> Result<Vec<Node>, MergeError> {
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    let mut keys: Vec<(String, usize)> = Vec::new();
    for (i, entry) in items.into_iter().enumerate() {
        let key = indexer(&entry, &path.next(&format!("[{i}]")))
            .map_err(|reason| MergeError::invalid(file, entry.pos, reason))?;
        match keys.iter().find(|(k, _)| *k == key) {
            Some(&(_, j)) => out[j] = entry,
            None => {
                keys.push((key, out.len()));
                out.push(entry);
            }
        }
    }
    Ok(out)
}

fn key_value(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Str(s) => Ok(s.split_once('=').map_or(s.as_str(), |(k, _)| k).to_string()),
        _ => Err(format!("{p}: unexpected type {}", gofmt::type_name(v))),
    }
}

fn volume(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Map(_) => match v.get("target").and_then(Node::as_str) {
            Some(t) => Ok(t.to_string()),
            None => Err(format!("service volume {p} is missing a mount target")),
        },
        Value::Str(s) => volume::target(s),
        _ => Ok(String::new()),
    }
}

fn device(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Map(_) => match v.get("target").and_then(Node::as_str) {
            Some(t) => Ok(t.to_string()),
            None => Err(format!("service device {p} is missing a mount target")),
        },
        Value::Str(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Ok(parts.get(1).unwrap_or(&parts[0]).to_string())
        }
        _ => Ok(String::new()),
    }
}

fn expose(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        _ => Err(format!("{p}: unsupported expose value {}", gofmt::s(v))),
    }
}

fn secret_mount(v: &Node, p: &TreePath) -> Result<String, String> {
    mount(v, p, "/run/secrets")
}

fn config_mount(v: &Node, p: &TreePath) -> Result<String, String> {
    mount(v, p, "")
}

/// `mountIndexer`: the target, or `<default>/<source>`.
fn mount(v: &Node, p: &TreePath, default: &str) -> Result<String, String> {
    match &v.value {
        Value::Str(s) => Ok(format!("{default}/{s}")),
        Value::Map(_) => match v.get("target") {
            Some(t) => t
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{p}.target: unexpected type {}", gofmt::type_name(t))),
            None => {
                let null = Node::new(Value::Null);
                Ok(format!(
                    "{default}/{}",
                    gofmt::s(v.get("source").unwrap_or(&null))
                ))
            }
        },
        _ => Err(format!("{p}: unsupported expose value {}", gofmt::s(v))),
    }
}

/// `portIndexer`: an int or a string as is; a long-syntax port as
/// `host_ip:published:target/protocol` with `0.0.0.0` and `tcp` defaults.
fn port(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Int(i) => Ok(i.to_string()),
        Value::Str(s) => Ok(s.clone()),
        Value::Map(_) => {
            let Some(target) = v.get("target") else {
                return Err(format!("service ports {p} is missing a target port"));
            };
            let null = Node::new(Value::Null);
            let published = v.get("published").unwrap_or(&null);
            let host = v.get("host_ip").map_or("0.0.0.0".into(), gofmt::s);
            let protocol = v.get("protocol").map_or("tcp".into(), gofmt::s);
            let (published, target) = (gofmt::s(published), gofmt::d(target));
            Ok(format!("{host}:{published}:{target}/{protocol}"))
        }
        _ => Ok(String::new()),
    }
}

fn env_file(v: &Node, p: &TreePath) -> Result<String, String> {
    match &v.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Map(_) => match v.get("path") {
            Some(path) => path
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{p}.path: unexpected type {}", gofmt::type_name(path))),
            None => Err(format!("environment path attribute {p} is missing")),
        },
        _ => Ok(String::new()),
    }
}
