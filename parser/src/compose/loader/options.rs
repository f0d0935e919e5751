//! The loader's options and how docker compose turns flags and `COMPOSE_*`
//! variables into a set of files, a working directory, an environment, the
//! active profiles and a project name (compose-go `cli/options.go`, in the
//! order docker compose applies them).

use std::collections::HashMap;

use super::error::LoadError;
use super::passes;
use super::source::{self, FileSource};

/// The compose file names discovery looks for, in order of preference.
pub const DEFAULT_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file names taken next to the discovered file.
pub const DEFAULT_OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// What the user asked for: the global compose flags, the process
/// environment and where the command runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `-f` files as given (relative to `cwd`; `-` is standard input).
    pub files: Vec<String>,
    /// `-p`: must already be a valid project name.
    pub project_name: Option<String>,
    /// `--project-directory`.
    pub project_directory: Option<String>,
    /// `--env-file` (several).
    pub env_files: Vec<String>,
    /// `--profile` (several).
    pub profiles: Vec<String>,
    /// The absolute directory the command runs in.
    pub cwd: String,
    /// The process environment, in order.
    pub os_env: Vec<(String, String)>,
    /// Standard input's text, read when a file is `-`.
    pub stdin: Option<String>,
    /// `${}` interpolation (off for `config --no-interpolate`).
    pub interpolate: bool,
    /// The normalisation step (default network, names, implied depends_on).
    pub normalize: bool,
    /// The consistency checks (`--no-consistency` turns them off).
    pub consistency: bool,
    /// Relative paths resolved against the working directory.
    pub resolve_paths: bool,
}

impl LoadOptions {
    /// Options for a command run in `cwd` with environment `os_env` and every
    /// step on, as `docker compose config` runs by default.
    pub fn new(cwd: &str, os_env: Vec<(String, String)>) -> LoadOptions {
        LoadOptions {
            files: Vec::new(),
            project_name: None,
            project_directory: None,
            env_files: Vec::new(),
            profiles: Vec::new(),
            cwd: cwd.to_string(),
            os_env,
            stdin: None,
            interpolate: true,
            normalize: true,
            consistency: true,
            resolve_paths: true,
        }
    }
}

/// One compose file to load: its name in messages, absolute path and text.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Absolute path (`-` for standard input).
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// The options once resolved: what the per-file pipeline needs.
#[derive(Debug, Clone)]
pub struct Details {
    /// The files, in load order.
    pub files: Vec<ConfigFile>,
    /// The project's working directory (relative paths resolve against it).
    pub working_dir: String,
    /// Process environment, then `.env` values that the process did not set.
    pub env: HashMap<String, String>,
    /// Active profiles.
    pub profiles: Vec<String>,
    /// The project name when the user or environment fixed it (`-p`,
    /// `COMPOSE_PROJECT_NAME`); otherwise chosen from the files.
    pub imperative_name: Option<String>,
}

/// Resolves `opts` as docker compose does: environment, first `.env` pass,
/// files (`-f`, `COMPOSE_FILE`, discovery), second `.env` pass next to the
/// files, profiles (`--profile`, `COMPOSE_PROFILES`), project name.
pub fn resolve(opts: &LoadOptions, fs: &dyn FileSource) -> Result<Details, LoadError> {
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in &opts.os_env {
        env.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let project_dir = opts
        .project_directory
        .as_ref()
        .map(|d| source::join(&opts.cwd, d));
    let working = |paths: &[String]| working_dir(opts, project_dir.as_deref(), paths);
    load_env_files(opts, fs, &working(&[]), &mut env)?;
    let paths = config_paths(opts, fs, &env, &working(&[]))?;
    let wd = working(&paths);
    load_env_files(opts, fs, &wd, &mut env)?;
    let mut files = Vec::new();
    for path in &paths {
        files.push(read_config(opts, fs, path)?);
    }
    let profiles = if opts.profiles.is_empty() {
        split_list(env.get("COMPOSE_PROFILES").map_or("", String::as_str), ',')
    } else {
        opts.profiles.clone()
    };
    let imperative_name = imperative_name(opts, &env)?;
    Ok(Details {
        files,
        working_dir: wd,
        env,
        profiles,
        imperative_name,
    })
}

fn working_dir(opts: &LoadOptions, project_dir: Option<&str>, paths: &[String]) -> String {
    if let Some(dir) = project_dir {
        return dir.to_string();
    }
    match paths.iter().find(|p| *p != "-") {
        Some(first) => source::dir(first),
        None => opts.cwd.clone(),
    }
}

fn split_list(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The `.env` files of one pass: `--env-file`, else `COMPOSE_ENV_FILES`
/// (comma-separated), else `.env` in the working directory when it exists.
/// Values the environment already holds win (compose-go's `Mapping.Merge`).
fn load_env_files(
    opts: &LoadOptions,
    fs: &dyn FileSource,
    wd: &str,
    env: &mut HashMap<String, String>,
) -> Result<(), LoadError> {
    let mut files: Vec<String> = opts
        .env_files
        .iter()
        .map(|f| source::join(&opts.cwd, f))
        .collect();
    if files.is_empty() {
        if let Some(list) = opts
            .os_env
            .iter()
            .rev()
            .find(|(k, _)| k == "COMPOSE_ENV_FILES")
        {
            files = split_list(&list.1, ',')
                .iter()
                .map(|f| source::join(&opts.cwd, f))
                .collect();
        }
    }
    if files.is_empty() && !disabled_default_env_file(opts) {
        let default = source::join(wd, ".env");
        if fs.is_file(&default) {
            files.push(default);
        }
    }
    let mut texts = Vec::new();
    for file in files {
        let text = fs.read(&file).map_err(|reason| LoadError::Read {
            path: file.clone(),
            reason,
        })?;
        texts.push((file, text));
    }
    let lookup = |name: &str| env.get(name).cloned();
    let read = passes::read_env_files(&texts, &lookup)?;
    for (k, v) in read {
        env.entry(k).or_insert(v);
    }
    Ok(())
}

fn disabled_default_env_file(opts: &LoadOptions) -> bool {
    opts.os_env.iter().any(|(k, v)| {
        k == "COMPOSE_DISABLE_ENV_FILE"
            && matches!(v.to_ascii_lowercase().as_str(), "1" | "t" | "true")
    })
}

/// The files to load: `-f`, else `COMPOSE_FILE` (split on
/// `COMPOSE_PATH_SEPARATOR`, default `:`), else discovery.
fn config_paths(
    opts: &LoadOptions,
    fs: &dyn FileSource,
    env: &HashMap<String, String>,
    wd: &str,
) -> Result<Vec<String>, LoadError> {
    if !opts.files.is_empty() {
        return Ok(opts
            .files
            .iter()
            .map(|f| {
                if f == "-" {
                    f.clone()
                } else {
                    source::join(&opts.cwd, f)
                }
            })
            .collect());
    }
    if let Some(list) = env.get("COMPOSE_FILE") {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .and_then(|s| s.chars().next())
            .unwrap_or(':');
        let mut paths = Vec::new();
        for f in list.split(sep) {
            let path = if f == "-" {
                f.to_string()
            } else {
                source::join(&opts.cwd, f)
            };
            if path != "-" && !fs.is_file(&path) {
                let reason = "no such file or directory (named by COMPOSE_FILE)".to_string();
                return Err(LoadError::Read { path, reason });
            }
            paths.push(path);
        }
        return Ok(paths);
    }
    discover(fs, wd)
        .ok_or_else(|| LoadError::Option("no configuration file provided: not found".to_string()))
}

/// Looks for a compose file in `dir`, then its parents; takes the first
/// override file beside it (compose-go's `WithDefaultConfigPath`).
pub fn discover(fs: &dyn FileSource, dir: &str) -> Option<Vec<String>> {
    let mut dir = source::clean(dir);
    loop {
        let found = DEFAULT_FILE_NAMES
            .iter()
            .map(|n| source::join(&dir, n))
            .find(|p| fs.is_file(p));
        if let Some(main) = found {
            let mut paths = vec![main];
            let over = DEFAULT_OVERRIDE_NAMES
                .iter()
                .map(|n| source::join(&dir, n))
                .find(|p| fs.is_file(p));
            paths.extend(over);
            return Some(paths);
        }
        let parent = source::dir(&dir);
        if parent == dir {
            return None;
        }
        dir = parent;
    }
}

fn read_config(
    opts: &LoadOptions,
    fs: &dyn FileSource,
    path: &str,
) -> Result<ConfigFile, LoadError> {
    let text = if path == "-" {
        opts.stdin.clone().unwrap_or_default()
    } else {
        fs.read(path).map_err(|reason| LoadError::Read {
            path: path.to_string(),
            reason,
        })?
    };
    Ok(ConfigFile {
        path: path.to_string(),
        text,
    })
}

/// `-p`, else a non-empty `COMPOSE_PROJECT_NAME`. Both must already be a
/// valid name (Compose refuses rather than rewrites them).
fn imperative_name(
    opts: &LoadOptions,
    env: &HashMap<String, String>,
) -> Result<Option<String>, LoadError> {
    let name = match &opts.project_name {
        Some(name) if !name.is_empty() => name.clone(),
        _ => match env.get("COMPOSE_PROJECT_NAME") {
            Some(name) if !name.is_empty() => name.clone(),
            _ => return Ok(None),
        },
    };
    if normalize_project_name(&name) != name {
        return Err(LoadError::Option(invalid_name(&name)));
    }
    Ok(Some(name))
}

/// compose-go's refusal of a project name.
pub fn invalid_name(name: &str) -> String {
    format!(
        "invalid project name {name:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
    )
}

/// compose-go's `NormalizeProjectName`: lower case, keep `[a-z0-9_-]`, trim
/// leading `_` and `-`.
pub fn normalize_project_name(name: &str) -> String {
    let lowered = name.to_lowercase();
    let kept: String = lowered
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}
