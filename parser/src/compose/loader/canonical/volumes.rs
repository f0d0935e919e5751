//! Short volume syntax to the long form (compose-go `format.ParseVolume`):
//! `[source:]target[:mode,...]`.
//!
//! Deliberately not [`crate::values::parse_volume`] (`docker run -v`, moby's
//! `ParseMountRaw`): docker compose reads this syntax with its own rules, and
//! they differ from `-v`'s where users notice: a relative or `~` source is a
//! bind mount here (`-v` takes it for a volume name), unknown mode words are
//! ignored here (`-v` refuses them), and `/data:ro` is source and target here.
//! Ports, by contrast, use the same parser for `-p` and `ports:`, as compose
//! does (`nat.ParsePortSpec`).

use super::super::super::yaml::{Node, Value};
use super::{map, str_node};

/// Parses `spec` into the long-syntax mapping docker compose prints.
pub fn parse(spec: &str) -> Result<Node, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(format!("invalid spec: {spec}: too many colons")),
    };
    if target.is_empty() {
        return Err(format!("invalid empty volume spec: {spec:?}"));
    }
    let bind = is_file_path(source);
    let kind = if bind { "bind" } else { "volume" };
    let mut entries = vec![("type", str_node(kind))];
    if !source.is_empty() {
        entries.push(("source", str_node(source)));
    }
    entries.push(("target", str_node(&super::clean_target(target))));
    let mut read_only = false;
    let mut bind_opts: Vec<(&str, Node)> = Vec::new();
    let mut volume_opts: Vec<(&str, Node)> = Vec::new();
    for option in mode.split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "nocopy" => volume_opts.push(("nocopy", Node::new(Value::Bool(true)))),
            "z" | "Z" => bind_opts.push(("selinux", str_node(option))),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                bind_opts.push(("propagation", str_node(option)))
            }
            _ => {}
        }
    }
    if read_only {
        entries.push(("read_only", Node::new(Value::Bool(true))));
    }
    if bind {
        bind_opts.push(("create_host_path", Node::new(Value::Bool(true))));
        entries.push(("bind", map(bind_opts)));
    } else {
        entries.push(("volume", map(volume_opts)));
    }
    Ok(map(entries))
}

/// A bind source is a path: it starts with `.`, `/` or `~`.
fn is_file_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}
