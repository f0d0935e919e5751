//! `kiln build` (like `docker build` with BuildKit) and `kiln builder prune`.
//!
//! What exists today: a context directory (read in place, `.dockerignore`
//! applied), `-f FILE|-`, several `-t`, `--build-arg`, `--target`, `--label`,
//! `--secret id=…,src=…|env=…`, `--no-cache`, `--no-cache-filter`, `--jobs`,
//! `--iidfile`, `-q`, `--progress plain` (every step's output, prefixed with
//! its vertex number; the full output of every step is also kept under
//! `<root>/builder/logs/`), `--platform` (this machine's only), `--runtime`.
//! Not yet: tar or git contexts, `--output`, `--cache-to/--cache-from`, the
//! live tty progress view, `--ssh`, `--metadata-file`, `--debug-cache`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use kiln_builder::build::{build, BuildRequest};
use kiln_builder::graph::Platform;
use kiln_builder::solver::Event;

/// `kiln build` flags (Docker's names).
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag (name:tag); may be given several times.
    #[arg(short = 't', long = "tag")]
    tag: Vec<String>,
    /// Name of the Dockerfile (default: CONTEXT/Dockerfile; `-` for stdin).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Set build-time variables (KEY=VALUE, or KEY to take kiln's own value).
    #[arg(long = "build-arg")]
    build_arg: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    target: Option<String>,
    /// Set metadata for the image (KEY=VALUE).
    #[arg(long)]
    label: Vec<String>,
    /// Secret to expose to the build: id=ID,src=PATH or id=ID,env=VAR.
    #[arg(long)]
    secret: Vec<String>,
    /// Do not use cache when building the image.
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Do not use cache for the named stages.
    #[arg(long = "no-cache-filter", value_delimiter = ',')]
    no_cache_filter: Vec<String>,
    /// How many steps run at once (default: the number of cores).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Write the image ID to the file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// Suppress the build output and print the image ID on success.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Progress output: auto, plain (auto is plain until the tty view exists).
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Target platform (this machine's only, for now).
    #[arg(long)]
    platform: Option<String>,
    /// Low-level runtime for RUN steps: kiln (embedded), crun, runc, PATH.
    #[arg(long, env = "KILN_RUNTIME", default_value = "kiln")]
    runtime: String,
    /// The build context directory.
    context: PathBuf,
}

/// `kiln builder …`.
#[derive(Debug, Subcommand)]
pub enum BuilderCommand {
    /// Remove the build cache.
    Prune(PruneArgs),
}

/// `kiln builder prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation (kiln never prompts).
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove all build cache (the default: kiln keeps nothing in use).
    #[arg(short = 'a', long)]
    all: bool,
}

/// Runs `kiln builder prune`.
pub fn builder(root: &Path, command: BuilderCommand) -> Result<()> {
    match command {
        BuilderCommand::Prune(_) => {
            let removed = kiln_builder::cache_store::prune(root).map_err(|e| anyhow!(e))?;
            println!("Total: {removed} cache records removed");
            Ok(())
        }
    }
}

/// Runs `kiln build`.
pub fn run(root: &Path, args: BuildArgs) -> Result<()> {
    if !args.context.is_dir() {
        bail!(
            "unable to prepare context: path {:?} not found",
            args.context
        );
    }
    let (dockerfile, dockerfile_path) = read_dockerfile(&args)?;
    if let Some(platform) = &args.platform {
        let host = Platform::host();
        match Platform::parse(platform) {
            Some(p) if p == host => {}
            _ => bail!("--platform {platform}: kiln builds only for this machine's platform ({host}) so far"),
        }
    }
    if !matches!(args.progress.as_str(), "auto" | "plain" | "tty" | "rawjson") {
        bail!(
            "invalid --progress {:?}: use auto, plain, tty or rawjson",
            args.progress
        );
    }
    let exe = std::env::current_exe().context("find the kiln executable")?;
    let mut request = BuildRequest::new(&dockerfile, &args.context, &exe);
    request.dockerfile_path = Some(dockerfile_path);
    request.tags = args.tag.clone();
    request.jobs = args.jobs;
    request.runtime = args.runtime.clone();
    request.options.target = args.target.clone();
    request.options.build_args = parse_build_args(&args.build_arg)?;
    request.options.labels = parse_pairs(&args.label, "--label")?;
    request.options.no_cache = args.no_cache;
    request.options.no_cache_filter = args
        .no_cache_filter
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>();
    request.secrets = read_secrets(&args.secret)?;
    request.source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok());
    if !args.quiet {
        request.events = Some(Arc::new(print_event));
    }
    let built = build(root, request).map_err(|e| anyhow!("{e}"))?;
    if let Some(file) = &args.iidfile {
        std::fs::write(file, built.config.to_string())
            .with_context(|| format!("write {}", file.display()))?;
    }
    if args.quiet {
        println!("{}", built.config);
    } else {
        eprintln!(
            "done: {} steps, {} cached; writing image {}",
            built.vertices, built.cached, built.config
        );
        for tag in &built.tags {
            eprintln!("naming to {tag}");
        }
    }
    Ok(())
}

/// Plain progress: one line per step event, step output prefixed with the
/// vertex number, as BuildKit's `--progress plain`.
fn print_event(event: Event) {
    let mut err = std::io::stderr().lock();
    let _ = match event {
        Event::Started { vertex } => writeln!(err, "#{} started", vertex.0 + 1),
        Event::Cached { vertex, .. } => writeln!(err, "#{} CACHED", vertex.0 + 1),
        Event::Done { vertex, duration } => {
            writeln!(err, "#{} DONE {:.1}s", vertex.0 + 1, duration.as_secs_f64())
        }
        Event::Log { vertex, bytes } => {
            let text = String::from_utf8_lossy(&bytes);
            let mut out = String::new();
            for line in text.lines() {
                out.push_str(&format!("#{} {line}\n", vertex.0 + 1));
            }
            err.write_all(out.as_bytes())
        }
        Event::Failed { vertex, error, .. } => writeln!(err, "#{} ERROR: {error}", vertex.0 + 1),
    };
}

/// The Dockerfile's text and its path (for error messages).
fn read_dockerfile(args: &BuildArgs) -> Result<(String, PathBuf)> {
    match args.file.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("read Dockerfile from stdin")?;
            Ok((text, PathBuf::from("Dockerfile")))
        }
        Some(path) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read dockerfile: open {}", path.display()))?;
            Ok((text, path))
        }
        None => {
            let path = args.context.join("Dockerfile");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read dockerfile: open {}", path.display()))?;
            Ok((text, path))
        }
    }
}

/// `--build-arg KEY=VALUE`; a bare `KEY` takes kiln's own environment value
/// (and is dropped when unset), as Docker does.
fn parse_build_args(given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for arg in given {
        match arg.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            Some(_) => bail!("invalid --build-arg {arg:?}: empty name"),
            None => {
                if let Ok(v) = std::env::var(arg) {
                    out.insert(arg.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

fn parse_pairs(given: &[String], flag: &str) -> Result<BTreeMap<String, String>> {
    given
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(anyhow!("invalid {flag} {pair:?}: expected KEY=VALUE")),
        })
        .collect()
}

/// `--secret id=ID,src=PATH` / `id=ID,env=VAR` (also `source=`, `type=file|env`).
fn read_secrets(given: &[String]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for spec in given {
        let (mut id, mut src, mut env) = (None, None, None);
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("env", v)) => env = Some(v.to_string()),
                Some(("type", "file" | "env")) => {}
                _ => bail!("invalid --secret {spec:?}: unexpected {field:?}"),
            }
        }
        let id = id
            .or_else(|| src.clone())
            .or_else(|| env.clone())
            .ok_or_else(|| anyhow!("invalid --secret {spec:?}: no id"))?;
        let bytes = match (src, env) {
            (Some(path), _) => {
                std::fs::read(&path).with_context(|| format!("--secret {id}: read {path}"))?
            }
            (None, Some(var)) => std::env::var(&var)
                .with_context(|| format!("--secret {id}: environment variable {var} is not set"))?
                .into_bytes(),
            (None, None) => std::env::var(&id)
                .with_context(|| format!("--secret {id}: no src= or env=, and no variable {id}"))?
                .into_bytes(),
        };
        out.insert(id, bytes);
    }
    Ok(out)
}
