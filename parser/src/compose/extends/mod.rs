//! `extends` (compose-go's `loader/extends.go` at e70e961c): a service
//! starts from another service, of the same file or of another file, then
//! its own definition is merged over it with the merge rules
//! ([`merge_at`] at `services.x`, so service-level rules apply).
//!
//! - `extends: name` or `extends: {service: name, file: path}`; chains are
//!   followed (the base's own `extends` is applied first), and a service met
//!   twice on one chain is refused (`Circular reference:` and the chain, as
//!   compose-go prints it);
//! - `file` is relative to the project's working directory; that file is
//!   read with its own documents and `!reset`s but without its `include`,
//!   and the relative paths of what it defines (build contexts, env files,
//!   bind mounts, its own `extends.file`) are rebased on its folder
//!   ([`rebase`]), so `build: .` there names that file's folder;
//! - the extending file's `!reset`/`!override` paths are cleared from the
//!   base before the merge, so `ports: !reset []` drops the base's ports;
//! - a base service that is `null` leaves the extending service as written.

pub mod rebase;

use std::path::Path;

use super::files::{empty_map, ComposeFile, FileCx, Loader};
use super::merge::{merge_at, MergeError};
use super::path::TreePath;
use super::reset::Resets;
use super::tree;
use super::yaml::{Node, Value};

/// The longest extends chain followed. Cycles are found by name; this bound
/// also stops chains whose file names keep changing (a folder linked to
/// itself: `d/a.yaml` extending `d/a.yaml` reads `d/d/a.yaml`...), which
/// would otherwise recurse without end.
pub const MAX_CHAIN: usize = 64;

/// One service on an extends chain: the file that defines it, its name.
#[derive(Debug, Clone, PartialEq)]
struct ServiceRef {
    file: String,
    service: String,
}

/// Applies `extends` to every service of `doc` (read from `file`).
pub(crate) fn apply(
    loader: &Loader<'_>,
    doc: &mut Node,
    file: &str,
    cx: &FileCx,
    resets: &Resets,
) -> Result<(), MergeError> {
    let Value::Map(top) = &mut doc.value else {
        return Ok(());
    };
    let Some(i) = tree::index(top, "services") else {
        return Ok(());
    };
    let services = &mut top[i].1;
    if !matches!(services.value, Value::Map(_)) {
        return Err(MergeError::invalid(
            file,
            services.pos,
            "services must be a mapping",
        ));
    }
    let names: Vec<String> = service_names(services);
    let ext = Extender { loader, cx, resets };
    for name in names {
        ext.service(&name, services, file, &[])?;
    }
    Ok(())
}

fn service_names(services: &Node) -> Vec<String> {
    match &services.value {
        Value::Map(entries) => entries.iter().map(|(k, _)| k.text.clone()).collect(),
        _ => Vec::new(),
    }
}

struct Extender<'a, 'h> {
    loader: &'a Loader<'h>,
    cx: &'a FileCx,
    resets: &'a Resets,
}

/// Where a base service comes from.
enum Base {
    /// The same services mapping.
    Here,
    /// Another file: its services and its reset record.
    File(Node, Resets),
}

impl Extender<'_, '_> {
    /// `applyServiceExtends`: the service `name` of `services` with its
    /// extends applied (stored back into `services`); `None` for a null one.
    fn service(
        &self,
        name: &str,
        services: &mut Node,
        file: &str,
        chain: &[ServiceRef],
    ) -> Result<Option<Node>, MergeError> {
        let Some(service) = services.get(name).cloned() else {
            return Ok(None);
        };
        if matches!(service.value, Value::Null) {
            return Ok(None);
        }
        if !matches!(service.value, Value::Map(_)) {
            let reason = format!("services.{name} must be a mapping");
            return Err(MergeError::invalid(file, service.pos, reason));
        }
        let Some(extends) = service.get("extends") else {
            return Ok(Some(service));
        };
        let (reference, other) = target(extends, name, file)?;
        let (base_file, source) = match other {
            Some(path) => {
                let (svcs, resets) = self.base_file(name, &reference, file, &path)?;
                (path, Base::File(svcs, resets))
            }
            None if services.get(&reference).is_none() => {
                let reason = format!(
                    "cannot extend service {name:?} in {file}: service {reference:?} not found"
                );
                return Err(MergeError::invalid(file, extends.pos, reason));
            }
            None => (file.to_string(), Base::Here),
        };
        let chain = add_to_chain(chain, &base_file, name, file, extends)?;
        let base = match source {
            Base::Here => self.service(&reference, services, file, &chain)?,
            Base::File(mut svcs, resets) => {
                let other = Extender {
                    resets: &resets,
                    ..*self
                };
                other.service(&reference, &mut svcs, file, &chain)?
            }
        };
        let Some(base) = base else {
            return Ok(Some(service));
        };
        let merged = self.merge_over(name, base, service, file)?;
        if let Value::Map(entries) = &mut services.value {
            if let Some(i) = tree::index(entries, name) {
                entries[i].1 = merged.clone();
            }
        }
        Ok(Some(merged))
    }

    /// The extending service merged over its base (after this file's
    /// resets are cleared from the base), without `extends`.
    fn merge_over(
        &self,
        name: &str,
        base: Node,
        service: Node,
        file: &str,
    ) -> Result<Node, MergeError> {
        let mut wrapped = wrap_service(name, base);
        self.resets.apply(&mut wrapped);
        let base = unwrap_service(wrapped, name);
        let path = TreePath::from_parts(["services", "x"]);
        let mut merged = merge_at(base, service, &path, file)?;
        if let Value::Map(entries) = &mut merged.value {
            tree::remove(entries, "extends");
        }
        Ok(merged)
    }

    /// `getExtendsBaseFromFile`: the services of `path` (read without
    /// include and extends, paths rebased on its folder).
    fn base_file(
        &self,
        name: &str,
        reference: &str,
        file: &str,
        path: &str,
    ) -> Result<(Node, Resets), MergeError> {
        let local = self.cx.working_dir.join(path);
        let cx = FileCx {
            working_dir: rebase::parent(Path::new(path)),
            skip_include: true,
            skip_extends: true,
            included: Vec::new(),
            ..self.cx.clone()
        };
        let input = ComposeFile {
            path: local.clone(),
            text: None,
        };
        let (mut loaded, resets) = self.loader.load_file(&input, empty_map(), &cx)?;
        let shown = local.display().to_string();
        match loaded.get("services") {
            None => {
                let reason =
                    format!("cannot extend service {name:?} in {shown}: no services section");
                return Err(MergeError::invalid(file, loaded.pos, reason));
            }
            Some(s) if !matches!(s.value, Value::Map(_)) => {
                let reason = format!(
                    "cannot extend service {name:?} in {shown}: services must be a mapping"
                );
                return Err(MergeError::invalid(&shown, s.pos, reason));
            }
            Some(s) if s.get(reference).is_none() => {
                let reason = format!(
                    "cannot extend service {name:?} in {file}: service {reference:?} not found in {path}"
                );
                return Err(MergeError::invalid(file, s.pos, reason));
            }
            Some(_) => {}
        };
        rebase::rebase(&mut loaded, &cx.working_dir);
        let services = loaded.get("services").cloned().unwrap_or_else(empty_map);
        Ok((services, resets))
    }
}

/// `extends`' service name and file.
fn target(extends: &Node, name: &str, file: &str) -> Result<(String, Option<String>), MergeError> {
    match &extends.value {
        Value::Str(s) => Ok((s.clone(), None)),
        Value::Map(_) => {
            let Some(service) = extends.get("service").and_then(Node::as_str) else {
                let reason = format!("extends.{name}.service is required");
                return Err(MergeError::invalid(file, extends.pos, reason));
            };
            let other = match extends.get("file").map(|f| &f.value) {
                None | Some(Value::Null) => None,
                Some(Value::Str(f)) => Some(f.clone()),
                Some(_) => {
                    let reason = format!("services.{name}.extends.file must be a string");
                    return Err(MergeError::invalid(file, extends.pos, reason));
                }
            };
            Ok((service.to_string(), other))
        }
        _ => {
            let reason = format!("services.{name}.extends must be a string or a mapping");
            Err(MergeError::invalid(file, extends.pos, reason))
        }
    }
}

/// `cycleTracker.Add`: the chain with one more service, or compose-go's
/// "Circular reference" error when it is already on it.
fn add_to_chain(
    chain: &[ServiceRef],
    file: &str,
    service: &str,
    shown_in: &str,
    at: &Node,
) -> Result<Vec<ServiceRef>, MergeError> {
    let add = ServiceRef {
        file: file.to_string(),
        service: service.to_string(),
    };
    if chain.len() >= MAX_CHAIN {
        let reason = format!("extends chain of {service:?} is deeper than {MAX_CHAIN} services");
        return Err(MergeError::invalid(shown_in, at.pos, reason));
    }
    if chain.contains(&add) {
        let mut lines = vec![format!(
            "Circular reference: {} in {}",
            chain[0].service, chain[0].file
        )];
        for r in chain[1..].iter().chain(std::iter::once(&add)) {
            lines.push(format!("extends {} in {}", r.service, r.file));
        }
        return Err(MergeError::invalid(shown_in, at.pos, lines.join(", ")));
    }
    let mut next = chain.to_vec();
    next.push(add);
    Ok(next)
}

fn wrap_service(name: &str, service: Node) -> Node {
    let pos = service.pos;
    let inner = Node::new(Value::Map(vec![(tree::key(name, pos), service)]));
    Node::new(Value::Map(vec![(tree::key("services", pos), inner)]))
}

fn unwrap_service(wrapped: Node, name: &str) -> Node {
    wrapped
        .get("services")
        .and_then(|s| s.get(name))
        .cloned()
        .unwrap_or_else(empty_map)
}
