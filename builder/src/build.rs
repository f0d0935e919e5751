//! The build driver: Dockerfile text + context -> an image in the store.
//!
//! [`build`] parses the Dockerfile, resolves base image configs from the
//! local image store ([`StoreImages`]), builds the graph, solves the target
//! with [`KilnExecutor`] and the persistent [`CacheStore`], then writes the
//! image: the base image's config and layers (or an empty one for scratch),
//! the target stage's [`ImageConfig`](crate::graph::ImageConfig), one
//! history entry per stage step (a layer entry takes the layer of its vertex;
//! a step that changed nothing becomes `empty_layer`), created times from
//! `SOURCE_DATE_EPOCH` when set (else now), and tags it.
//!
//! Without `SOURCE_DATE_EPOCH` the `created` times are the build's time, so
//! two builds give different image IDs even when every step was cached.
//!
//! Progress: [`BuildRequest::names`] receives every step's progress name
//! (indexed by [`VertexId`]) before anything runs, so events can be printed
//! with names; the names are also written to `<log dir>/steps.json` for
//! `kiln build --logs`. Every executed step's cache key preimage is kept for
//! `--debug-cache` ([`BuildRequest::cache_misses`], see `explain`).
//!
//! Leases (C5): the build holds a [`kiln_image::Lease`] on its base images,
//! cache hits and output from its start until it returns, and tags only a
//! complete image; see [`tag`].
//!
//! Cache directories ([`crate::local_cache`]): the `cache_from` ones are
//! read before solving and answer the steps the root's cache misses; after
//! the image is written and tagged, the solved steps are exported to
//! `cache_to` (a failed export fails the build, as in BuildKit).

mod explain;
mod image_config;
pub mod tag;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kiln_image::{media, ContentStore, ImageIndex};
use kiln_parser::dockerfile::instructions::parse_dockerfile;
use kiln_snapshotter::DiffOptions;

use crate::cache_store::CacheStore;
use crate::context::{Context, Ignore, OpenOptions};
use crate::executor::source::resolve_image;
use crate::executor::{KilnExecutor, Output, RootFs, RootLayer, TreeLayer};
use crate::export::{built_layer, ImageDoc, Layer};
use crate::graph::{
    self, BaseImage, BaseImages, BuildGraph, BuildOptions, ImageLookupError, Op, VertexId,
};
use crate::local_cache::{self, CacheExport, Imported, ImportingCache, LocalCacheError};
use crate::solver::{Event, SolveError, Solver};

pub use explain::CacheMisses;
pub use image_config::{apply as apply_config, from_doc as config_from_doc};

/// A progress callback (called from the solver's worker threads).
pub type Events = Arc<dyn Fn(Event) + Send + Sync>;

/// Receives the progress name of every vertex, indexed by [`VertexId`].
pub type Names = Arc<dyn Fn(&[String]) + Send + Sync>;

/// The file listing a build's steps, by vertex number, in its log folder.
pub const STEPS_FILE: &str = "steps.json";

/// Everything one build needs.
#[derive(Clone)]
pub struct BuildRequest {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Where it came from (error messages, `<Dockerfile>.dockerignore`);
    /// `None` for stdin.
    pub dockerfile_path: Option<PathBuf>,
    /// The context directory (`None`: no context; COPY from it fails).
    pub context_dir: Option<PathBuf>,
    /// Target, build args, platform, labels, no-cache settings.
    pub options: BuildOptions,
    /// Tags to point at the result (`app:1`).
    pub tags: Vec<String>,
    /// Secrets by id for `RUN --mount=type=secret`.
    pub secrets: BTreeMap<String, Vec<u8>>,
    /// SSH agent sockets by id for `RUN --mount=type=ssh` (`--ssh default`
    /// is `$SSH_AUTH_SOCK`).
    pub ssh_agents: BTreeMap<String, PathBuf>,
    /// Vertices at once (0 = twice the cores, at least 4).
    pub jobs: usize,
    /// The `kiln` executable (RUN steps run as `kiln oneshot-run`).
    pub helper_exe: PathBuf,
    /// The low-level runtime for RUN (`kiln`, `crun`, `runc`).
    pub runtime: String,
    /// Progress events.
    pub events: Option<Events>,
    /// The steps' names, given once the graph is built (before any event).
    pub names: Option<Names>,
    /// `--debug-cache`: why each executed step missed the cache.
    pub cache_misses: Option<CacheMisses>,
    /// Compression of the layers this build writes.
    pub compression: media::Compression,
    /// `SOURCE_DATE_EPOCH`: created times and layer mtimes clamped to it.
    pub source_date_epoch: Option<i64>,
    /// `--cache-to type=local`: where to export the solved steps.
    pub cache_to: Option<CacheExport>,
    /// `--cache-from type=local`: cache directories to import steps from.
    pub cache_from: Vec<PathBuf>,
}

impl BuildRequest {
    /// A request with defaults for everything but the Dockerfile text, the
    /// context directory and the helper executable.
    pub fn new(dockerfile: &str, context_dir: &Path, helper_exe: &Path) -> BuildRequest {
        BuildRequest {
            dockerfile: dockerfile.to_string(),
            dockerfile_path: None,
            context_dir: Some(context_dir.to_path_buf()),
            options: BuildOptions::default(),
            tags: Vec::new(),
            secrets: BTreeMap::new(),
            ssh_agents: BTreeMap::new(),
            jobs: 0,
            helper_exe: helper_exe.to_path_buf(),
            runtime: "kiln".into(),
            events: None,
            names: None,
            cache_misses: None,
            compression: media::Compression::Gzip,
            source_date_epoch: None,
            cache_to: None,
            cache_from: Vec::new(),
        }
    }
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The image manifest's digest (what tags point at).
    pub manifest: kiln_image::Digest,
    /// The config's digest: the image ID.
    pub config: kiln_image::Digest,
    /// The references tagged.
    pub tags: Vec<String>,
    /// How many vertices were solved, and how many came from the cache.
    pub vertices: usize,
    /// Vertices answered from the cache.
    pub cached: usize,
    /// The folder holding every step's full output.
    pub log_dir: PathBuf,
    /// The committed snapshot of the final filesystem (`None`: empty).
    pub snapshot: Option<String>,
    /// Imported cache records that could not be used (their steps ran).
    pub cache_warnings: Vec<String>,
}

/// Why a build failed (one line, except a failed step, whose output tail
/// follows on indented lines).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile does not parse.
    #[error("{0}")]
    Dockerfile(String),
    /// The graph could not be built (unknown stage, cycle, base image,
    /// expansion limits): `Dockerfile:3:5: message`, like parse errors.
    #[error("{file}{}{error}", if error.has_position() { ":" } else { ": " })]
    Graph {
        /// The Dockerfile's name.
        file: String,
        /// What went wrong.
        error: graph::GraphError,
    },
    /// A step failed.
    #[error("{0}")]
    Solve(#[from] SolveError),
    /// The store, context or export failed.
    #[error("{0}")]
    Store(String),
    /// A `--cache-from` directory could not be read, or `--cache-to` failed.
    #[error("{0}")]
    Cache(#[from] LocalCacheError),
}

/// The image store as [`BaseImages`] for graph building.
pub struct StoreImages<'a> {
    /// The content store.
    pub content: &'a ContentStore,
    /// The image index.
    pub images: &'a ImageIndex,
}

impl BaseImages for StoreImages<'_> {
    fn resolve(&self, reference: &str, _platform: &str) -> Result<BaseImage, ImageLookupError> {
        let image = resolve_image(self.content, self.images, reference)?;
        Ok(BaseImage {
            config: image_config::from_doc(&image.config),
        })
    }
}

fn store_err(what: &str) -> impl Fn(String) -> BuildError + '_ {
    move |e| BuildError::Store(format!("{what}: {e}"))
}

/// Runs a whole build into the store of `root`; see the module docs.
pub fn build(root: &Path, request: BuildRequest) -> Result<Built, BuildError> {
    let file = request
        .dockerfile_path
        .as_ref()
        .map_or("Dockerfile".to_string(), |p| p.display().to_string());
    let dockerfile = parse_dockerfile(&request.dockerfile)
        .map_err(|e| BuildError::Dockerfile(e.display_in(&file)))?;
    let content = ContentStore::new(root).map_err(|e| store_err("content store")(e.to_string()))?;
    let lease = Arc::new(tag::lease(root)?);
    let images = ImageIndex::new(root)
        .map_err(|e| store_err("image index")(e.to_string()))?
        .pinned(lease.clone());
    let bases = StoreImages {
        content: &content,
        images: &images,
    };
    let graph = graph::build_graph(&dockerfile, &request.options, &bases).map_err(|error| {
        BuildError::Graph {
            file: file.clone(),
            error,
        }
    })?;
    let context = match &request.context_dir {
        Some(dir) => {
            let ignore = match &request.dockerfile_path {
                Some(p) => Ignore::ForDockerfile(p.clone()),
                None => Ignore::ContextFile,
            };
            let options = OpenOptions {
                ignore,
                kiln_root: Some(root.to_path_buf()),
            };
            let ctx =
                Context::open(dir, options).map_err(|e| store_err("context")(e.to_string()))?;
            Some(Arc::new(ctx))
        }
        None => None,
    };
    let snapshotter = kiln_runtime::rootfs::open_snapshotter(root, None)
        .map_err(|e| store_err("snapshotter")(e.to_string()))?;
    let imported = Imported::open(&request.cache_from)?;
    let build_id = format!("{}-{}", kiln_image::time::now().0, std::process::id());
    let executor = KilnExecutor {
        root: root.to_path_buf(),
        content: content.clone(),
        images: images.clone(),
        snapshotter,
        context: context.clone(),
        helper_exe: request.helper_exe.clone(),
        runtime: request.runtime.clone(),
        secrets: request.secrets.clone(),
        ssh_agents: request.ssh_agents.clone(),
        diff: DiffOptions {
            compression: request.compression,
            source_date_epoch: request.source_date_epoch,
        },
        build_id,
    };
    let local = CacheStore::new(
        root,
        &content,
        executor.snapshotter.as_ref(),
        context.clone(),
    )
    .with_lease(lease.clone());
    let cache = ImportingCache::new(local, imported, &content, executor.snapshotter.as_ref());
    let jobs = match request.jobs {
        // Twice the cores, at least 4: build steps mostly wait (on RUN
        // commands' sleeps, the network, the disk), so capping them at the
        // core count left W1's third independent stage waiting (measured:
        // 5.3 s against BuildKit's 3.2 s, which does not cap at all).
        0 => (2 * std::thread::available_parallelism().map_or(1, |n| n.get())).max(4),
        n => n,
    };
    let events = request.events.clone();
    let forward = move |e: Event| {
        if let Some(f) = &events {
            f(e)
        }
    };
    let names: Vec<String> = (0..graph.len())
        .map(|i| graph.vertex(VertexId(i)).name.clone())
        .collect();
    write_steps(&executor.log_dir(), &names);
    if let Some(f) = &request.names {
        f(&names);
    }
    let scope = format!(
        "{}\0{}",
        request
            .context_dir
            .as_ref()
            .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()))
            .unwrap_or_default()
            .display(),
        file
    );
    let explaining =
        explain::Explaining::new(&executor, &graph, scope, request.cache_misses.clone());
    let solved = Solver::new(&explaining, jobs)
        .with_cache(&cache)
        .with_events(&forward)
        .solve(&graph, &[graph.output()])?;
    if let Some(ctx) = &context {
        let _ = ctx.save_index();
    }
    let created = created_time(request.source_date_epoch);
    let mut doc = assemble(&graph, &solved.outputs, &executor, &created)?;
    let layers: Vec<kiln_image::Digest> = doc.layers.iter().map(|l| l.digest).collect();
    tag::hold(&lease, &layers)?;
    let (manifest, config) = doc
        .write(&content, &created)
        .map_err(|e| store_err("write image")(e.to_string()))?;
    tag::hold(&lease, &[manifest])?;
    tag::tag_all(&content, &images, &request.tags, &manifest)?;
    if let Some(to) = &request.cache_to {
        let roots = local_cache::select(&graph, &solved.outputs, to.mode);
        local_cache::export(&executor, &roots, to)?;
    }
    Ok(Built {
        manifest,
        config,
        tags: request.tags.clone(),
        vertices: solved.outputs.len(),
        cached: solved.cached.len(),
        log_dir: executor.log_dir(),
        snapshot: root_of(&solved.outputs, graph.output())?.snapshot.clone(),
        cache_warnings: cache.warnings(),
    })
}

/// Writes the step names into the build's log folder (best effort: the
/// logs are a convenience, the build does not depend on them).
fn write_steps(dir: &Path, names: &[String]) {
    let _ = std::fs::create_dir_all(dir);
    if let Ok(bytes) = serde_json::to_vec(names) {
        let _ = std::fs::write(dir.join(STEPS_FILE), bytes);
    }
}

fn created_time(epoch: Option<i64>) -> String {
    match epoch {
        Some(e) => kiln_image::time::format_rfc3339(e.max(0) as u64),
        None => {
            let (secs, nanos) = kiln_image::time::now();
            kiln_image::time::format_rfc3339_nanos(secs, nanos)
        }
    }
}

fn root_of(outputs: &BTreeMap<VertexId, Output>, v: VertexId) -> Result<&RootFs, BuildError> {
    outputs
        .get(&v)
        .ok_or_else(|| BuildError::Store(format!("vertex {v} was not solved")))?
        .root()
        .map_err(|e| BuildError::Store(e.to_string()))
}

/// The image document of the target stage; writes the blobs of its built
/// layers (only these: intermediate stages' layers are never exported).
fn assemble(
    graph: &BuildGraph,
    outputs: &BTreeMap<VertexId, Output>,
    executor: &KilnExecutor,
    created: &str,
) -> Result<ImageDoc, BuildError> {
    let (content, images) = (&executor.content, &executor.images);
    let target = graph.target();
    // The bottom of the target's chain: its image or scratch source.
    let mut bottom = target.root;
    while !matches!(graph.vertex(bottom).op, Op::Source(_)) {
        bottom = *graph
            .inputs(bottom)
            .first()
            .ok_or_else(|| BuildError::Store(format!("vertex {bottom} has no input")))?;
    }
    let mut doc = match &graph.vertex(bottom).op {
        Op::Source(graph::SourceOp::Image { reference, .. }) => {
            let image = resolve_image(content, images, reference)
                .map_err(|e| BuildError::Store(e.to_string()))?;
            let base = root_of(outputs, bottom)?;
            if base.image_manifest != Some(image.manifest) {
                return Err(BuildError::Store(format!(
                    "image {reference} changed during the build"
                )));
            }
            ImageDoc::from_base(
                image.config,
                image.layers.iter().map(|l| l.desc()).collect(),
            )
        }
        _ => ImageDoc::scratch(),
    };
    let mut built = Vec::with_capacity(target.history.len());
    for entry in &target.history {
        built.push(match entry.vertex {
            Some(v) if !entry.empty_layer => root_of(outputs, v)?.own.clone(),
            _ => None,
        });
    }
    let blobs = export_built(executor, &built)?;
    for (entry, blob) in target.history.iter().zip(blobs) {
        match blob {
            Some(l) => {
                let layer = Layer {
                    digest: l.digest,
                    size: l.size,
                    diff_id: l.diff_id,
                };
                doc.add_layer(&layer, &l.media_type, created, &entry.created_by);
            }
            None => doc.add_empty(created, &entry.created_by),
        }
    }
    let out = root_of(outputs, target.root)?;
    if doc.layers.len() != out.layers.len() {
        return Err(BuildError::Store(format!(
            "the image would have {} layers but its tree has {}",
            doc.layers.len(),
            out.layers.len()
        )));
    }
    image_config::apply(&target.config, doc.config());
    if let Some(author) = &target.config.author {
        if let Some(o) = doc.doc.as_object_mut() {
            o.insert("author".into(), serde_json::json!(author));
        }
    }
    Ok(doc)
}

/// How many layers are exported at once (each one also compresses on every
/// core; a few at once keep the cores busy through the single-threaded tar
/// and hashing parts of small layers).
const EXPORT_THREADS: usize = 4;

/// The blobs of `layers` (in order; `None` stays `None`), built ones
/// exported a few at a time, blobs (imported from a cache) as they are.
fn export_built(
    executor: &KilnExecutor,
    layers: &[Option<TreeLayer>],
) -> Result<Vec<Option<RootLayer>>, BuildError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<RootLayer, String>>>> =
        Mutex::new(vec![None; layers.len()]);
    let export = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = layers.get(i) else { return };
        let layer = match slot {
            None => continue,
            Some(TreeLayer::Blob(blob)) => {
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(Ok(blob.clone()));
                }
                continue;
            }
            Some(TreeLayer::Built(layer)) => layer,
        };
        let result = built_layer(
            &executor.root,
            executor.snapshotter.as_ref(),
            &executor.content,
            &executor.diff,
            layer,
        )
        .map_err(|e| format!("export layer: {e}"));
        let failed = result.is_err();
        if let Ok(mut all) = results.lock() {
            all[i] = Some(result);
        }
        if failed {
            // Stop handing out more work; the others finish theirs.
            next.store(layers.len(), Ordering::Relaxed);
        }
    };
    let wanted = layers.iter().filter(|l| l.is_some()).count();
    std::thread::scope(|scope| {
        for _ in 1..EXPORT_THREADS.min(wanted) {
            scope.spawn(export);
        }
        export();
    });
    let results = results
        .into_inner()
        .map_err(|_| BuildError::Store("export layer: a worker panicked".into()))?;
    let mut out = Vec::with_capacity(layers.len());
    for (slot, result) in layers.iter().zip(results) {
        match (slot, result) {
            (None, _) => out.push(None),
            (Some(_), Some(Ok(blob))) => out.push(Some(blob)),
            (Some(_), Some(Err(e))) => return Err(BuildError::Store(e)),
            (Some(layer), None) => {
                let what = match layer {
                    TreeLayer::Built(b) => format!("snapshot {}", b.snapshot),
                    TreeLayer::Blob(b) => format!("blob {}", b.digest),
                };
                return Err(BuildError::Store(format!(
                    "export layer of {what}: not exported (an earlier export failed)"
                )));
            }
        }
    }
    Ok(out)
}
