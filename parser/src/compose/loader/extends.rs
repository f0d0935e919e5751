//! `extends` (compose-go `loader/extends.go`): a service starts from another
//! service of the same file or of another file, then its own attributes are
//! merged on top. Chains are followed; a loop is refused. A service taken
//! from another file has its relative paths rebased on that file's folder.
//!
//! This is the loader's own seam for `extends`; the merge rules it uses are
//! [`passes::merge`]'s.

use super::super::yaml::{self, Node, Value};
use super::canonical::{model_get_mut, set, str_node};
use super::error::LoadError;
use super::options::{Details, LoadOptions};
use super::source::{self, FileSource};
use super::passes;

/// The most files an `extends` chain may cross (bounds hostile loops that
/// alternate between files).
const MAX_CHAIN: usize = 64;

/// Applies `extends` to every service of `doc` (file `name` in folder `dir`).
pub fn apply(
    doc: &mut Node,
    name: &str,
    dir: &str,
    details: &Details,
    opts: &LoadOptions,
    fs: &dyn FileSource,
) -> Result<(), LoadError> {
    let original = doc.clone();
    let Some(Value::Map(services)) = model_get_mut(doc, "services").map(|s| &mut s.value) else { return Ok(()) };
    for (key, service) in services.iter_mut() {
        if service.get("extends").is_some() {
            let mut seen = vec![format!("{name}#{}", key.text)];
            let ctx = Ctx { details, opts, fs };
            *service = ctx.resolve(service.clone(), &key.text, &original, name, dir, &mut seen)?;
        }
    }
    Ok(())
}

struct Ctx<'a> {
    details: &'a Details,
    opts: &'a LoadOptions,
    fs: &'a dyn FileSource,
}

impl Ctx<'_> {
    /// `service` (named `svc` in `doc`, file `file` in `dir`) with its
    /// `extends` chain applied.
    fn resolve(
        &self,
        service: Node,
        svc: &str,
        doc: &Node,
        file: &str,
        dir: &str,
        seen: &mut Vec<String>,
    ) -> Result<Node, LoadError> {
        let Some(ext) = service.get("extends").cloned() else { return Ok(service) };
        let path = format!("services.{svc}.extends");
        let (base_name, base_file) = match &ext.value {
            Value::Str(s) => (s.clone(), None),
            Value::Map(_) => {
                let Some(base) = ext.get("service").and_then(Node::as_str) else {
                    let reason = format!("extends.{svc}.service is required");
                    return Err(LoadError::at(file, ext.pos, &path, reason));
                };
                (base.to_string(), ext.get("file").and_then(Node::as_str).map(str::to_string))
            }
            _ => return Err(LoadError::at(file, ext.pos, &path, "must be a string or a mapping")),
        };
        let (base_doc, base_path, base_dir) = match &base_file {
            Some(f) => {
                let p = source::join(dir, f);
                (self.read(&p, file, ext.pos, &path)?, p.clone(), source::dir(&p))
            }
            None => (doc.clone(), file.to_string(), dir.to_string()),
        };
        let id = format!("{base_path}#{base_name}");
        if seen.contains(&id) || seen.len() > MAX_CHAIN {
            seen.push(id);
            let reason = format!("Circular reference: {}", seen.join(" extends "));
            return Err(LoadError::at(file, ext.pos, &path, reason));
        }
        seen.push(id);
        let Some(base) = base_doc.get("services").and_then(|s| s.get(&base_name)).cloned() else {
            let reason = format!("cannot extend service {svc:?} in {file}: service {base_name:?} not found");
            return Err(LoadError::at(file, ext.pos, &path, reason));
        };
        let base = if matches!(base.value, Value::Null) { Node::new(Value::Map(Vec::new())) } else { base };
        let mut base = self.resolve(base, &base_name, &base_doc, &base_path, &base_dir, seen)?;
        if base_file.is_some() {
            rebase_paths(&mut base, &base_dir);
        }
        let mut own = service;
        if let Value::Map(entries) = &mut own.value {
            entries.retain(|(k, _)| k.text != "extends");
        }
        let merged = passes::merge(base, own)?;
        Ok(merged)
    }

    fn read(&self, path: &str, file: &str, pos: yaml::Pos, key: &str) -> Result<Node, LoadError> {
        let text = self.fs.read(path).map_err(|reason| LoadError::at(file, pos, key, format!("{path}: {reason}")))?;
        let mut doc = yaml::parse(&text, path)?;
        if self.opts.interpolate {
            let env = &self.details.env;
            passes::interpolate(&mut doc, path, &|n: &str| env.get(n).cloned())?;
        }
        Ok(doc)
    }
}

/// Makes the relative paths of a service taken from another file absolute
/// against that file's folder (build context, bind sources, env files).
fn rebase_paths(service: &mut Node, dir: &str) {
    if let Some(build) = model_get_mut(service, "build") {
        match &build.value {
            Value::Str(ctx) if !ctx.contains("://") => build.value = Value::Str(source::join(dir, ctx)),
            Value::Map(_) => {
                if let Some(ctx) = build.get("context").and_then(Node::as_str).filter(|c| !c.contains("://")) {
                    let joined = source::join(dir, ctx);
                    set(build, "context", str_node(&joined));
                }
            }
            _ => {}
        }
    }
    if let Some(Value::Seq(items)) = model_get_mut(service, "env_file").map(|e| &mut e.value) {
        for item in items.iter_mut() {
            if let Value::Str(p) = &item.value {
                item.value = Value::Str(source::join(dir, p));
            }
        }
    }
    if let Some(Value::Seq(volumes)) = model_get_mut(service, "volumes").map(|v| &mut v.value) {
        for volume in volumes.iter_mut() {
            if let Value::Str(spec) = &volume.value {
                if spec.starts_with('.') {
                    let (src, rest) = spec.split_once(':').unwrap_or((spec, ""));
                    let joined = source::join(dir, src);
                    volume.value = Value::Str(if rest.is_empty() { joined } else { format!("{joined}:{rest}") });
                }
            }
        }
    }
}
