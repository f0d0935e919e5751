//! The Compose loader: files, `.env` files, the environment and flags in, the
//! canonical project model out — what docker compose v2 (compose-go) loads.
//!
//! Pure: the only I/O is reading files, through [`FileSource`] (the binary
//! reads the host's files, tests and the fuzz target an in-memory set).
//!
//! The order is compose-go's (`loader/loader.go`):
//! 1. [`options::resolve`]: environment, `.env` files (twice: in the working
//!    directory, then beside the compose files), files (`-f`,
//!    `COMPOSE_FILE`, discovery), profiles, an imperative project name;
//! 2. per file, per YAML document ([`pipeline`], through the merge passes'
//!    [`crate::compose::files`] with this loader's [`host`]): `!reset`,
//!    top level must be a mapping, interpolation (with typed casts),
//!    `include`, `extends`, merge over the files before, uniqueness, schema
//!    validation, canonical long syntax, uniqueness again;
//! 3. defaults, relative paths resolved against the working directory;
//! 4. the project name (`-p`, `COMPOSE_PROJECT_NAME`, `name:`, the folder);
//! 5. [`normalize`]; profiles; the [`consistency`] checks; each service's
//!    `env_file` + `environment` resolved ([`project`]).
//!
//! Modules: `options` (flags and discovery), `source` (file access, paths),
//! `pipeline` (the files in order), `host` (the per-file steps handed to the
//! merge passes), `passes` (the seam to the dotenv, interpolation and schema
//! passes), `canonical` (long syntax),
//! `normalize`, `profiles`, `consistency`, `project` (the bound model),
//! `render` (YAML/JSON as docker compose prints it), `select` (the services
//! a command acts on, with their dependencies), `error`.

pub mod canonical;
pub mod consistency;
pub mod error;
pub mod host;
pub mod normalize;
pub mod options;
pub mod passes;
pub mod pipeline;
pub mod profiles;
pub mod project;
pub mod render;
pub mod select;
pub mod source;

pub use error::LoadError;
pub use options::{normalize_project_name, LoadOptions};
pub use source::{FileSource, MemFiles};

use std::collections::{BTreeSet, HashMap};

use super::yaml::Node;

/// A loaded project: the canonical model and what it was loaded from.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project name.
    pub name: String,
    /// The canonical model (a mapping: `name`, `services`, `networks`...).
    pub model: Node,
    /// The working directory relative paths were resolved against.
    pub working_dir: String,
    /// The compose files, in load order.
    pub files: Vec<String>,
    /// The environment interpolation saw (process, then `.env`).
    pub env: HashMap<String, String>,
    /// The active profiles.
    pub profiles: Vec<String>,
    /// Services that profiles switched off.
    pub disabled: BTreeSet<String>,
    /// Every profile a service names, before profiles were applied.
    pub all_profiles: Vec<String>,
    /// What docker compose warns about while loading (unset variables used
    /// as blank, the obsolete `version` attribute), once each, in order; the
    /// CLI prints them on standard error.
    pub warnings: Vec<String>,
}

/// Loads the project `opts` describe, reading files through `fs`.
pub fn load(opts: &LoadOptions, fs: &dyn FileSource) -> Result<Project, LoadError> {
    let details = options::resolve(opts, fs)?;
    let (mut model, warnings) = pipeline::load_files(&details, opts, fs)?;
    let name = pipeline::project_name(&details, opts, &model)?;
    if opts.normalize {
        normalize::normalize(&mut model, &name, &details.env);
    }
    let all_profiles = profiles::all_profiles(&model);
    let disabled = profiles::apply(&mut model, &details.profiles);
    consistency::check_always(&model)?;
    if opts.consistency {
        consistency::check(&model, &disabled)?;
    }
    if opts.interpolate {
        project::resolve_environment(&mut model, &details.env, fs)?;
    }
    Ok(Project {
        name,
        model,
        working_dir: details.working_dir,
        files: details.files.iter().map(|f| f.path.clone()).collect(),
        env: details.env,
        profiles: details.profiles,
        disabled,
        all_profiles,
        warnings,
    })
}
