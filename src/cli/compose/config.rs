//! `kiln compose config`: the project as docker compose v2 loads it, printed
//! in its canonical form (or one of its lists: services, volumes, networks,
//! profiles, images, variables, environment, hashes).
//!
//! `--resolve-image-digests` pins each service's image to the digest kiln's
//! image store holds for it (`docker.io/library/alpine:latest@sha256:…`).
//! kiln does not ask a registry here: an image that is not in the store is
//! an error naming it (pull or build it first), where docker compose would
//! query the registry.

use super::files::HostFiles;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use kiln_parser::compose::loader::{self, render, LoadOptions, Project};
use kiln_parser::compose::variables::{extract_variables, Variable};
use kiln_parser::compose::yaml::{self, Node, Value};
use std::io::Read;
use std::path::Path;

/// The global compose flags, as given.
#[derive(Debug)]
pub struct Global {
    /// `-f`.
    pub files: Vec<String>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`.
    pub project_directory: Option<String>,
    /// `--env-file`.
    pub env_files: Vec<String>,
    /// `--profile`.
    pub profiles: Vec<String>,
}

/// Output formats of `config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Block YAML (the default).
    Yaml,
    /// Indented JSON.
    Json,
}

/// `kiln compose config [OPTIONS] [SERVICE...]`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Format the output.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Print the service names, one per line.
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line.
    #[arg(long)]
    pub networks: bool,
    /// Print the model names, one per line.
    #[arg(long)]
    pub models: bool,
    /// Print the profile names, one per line.
    #[arg(long)]
    pub profiles: bool,
    /// Print the image names, one per line.
    #[arg(long)]
    pub images: bool,
    /// Print the model variables and their defaults.
    #[arg(long)]
    pub variables: bool,
    /// Print the environment used for interpolation.
    #[arg(long)]
    pub environment: bool,
    /// Print the service config hash, one per line (`*` for every service).
    #[arg(long)]
    pub hash: Option<String>,
    /// Only validate the configuration, do not print anything.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not interpolate environment variables.
    #[arg(long)]
    pub no_interpolate: bool,
    /// Do not normalise the model.
    #[arg(long)]
    pub no_normalize: bool,
    /// Do not resolve relative paths.
    #[arg(long)]
    pub no_path_resolution: bool,
    /// Do not check the model's consistency.
    #[arg(long)]
    pub no_consistency: bool,
    /// Pin image tags to digests (from kiln's image store).
    #[arg(long)]
    pub resolve_image_digests: bool,
    /// Save to a file instead of standard output.
    #[arg(short, long)]
    pub output: Option<String>,
    /// Services to render (with their dependencies).
    pub service_names: Vec<String>,
}

/// Runs `kiln compose config`.
pub fn run(root: &Path, global: &Global, args: ConfigArgs) -> Result<()> {
    let text = if args.variables {
        warn_filter(&args, "--variables");
        variables(global, &args)?
    } else if args.no_interpolate {
        warn_filter(&args, "--no-interpolate");
        let mut project = load(global, &args, false)?;
        render::sort_all(&mut project.model);
        model_text(&project.model, args.format)
    } else {
        let project = load(global, &args, true)?;
        render_project(root, project, &args)?
    };
    if args.quiet {
        return Ok(());
    }
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {path}")),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn warn_filter(args: &ConfigArgs, flag: &str) {
    if !args.service_names.is_empty() {
        eprintln!("WARN: service filtering is not applied when {flag} is set");
    }
}

/// Loads the project with the global flags and `config`'s switches.
fn load(global: &Global, args: &ConfigArgs, interpolate: bool) -> Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let os_env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut opts = LoadOptions::new(&cwd.to_string_lossy(), os_env);
    opts.files = global.files.clone();
    opts.project_name = global.project_name.clone();
    opts.project_directory = global.project_directory.clone();
    opts.env_files = global.env_files.clone();
    opts.profiles = global.profiles.clone();
    opts.interpolate = interpolate;
    opts.normalize = !args.no_normalize;
    opts.consistency = !args.no_consistency;
    opts.resolve_paths = !args.no_path_resolution;
    if opts.files.iter().any(|f| f == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the compose file from standard input")?;
        opts.stdin = Some(text);
    }
    let project = loader::load(&opts, &HostFiles)?;
    for warning in &project.warnings {
        eprintln!("WARN[0000] {warning}");
    }
    Ok(project)
}

fn render_project(root: &Path, mut project: Project, args: &ConfigArgs) -> Result<String> {
    loader::project::bind(&mut project.model);
    loader::select::select_services(&mut project.model, &args.service_names)?;
    if args.resolve_image_digests {
        resolve_digests(root, &mut project.model)?;
    }
    render::order_project(&mut project.model);
    let model = &project.model;
    let lines = |v: Vec<String>| v.iter().map(|l| format!("{l}\n")).collect::<String>();
    Ok(if args.services {
        lines(keys(model.get("services")))
    } else if args.volumes {
        lines(keys(model.get("volumes")))
    } else if args.networks {
        lines(keys(model.get("networks")))
    } else if args.models {
        lines(
            entries(model.get("models"))
                .filter_map(|(_, m)| m.get("model")?.as_str().map(String::from))
                .collect(),
        )
    } else if args.profiles {
        lines(project.all_profiles.clone())
    } else if args.images {
        lines(images(&project))
    } else if args.environment {
        let mut env: Vec<String> = project
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        env.sort();
        lines(env)
    } else if let Some(which) = &args.hash {
        lines(hashes(model, which)?)
    } else {
        model_text(model, args.format)
    })
}

fn model_text(model: &Node, format: Format) -> String {
    match format {
        Format::Yaml => render::to_yaml(model),
        Format::Json => render::to_json(model, 2) + "\n",
    }
}

fn entries(node: Option<&Node>) -> impl Iterator<Item = (&str, &Node)> {
    let list = match node.map(|n| &n.value) {
        Some(Value::Map(e)) => e.as_slice(),
        _ => &[],
    };
    list.iter().map(|(k, v)| (k.text.as_str(), v))
}

fn keys(node: Option<&Node>) -> Vec<String> {
    entries(node).map(|(k, _)| k.to_string()).collect()
}

/// Each service's image, or the name compose gives a built one
/// (`<project>-<service>`).
fn images(project: &Project) -> Vec<String> {
    entries(project.model.get("services"))
        .map(|(name, s)| match s.get("image").and_then(Node::as_str) {
            Some(image) => image.to_string(),
            None => format!("{}-{name}", project.name),
        })
        .collect()
}

/// `name hash` per service: the sha256 of the service's canonical JSON
/// (kiln's own hash; docker compose hashes its Go struct's JSON, so the
/// values differ from docker's while following the same changes).
fn hashes(model: &Node, which: &str) -> Result<Vec<String>> {
    let wanted: Vec<&str> = which.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    for (name, service) in entries(model.get("services")) {
        if wanted.contains(&"*") || wanted.contains(&name) {
            let digest = kiln_image::Digest::of(render::to_json(service, 0).as_bytes());
            out.push(format!("{name} {}", digest.hex()));
        }
    }
    for name in wanted.iter().filter(|w| **w != "*") {
        if !out.iter().any(|l| l.split(' ').next() == Some(name)) {
            bail!("no such service: {name}");
        }
    }
    Ok(out)
}

/// Pins images to the digest recorded in kiln's image store.
fn resolve_digests(root: &Path, model: &mut Node) -> Result<()> {
    let index = kiln_image::ImageIndex::new(root)?;
    let Some(Value::Map(services)) =
        loader::canonical::model_get_mut(model, "services").map(|s| &mut s.value)
    else {
        return Ok(());
    };
    for (name, service) in services.iter_mut() {
        let Some(image) = service
            .get("image")
            .and_then(Node::as_str)
            .map(String::from)
        else {
            continue;
        };
        let reference = kiln_image::Reference::parse(&image).with_context(|| {
            format!("service {:?}: invalid image reference {image:?}", name.text)
        })?;
        if reference.digest().is_some() {
            continue;
        }
        let Some(record) = index.get(&reference)? else {
            bail!(
                "service {:?}: image {image} is not in kiln's image store (kiln does not query registries for --resolve-image-digests; pull or build it first)",
                name.text
            );
        };
        let pinned = reference.with_digest(record.digest);
        loader::canonical::set(service, "image", Node::new(Value::Str(pinned.to_string())));
    }
    Ok(())
}

/// `--variables`: the variables the model refers to, loaded without
/// interpolation, as compose prints its `map[string]Variable`.
fn variables(global: &Global, args: &ConfigArgs) -> Result<String> {
    let project = load(global, args, false)?;
    let mut vars = extract_variables(&project.model.to_json());
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(match args.format {
        Format::Json => variables_json(&vars),
        Format::Yaml => variables_yaml(&vars),
    })
}

/// JSON as Go's `json.MarshalIndent` writes the map (4-space indent, struct
/// fields in declaration order).
fn variables_json(vars: &[Variable]) -> String {
    let s = |t: &str| Node::new(Value::Str(t.to_string()));
    let entries = vars
        .iter()
        .map(|v| {
            let fields = vec![
                ("Name", s(&v.name)),
                ("DefaultValue", s(&v.default_value)),
                ("PresenceValue", s(&v.presence_value)),
                ("Required", Node::new(Value::Bool(v.required))),
            ];
            (v.name.as_str(), loader::canonical::map(fields))
        })
        .collect();
    render::to_json(&loader::canonical::map(entries), 4) + "\n"
}

/// YAML as Go's `yaml.v3` writes a struct map (4-space indent, lower-case
/// field names).
fn variables_yaml(vars: &[Variable]) -> String {
    let scalar = |s: &str| {
        yaml::emit(&Node::new(Value::Str(s.to_string())))
            .trim_end()
            .to_string()
    };
    let mut out = String::new();
    for v in vars {
        out.push_str(&format!("{}:\n", scalar(&v.name)));
        out.push_str(&format!("    name: {}\n", scalar(&v.name)));
        out.push_str(&format!("    defaultvalue: {}\n", scalar(&v.default_value)));
        out.push_str(&format!(
            "    presencevalue: {}\n",
            scalar(&v.presence_value)
        ));
        out.push_str(&format!("    required: {}\n", v.required));
    }
    out
}
