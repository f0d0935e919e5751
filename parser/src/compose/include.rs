//! `include` (compose-go's `loader/include.go` at e70e961c): other compose
//! projects loaded on their own and their resources added to this file.
//!
//! - entries are a path string, or `{path, project_directory, env_file}`
//!   where `path` may list several files (the first is the project, the
//!   others its overrides);
//! - relative paths are relative to the including project's working
//!   directory; the included project's directory is `project_directory`
//!   or the folder of its first file; its env files default to `.env` in
//!   that directory when that is a file (`/dev/null` entries are skipped; a
//!   named env file must exist), and their variables are added to the
//!   environment its files are interpolated with ([`FileHost::env_files`]),
//!   a variable already set keeping its value (compose-go's `Mapping.Merge`);
//! - the included files go through the whole per-file pipeline (their own
//!   includes and extends too); their relative paths are then rebased on
//!   their folder ([`rebase`](super::extends::rebase));
//! - a file that includes itself, directly or not, is refused
//!   (`include cycle detected`);
//! - resources (`services`, `volumes`, `networks`, `secrets`, `configs`,
//!   `models`) are added; one also defined locally is merged, the local
//!   definition over the included one (after the local `!reset` paths are
//!   cleared from the included one). This follows compose-go at this
//!   commit, which merges where older docker compose refused the conflict.

use std::path::{Path, PathBuf};

use super::extends::rebase;
use super::files::{empty_map, file_error, ComposeFile, FileCx, FileHost, Loader};
use super::merge::{merge_at, MergeError};
use super::path::TreePath;
use super::reset::Resets;
use super::tree;
use super::yaml::{Node, Pos, Value};

/// The deepest chain of includes followed. Cycles are found by path; this
/// bound also stops chains whose paths keep changing (a folder linked to
/// itself), which would otherwise recurse without end.
pub const MAX_NESTING: usize = 64;

const RESOURCES: [&str; 6] = [
    "services", "volumes", "networks", "secrets", "configs", "models",
];

/// One `include` entry.
#[derive(Debug, Clone)]
struct Include {
    /// Where the entry is written (errors about it point there).
    pos: Pos,
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Vec<String>,
}

/// Loads the includes of `doc` (read from `file`) and adds their resources;
/// `included` is the chain of including files, this one last.
pub(crate) fn apply(
    loader: &Loader<'_>,
    doc: &mut Node,
    file: &str,
    cx: &FileCx,
    included: &[PathBuf],
    resets: &Resets,
) -> Result<(), MergeError> {
    let Value::Map(top) = &mut doc.value else {
        return Ok(());
    };
    let Some(list) = tree::remove(top, "include") else {
        return Ok(());
    };
    for entry in entries(&list, file)? {
        let imported = load_one(loader, &entry, file, cx, included)?;
        import_resources(imported, doc, file, resets)?;
    }
    Ok(())
}

fn entries(list: &Node, file: &str) -> Result<Vec<Include>, MergeError> {
    let items = match &list.value {
        Value::Null => return Ok(Vec::new()),
        Value::Seq(items) => items,
        _ => {
            let reason = format!("`include` must be a list, got {}", list.kind());
            return Err(MergeError::invalid(file, list.pos, reason));
        }
    };
    items.iter().map(|item| entry(item, file)).collect()
}

fn entry(item: &Node, file: &str) -> Result<Include, MergeError> {
    let bad = |n: &Node, what: &str| MergeError::invalid(file, n.pos, format!("include: {what}"));
    match &item.value {
        Value::Str(s) => Ok(Include {
            pos: item.pos,
            paths: vec![s.clone()],
            project_directory: None,
            env_files: Vec::new(),
        }),
        Value::Map(_) => {
            let paths = match item.get("path") {
                Some(p) => strings(p)
                    .ok_or_else(|| bad(p, "path must be a string or a list of strings"))?,
                None => Vec::new(),
            };
            if paths.is_empty() {
                return Err(bad(item, "path is required"));
            }
            let project_directory = match item.get("project_directory") {
                None => None,
                Some(d) => Some(
                    d.as_str()
                        .ok_or_else(|| bad(d, "project_directory must be a string"))?
                        .to_string(),
                ),
            };
            let env_files = match item.get("env_file") {
                None => Vec::new(),
                Some(e) => strings(e)
                    .ok_or_else(|| bad(e, "env_file must be a string or a list of strings"))?,
            };
            Ok(Include {
                pos: item.pos,
                paths,
                project_directory: project_directory.filter(|d| !d.is_empty()),
                env_files,
            })
        }
        _ => Err(bad(item, "an entry must be a path or a mapping")),
    }
}

/// A string or a list of strings.
fn strings(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        Value::Str(s) => Some(vec![s.clone()]),
        Value::Seq(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// Loads one included project: its files merged, paths rebased.
fn load_one(
    loader: &Loader<'_>,
    inc: &Include,
    file: &str,
    cx: &FileCx,
    included: &[PathBuf],
) -> Result<Node, MergeError> {
    let files: Vec<PathBuf> = inc
        .paths
        .iter()
        .map(|p| absolute(&cx.working_dir, p))
        .collect();
    let first = &files[0];
    if included.len() >= MAX_NESTING {
        let reason = format!("include: more than {MAX_NESTING} nested includes");
        return Err(MergeError::invalid(file, inc.pos, reason));
    }
    let seen = |p: &PathBuf| rebase::clean(p) == rebase::clean(first);
    if included.iter().any(seen) {
        let chain: Vec<String> = included
            .iter()
            .chain([first])
            .map(|p| p.display().to_string())
            .collect();
        let reason = format!("include cycle detected: {}", chain.join(" include "));
        return Err(MergeError::invalid(file, inc.pos, reason));
    }
    if let Some(missing) = files.iter().find(|f| !loader.host.is_file(f)) {
        let reason = format!("include: cannot read {}: not a file", missing.display());
        return Err(MergeError::invalid(file, inc.pos, reason));
    }
    let (project_dir, rel_dir) = match &inc.project_directory {
        None => (
            rebase::parent(first),
            relative_dir(loader.host, &cx.working_dir, first),
        ),
        Some(d) if Path::new(d).is_absolute() => (PathBuf::from(d), PathBuf::from(d)),
        Some(d) => (
            absolute(&cx.working_dir, d),
            relative_dir(loader.host, &cx.working_dir, &absolute(&cx.working_dir, d)),
        ),
    };
    let env_files = env_files(loader.host, inc, &cx.working_dir, &project_dir, file)?;
    let mut env = cx.env.clone();
    let added = loader
        .host
        .env_files(&env_files, &cx.env)
        .map_err(|r| file_error(file, r))?;
    // compose-go's `Mapping.Merge`: a variable already set keeps its value.
    for (k, v) in added {
        env.entry(k).or_insert(v);
    }
    let sub = FileCx {
        working_dir: project_dir,
        env,
        included: included.to_vec(),
        ..cx.clone()
    };
    let mut dict = empty_map();
    for path in files {
        let input = ComposeFile { path, text: None };
        dict = loader.load_file(&input, dict, &sub)?.0;
    }
    rebase::rebase(&mut dict, &rel_dir);
    Ok(dict)
}

/// `path` joined to `dir` unless absolute, cleaned.
fn absolute(dir: &Path, path: &str) -> PathBuf {
    PathBuf::from(rebase::join(dir, path))
}

/// compose-go's `localResourceLoader.Dir`: the folder (the path itself when
/// it is a directory) relative to the working directory when it is inside.
fn relative_dir(host: &dyn FileHost, working_dir: &Path, path: &Path) -> PathBuf {
    let dir = if host.is_dir(path) {
        PathBuf::from(rebase::clean(path))
    } else {
        rebase::parent(path)
    };
    let base = PathBuf::from(rebase::clean(working_dir));
    match dir.strip_prefix(&base) {
        Ok(rel) if base != Path::new(".") => PathBuf::from(rebase::clean(rel)),
        _ => dir,
    }
}

fn env_files(
    host: &dyn FileHost,
    inc: &Include,
    working_dir: &Path,
    project_dir: &Path,
    file: &str,
) -> Result<Vec<PathBuf>, MergeError> {
    if inc.env_files.is_empty() {
        let default = project_dir.join(".env");
        return Ok(if host.is_file(&default) {
            vec![default]
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    for f in inc.env_files.iter().filter(|f| *f != "/dev/null") {
        let path = absolute(working_dir, f);
        if !Path::new(f).is_absolute() {
            if host.is_dir(&path) {
                return Err(file_error(
                    file,
                    format!("{} is not a file", path.display()),
                ));
            }
            if !host.is_file(&path) {
                let reason = format!("couldn't find env file: {}", path.display());
                return Err(file_error(file, reason));
            }
        }
        out.push(path);
    }
    Ok(out)
}

/// `importResources`: the included resources added to `doc`; a name also
/// defined in `doc` is merged, `doc`'s definition over the included one.
fn import_resources(
    imported: Node,
    doc: &mut Node,
    file: &str,
    resets: &Resets,
) -> Result<(), MergeError> {
    let Value::Map(from_top) = imported.value else {
        return Ok(());
    };
    let Value::Map(top) = &mut doc.value else {
        return Ok(());
    };
    for (key, from) in from_top {
        if !RESOURCES.contains(&key.text.as_str()) || matches!(from.value, Value::Null) {
            continue;
        }
        let Value::Map(from) = from.value else {
            let reason = format!("{} must be a mapping", key.text);
            return Err(MergeError::invalid(file, from.pos, reason));
        };
        let slot = tree::index(top, &key.text);
        let mut to = match slot.map(|i| std::mem::replace(&mut top[i].1, Node::new(Value::Null))) {
            None => Vec::new(),
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => entries,
            Some(other) => {
                let reason = format!("{} must be a mapping", key.text);
                return Err(MergeError::invalid(file, other.pos, reason));
            }
        };
        for (name, a) in from {
            let Some(i) = tree::index(&to, &name.text) else {
                to.push((name, a));
                continue;
            };
            let a = cleared(a, &key.text, &name.text, resets);
            let local = std::mem::replace(&mut to[i].1, Node::new(Value::Null));
            let path = TreePath::from_parts([key.text.as_str(), name.text.as_str()]);
            to[i].1 = merge_at(a, local, &path, file)?;
        }
        match slot {
            Some(i) => top[i].1.value = Value::Map(to),
            None => top.push((key, Node::new(Value::Map(to)))),
        }
    }
    Ok(())
}

/// `value` (the included `kind.name`) with the local reset paths cleared.
fn cleared(value: Node, kind: &str, name: &str, resets: &Resets) -> Node {
    let pos = value.pos;
    let inner = Node::new(Value::Map(vec![(tree::key(name, pos), value)]));
    let mut wrapped = Node::new(Value::Map(vec![(tree::key(kind, pos), inner)]));
    resets.apply(&mut wrapped);
    wrapped
        .get(kind)
        .and_then(|k| k.get(name))
        .cloned()
        .unwrap_or_else(|| Node::new(Value::Null))
}
