//! The per-file steps of compose-go's `loadYamlFile`, the defaults and path
//! resolution of `loadYamlModel`, and the project name rules.

use std::collections::HashMap;

use std::path::PathBuf;

use super::super::files::{self, ComposeFile};
use super::super::yaml::{Key, Node, Value};
use super::canonical::{self, model_get_mut, set, str_node};
use super::error::LoadError;
use super::host::Host;
use super::options::{self, Details, LoadOptions};
use super::source::{self, FileSource};

/// Loads every file of `details` (each YAML document in turn) through the
/// merge passes' per-file pipeline (`!reset`, interpolation, `include`,
/// `extends`, merge, uniqueness, schema, canonical form) into one model,
/// then applies the defaults and resolves relative paths. Returns the model
/// and the warnings docker compose would print while loading.
pub fn load_files(
    details: &Details,
    opts: &LoadOptions,
    fs: &dyn FileSource,
) -> Result<(Node, Vec<String>), LoadError> {
    let env = &details.env;
    let host = Host::new(
        fs,
        opts,
        details.files.iter().map(|f| f.path.clone()).collect(),
    );
    let files: Vec<ComposeFile> = details
        .files
        .iter()
        .map(|f| ComposeFile {
            path: PathBuf::from(&f.path),
            text: Some(f.text.clone()),
        })
        .collect();
    let merge_opts = files::LoadOptions {
        working_dir: PathBuf::from(&details.working_dir),
        env: env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        skip_include: false,
        skip_extends: false,
    };
    let mut model = match files::load(&files, &merge_opts, &host) {
        Ok(model) => model,
        Err(e) => return Err(host.take_error().unwrap_or(LoadError::Merge(e))),
    };
    if matches!(&model.value, Value::Map(m) if m.is_empty()) {
        return Err(LoadError::Project("empty compose file".to_string()));
    }
    if let Value::Map(top) = &mut model.value {
        top.retain(|(k, _)| k.text != "version");
    }
    canonical::set_defaults(&mut model);
    if opts.resolve_paths {
        resolve_paths(&mut model, &details.working_dir, env);
    }
    Ok((model, host.take_warnings()))
}

/// How a file is named in messages: its path, or `-` for standard input.
pub fn display_name(path: &str) -> String {
    path.to_string()
}

/// The project name: `-p` / `COMPOSE_PROJECT_NAME`, else the last non-empty
/// `name:` of the files (normalised), else the working directory's name.
pub fn project_name(
    details: &Details,
    opts: &LoadOptions,
    model: &Node,
) -> Result<String, LoadError> {
    if let Some(name) = &details.imperative_name {
        return Ok(name.clone());
    }
    let from_file = model.get("name").and_then(Node::as_str).unwrap_or("");
    let name = if from_file.is_empty() {
        options::normalize_project_name(&source::base(&details.working_dir))
    } else if opts.normalize {
        options::normalize_project_name(from_file)
    } else {
        from_file.to_string()
    };
    if name.is_empty() {
        return Err(LoadError::Project(
            "project name must not be empty".to_string(),
        ));
    }
    Ok(name)
}

/// compose-go's `ResolveRelativePaths`: build contexts, bind sources,
/// `env_file`, `label_file`, secret/config `file`, relative to `wd`; `~`
/// is the `HOME` of the environment.
pub fn resolve_paths(model: &mut Node, wd: &str, env: &HashMap<String, String>) {
    let home = env.get("HOME").cloned().unwrap_or_default();
    let abs = |p: &str| absolute(wd, &home, p);
    if let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) {
        for (_, service) in services.iter_mut() {
            resolve_service_paths(service, &abs);
        }
    }
    for kind in ["secrets", "configs"] {
        if let Some(Value::Map(resources)) = model_get_mut(model, kind).map(|s| &mut s.value) {
            for (_, resource) in resources.iter_mut() {
                if let Some(file) = resource.get("file").and_then(Node::as_str).map(&abs) {
                    set(resource, "file", str_node(&file));
                }
            }
        }
    }
}

fn resolve_service_paths(service: &mut Node, abs: &dyn Fn(&str) -> String) {
    if let Some(build) = model_get_mut(service, "build") {
        if let Some(ctx) = build
            .get("context")
            .and_then(Node::as_str)
            .filter(|c| !is_remote(c))
            .map(abs)
        {
            set(build, "context", str_node(&ctx));
        }
    }
    for key in ["env_file", "label_file"] {
        if let Some(Value::Seq(items)) = model_get_mut(service, key).map(|s| &mut s.value) {
            for item in items.iter_mut() {
                match &item.value {
                    Value::Str(p) => item.value = Value::Str(abs(p)),
                    Value::Map(_) => {
                        if let Some(p) = item.get("path").and_then(Node::as_str).map(abs) {
                            set(item, "path", str_node(&p));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(Value::Seq(volumes)) = model_get_mut(service, "volumes").map(|s| &mut s.value) {
        for volume in volumes.iter_mut() {
            let bind = volume.get("type").and_then(Node::as_str) == Some("bind");
            if let Some(src) = volume
                .get("source")
                .and_then(Node::as_str)
                .filter(|_| bind)
                .map(abs)
            {
                set(volume, "source", str_node(&src));
            }
        }
    }
}

/// A build context that is not a local path (git URL, `http(s)://`...).
fn is_remote(ctx: &str) -> bool {
    ctx.contains("://") || ctx.starts_with("git@") || ctx.starts_with("github.com/")
}

fn absolute(wd: &str, home: &str, p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        return source::join(home, p.trim_start_matches('~').trim_start_matches('/'));
    }
    source::join(wd, p)
}

/// A key for a mapping entry built in code.
pub fn key(text: &str) -> Key {
    Key {
        text: text.to_string(),
        pos: Default::default(),
    }
}
