//! Relative paths of a file read from another folder (an `extends.file`, an
//! included project) rebased on that folder, as compose-go's
//! `paths.ResolveRelativePaths` does with a relative base: `build: .` in
//! `sub/base.yaml` becomes `sub`.
//!
//! compose-go resolves on the canonical (long) form; this pass runs before
//! the canonical form exists, so it knows both forms: `build` as a string
//! or its `context`, `additional_contexts`, `env_file`/`label_file` as a
//! string, list of strings or list of `{path}`, `extends.file`, bind mounts
//! (long form `source`, short form `./src:/dst`), `develop.watch[].path`,
//! and top-level `configs`/`secrets` `file`. Absolute paths, `~` paths,
//! remote build contexts (`https://`, `git@`, `github.com/`, any `://`,
//! `service:`) and empty strings are left alone. Paths are joined and
//! cleaned lexically (Go's `filepath.Join`); nothing is looked up on disk.

use std::path::{Component, Path, PathBuf};

use crate::compose::yaml::{Node, Value};

/// Rebases the relative paths of `doc` (a whole compose tree) on `base`.
pub fn rebase(doc: &mut Node, base: &Path) {
    let Value::Map(top) = &mut doc.value else {
        return;
    };
    for (key, value) in top.iter_mut() {
        match key.text.as_str() {
            "services" => each_value(value, |service| rebase_service(service, base)),
            "configs" | "secrets" => each_value(value, |entry| field(entry, "file", base, plain)),
            _ => {}
        }
    }
}

/// Rebases the relative paths of one service definition on `base`.
pub fn rebase_service(service: &mut Node, base: &Path) {
    let Value::Map(entries) = &mut service.value else {
        return;
    };
    for (key, value) in entries.iter_mut() {
        match key.text.as_str() {
            "build" => build(value, base),
            "env_file" | "label_file" => file_list(value, base),
            "extends" => field(value, "file", base, plain),
            "volumes" => each_item(value, |v| volume(v, base)),
            "develop" => {
                if let Some(watch) = get_mut(value, "watch") {
                    each_item(watch, |w| field(w, "path", base, plain));
                }
            }
            _ => {}
        }
    }
}

fn build(value: &mut Node, base: &Path) {
    match &mut value.value {
        Value::Str(s) => *s = context(s, base),
        Value::Map(_) => {
            field(value, "context", base, context);
            if let Some(extra) = get_mut(value, "additional_contexts") {
                match &mut extra.value {
                    Value::Map(entries) => {
                        for (_, v) in entries.iter_mut() {
                            if let Value::Str(s) = &mut v.value {
                                *s = context(s, base);
                            }
                        }
                    }
                    Value::Seq(items) => {
                        for item in items.iter_mut() {
                            if let Value::Str(s) = &mut item.value {
                                if let Some((name, path)) = s.split_once('=') {
                                    *s = format!("{name}={}", context(path, base));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn file_list(value: &mut Node, base: &Path) {
    match &mut value.value {
        Value::Str(s) => *s = plain(s, base),
        Value::Seq(items) => {
            for item in items.iter_mut() {
                match &mut item.value {
                    Value::Str(s) => *s = plain(s, base),
                    Value::Map(_) => field(item, "path", base, plain),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn volume(value: &mut Node, base: &Path) {
    if value.get("type").and_then(Node::as_str) == Some("bind") {
        return field(value, "source", base, plain);
    }
    if let Value::Str(s) = &mut value.value {
        if s.starts_with('.') {
            let (source, rest) = s
                .split_once(':')
                .map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
            let source = plain(source, base);
            *s = match rest {
                Some(rest) => format!("{source}:{rest}"),
                None => source,
            };
        }
    }
}

/// A path relative to `base` when it is relative (`~` paths stay).
fn plain(path: &str, base: &Path) -> String {
    if path.is_empty() || path.starts_with('~') || Path::new(path).is_absolute() {
        return path.to_string();
    }
    join(base, path)
}

/// A build context: like [`plain`], remote contexts stay.
fn context(path: &str, base: &Path) -> String {
    const REMOTE: [&str; 6] = [
        "https://",
        "http://",
        "git://",
        "ssh://",
        "github.com/",
        "git@",
    ];
    if path.contains("://")
        || path.starts_with("service:")
        || REMOTE.iter().any(|p| path.starts_with(p))
    {
        return path.to_string();
    }
    plain(path, base)
}

fn field(node: &mut Node, name: &str, base: &Path, f: fn(&str, &Path) -> String) {
    if let Some(v) = get_mut(node, name) {
        if let Value::Str(s) = &mut v.value {
            *s = f(s, base);
        }
    }
}

fn get_mut<'a>(node: &'a mut Node, name: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.text == name)
            .map(|(_, v)| v),
        _ => None,
    }
}

fn each_value(node: &mut Node, mut f: impl FnMut(&mut Node)) {
    if let Value::Map(entries) = &mut node.value {
        entries.iter_mut().for_each(|(_, v)| f(v));
    }
}

fn each_item(node: &mut Node, mut f: impl FnMut(&mut Node)) {
    if let Value::Seq(items) = &mut node.value {
        items.iter_mut().for_each(&mut f);
    }
}

/// Go's `filepath.Join(base, path)`: joined, then cleaned lexically
/// (`.` dropped, `x/..` folded, `.` for nothing).
pub fn join(base: &Path, path: &str) -> String {
    clean(&base.join(path))
}

/// Go's `filepath.Clean` of a path, as text.
pub fn clean(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let absolute = path.is_absolute();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => match parts.last() {
                Some(last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push("..".into()),
            },
            _ => {}
        }
    }
    let text = parts.join("/");
    match (absolute, text.is_empty()) {
        (true, _) => format!("/{text}"),
        (false, true) => ".".into(),
        (false, false) => text,
    }
}

/// The folder of `file`, cleaned (`.` for a bare file name): the base its
/// relative paths are rebased on.
pub fn parent(file: &Path) -> PathBuf {
    PathBuf::from(clean(file.parent().unwrap_or(Path::new(""))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_go() {
        assert_eq!(join(Path::new("testdata/extends"), "."), "testdata/extends");
        assert_eq!(join(Path::new("."), "./a/../b"), "b");
        assert_eq!(join(Path::new("a"), "../../c"), "../c");
        assert_eq!(join(Path::new("/x"), "../.."), "/");
        assert_eq!(parent(Path::new("base.yaml")), PathBuf::from("."));
    }
}
