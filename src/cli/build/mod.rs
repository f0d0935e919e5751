//! `kiln build` (like `docker build` with BuildKit) and `kiln builder prune`.
//!
//! Flags: the context (a directory read in place with `.dockerignore`
//! applied, `-` for a tar on stdin, or a git URL `REPO#REF:DIR`: see
//! [`kiln_builder::context_source`]), `-f FILE|-`, several `-t`, `--build-arg`,
//! `--target`, `--label`, `--secret id=…,src=…|env=…`, `--no-cache`,
//! `--no-cache-filter`, `--jobs`, `--iidfile`, `--metadata-file` (buildx's
//! keys), `-q`, `--progress auto|plain|tty|rawjson` ([`progress`]),
//! `--output`/`-o` ([`kiln_builder::output`]), `--debug-cache` (why each step missed the
//! cache), `--platform` (this machine's only), `--runtime`, `--ssh ID[=SOCKET]`
//! (SSH agent sockets only: [`ssh`]).
//!
//! `kiln build --logs` prints the full output of every step of the most
//! recent build (kept under `<root>/builder/logs/<build id>/`, never
//! clipped), each under its step name.
//!
//! `--cache-to type=local,dest=DIR[,mode=min|max]` exports the solved steps
//! into a cache directory after the build, `--cache-from type=local,src=DIR`
//! (repeatable) imports them on another root ([`kiln_builder::local_cache::flags`];
//! [`kiln_builder::local_cache`] has the format). Imported records that
//! cannot be used (a corrupt blob) are warned about on stderr and their
//! steps run.

mod progress;
mod ssh;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use kiln_builder::build::{build, BuildRequest, Built, STEPS_FILE};
use kiln_builder::graph::Platform;

use kiln_builder::context_source::{self, ContextSource};
use kiln_builder::local_cache::flags as cache;
use kiln_builder::output;
use progress::{Mode, Progress};

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
    /// How many steps run at once (default: twice the cores, at least 4: steps mostly wait).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Write the image ID to the file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// Write the build result metadata (JSON, buildx's keys) to the file.
    #[arg(long = "metadata-file")]
    metadata_file: Option<PathBuf>,
    /// Output destination: type=image|oci|docker|tar|local[,dest=PATH][,compression=gzip|zstd|uncompressed], or a directory.
    #[arg(short = 'o', long = "output")]
    output: Vec<String>,
    /// Export the build cache: type=local,dest=DIR[,mode=min|max].
    #[arg(long = "cache-to")]
    cache_to: Vec<String>,
    /// Import build cache: type=local,src=DIR (repeatable).
    #[arg(long = "cache-from")]
    cache_from: Vec<String>,
    /// Print why each step missed the cache (the file, argument or input that changed its key).
    #[arg(long = "debug-cache")]
    debug_cache: bool,
    /// SSH agent socket to expose to RUN --mount=type=ssh: default|ID[=SOCKET] (default: $SSH_AUTH_SOCK).
    #[arg(long)]
    ssh: Vec<String>,
    /// Print the full output of every step of the most recent build, then exit.
    #[arg(long, conflicts_with_all = ["context", "tag", "file"])]
    logs: bool,
    /// Suppress the build output and print the image ID on success.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Progress output: auto (tty on a terminal, else plain), plain, tty, rawjson.
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Target platform (this machine's only, for now).
    #[arg(long)]
    platform: Option<String>,
    /// Low-level runtime for RUN steps: kiln (embedded), crun, runc, PATH.
    #[arg(long, env = "KILN_RUNTIME", default_value = "kiln")]
    runtime: String,
    /// The build context: a directory, `-` (a tar on stdin) or a git URL (REPO#REF:DIR).
    #[arg(required_unless_present = "logs")]
    context: Option<String>,
}

/// `kiln builder …`.
#[derive(Debug, Subcommand)]
pub enum BuilderCommand {
    /// Remove the build cache.
    Prune(PruneArgs),
}

/// `kiln builder prune` flags (docker's; see [`kiln_builder::cache_prune`]).
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation (kiln never prompts).
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove all build cache (the default: kiln keeps nothing in use).
    #[arg(short = 'a', long)]
    all: bool,
    /// Provide filter values (`until=DURATION`: only cache older than that, e.g. `24h`).
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Amount of disk space to keep for cache (e.g. `512MB`, `2g`).
    #[arg(long, value_name = "SIZE")]
    keep_storage: Option<String>,
}

/// Runs `kiln builder prune`.
pub fn builder(root: &Path, command: BuilderCommand) -> Result<()> {
    match command {
        BuilderCommand::Prune(args) => {
            let options = prune_options(&args)?;
            let pruned =
                kiln_builder::cache_prune::prune(root, &options).map_err(|e| anyhow!(e))?;
            println!(
                "Deleted build cache objects: {} records, {} snapshots",
                pruned.records,
                pruned.snapshots.removed.len()
            );
            let total = crate::cli::display::human_size(pruned.snapshots.reclaimed);
            println!("Total reclaimed space: {total}");
            Ok(())
        }
    }
}

/// The prune selection from `--filter` and `--keep-storage`; a bad value is
/// a one-line error naming the flag.
fn prune_options(args: &PruneArgs) -> Result<kiln_builder::cache_prune::PruneOptions> {
    let mut options = kiln_builder::cache_prune::PruneOptions::default();
    for filter in &args.filter {
        match filter.split_once('=') {
            Some(("until", value)) => {
                let d = kiln_parser::dockerfile::instructions::parse_go_duration(value)
                    .map_err(|e| anyhow!("--filter {filter}: {e}"))?;
                options.until = Some(d);
            }
            _ => bail!("--filter {filter}: unsupported filter (expected until=DURATION)"),
        }
    }
    if let Some(size) = &args.keep_storage {
        let bytes = crate::cli::containers::parse_bytes(size)
            .map_err(|e| anyhow!("--keep-storage: {e}"))?;
        options.keep_storage = Some(u64::try_from(bytes).unwrap_or(0));
    }
    Ok(options)
}

/// Runs `kiln build`.
pub fn run(root: &Path, args: BuildArgs) -> Result<()> {
    if args.logs {
        return print_logs(root);
    }
    let ssh_agents = ssh::parse(&args.ssh)?;
    let context_arg = args.context.clone().unwrap_or_else(|| ".".into());
    if context_arg == "-" && args.file.as_deref() == Some("-") {
        bail!("-f -: the Dockerfile cannot come from stdin when the context does (context -)");
    }
    if let Some(platform) = &args.platform {
        let host = Platform::host();
        match Platform::parse(platform) {
            Some(p) if p == host => {}
            _ => bail!("--platform {platform}: kiln builds only for this machine's platform ({host}) so far"),
        }
    }
    check_tags(&args.tag)?;
    let mode = Mode::parse(&args.progress)?;
    let out = output::parse(&args.output)?;
    let cache_to = cache::parse_to(&args.cache_to)?;
    let cache_from = cache::parse_from(&args.cache_from)?;
    let context = context_source::prepare(root, &context_arg)?;
    let (dockerfile, dockerfile_path) = read_dockerfile(&args, &context)?;
    let exe = std::env::current_exe().context("find the kiln executable")?;
    let mut request = BuildRequest::new(&dockerfile, &context.dir, &exe);
    request.dockerfile_path = Some(dockerfile_path);
    request.tags = args.tag.clone();
    request.jobs = args.jobs;
    request.runtime = args.runtime.clone();
    request.compression = out.compression;
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
    request.ssh_agents = ssh_agents;
    request.cache_to = cache_to;
    request.cache_from = cache_from;
    request.source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let progress = (!args.quiet).then(|| Progress::new(mode));
    if let Some(p) = &progress {
        let (names, events) = (Arc::clone(p), Arc::clone(p));
        request.names = Some(Arc::new(move |n: &[String]| names.set_names(n)));
        request.events = Some(Arc::new(move |e| events.event(e)));
        if args.debug_cache {
            let misses = Arc::clone(p);
            request.cache_misses = Some(Arc::new(move |v, r| misses.cache_miss(v, r)));
        }
    }
    let built = build(root, request);
    if let Some(p) = &progress {
        p.finish();
    }
    let built = built.map_err(|e| anyhow!("{e}"))?;
    for warning in &built.cache_warnings {
        eprintln!("warning: {warning}");
    }
    output::export(
        root,
        &out.kind,
        &built.manifest,
        &built.tags,
        built.snapshot.as_deref(),
    )?;
    drop(context);
    write_results(&args, &built)?;
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

/// `--iidfile` and `--metadata-file`.
fn write_results(args: &BuildArgs, built: &Built) -> Result<()> {
    if let Some(file) = &args.iidfile {
        std::fs::write(file, built.config.to_string())
            .with_context(|| format!("--iidfile: write {}", file.display()))?;
    }
    if let Some(file) = &args.metadata_file {
        let mut meta = serde_json::json!({
            "containerimage.digest": built.manifest.to_string(),
            "containerimage.config.digest": built.config.to_string(),
        });
        if !built.tags.is_empty() {
            meta["image.name"] = built.tags.join(",").into();
        }
        let text = serde_json::to_string_pretty(&meta)?;
        std::fs::write(file, text)
            .with_context(|| format!("--metadata-file: write {}", file.display()))?;
    }
    Ok(())
}

/// `kiln build --logs`: every step of the most recent build, by name, with
/// its full output (steps that ran no process, or came from the cache, have
/// none).
fn print_logs(root: &Path) -> Result<()> {
    let dir = root.join("builder/logs");
    let latest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(STEPS_FILE).exists())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    let Some((_, build_dir)) = latest else {
        bail!("--logs: no build logs under {}", dir.display());
    };
    let steps_path = build_dir.join(STEPS_FILE);
    let names: Vec<String> = serde_json::from_slice(
        &std::fs::read(&steps_path)
            .with_context(|| format!("--logs: read {}", steps_path.display()))?,
    )
    .with_context(|| format!("--logs: parse {}", steps_path.display()))?;
    let mut out = std::io::stdout().lock();
    for (n, name) in names.iter().enumerate() {
        let log = build_dir.join(format!("{n}.log"));
        let Ok(bytes) = std::fs::read(&log) else {
            continue;
        };
        writeln!(out, "#{} {name}", n + 1)?;
        out.write_all(&bytes)?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            writeln!(out)?;
        }
    }
    Ok(())
}

/// The Dockerfile of the build: see [`ContextSource::read_dockerfile`].
fn read_dockerfile(args: &BuildArgs, context: &ContextSource) -> Result<(String, PathBuf)> {
    Ok(context.read_dockerfile(args.file.as_deref())?)
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

/// Checks every `-t` before anything is built: a valid reference without a
/// digest. A digest pins content, it cannot name what is about to be built;
/// Docker refuses it the same way ("build tag cannot contain a digest").
fn check_tags(tags: &[String]) -> Result<()> {
    for tag in tags {
        let reference = kiln_image::Reference::parse(tag)
            .with_context(|| format!("invalid tag {tag:?}: invalid reference format"))?;
        if reference.digest().is_some() {
            bail!("invalid tag {tag:?}: build tag cannot contain a digest");
        }
    }
    Ok(())
}
