//! The real executor: turns graph vertices into committed snapshots and
//! layer blobs, using the kiln root's snapshotter and content store.
//!
//! Every root-filesystem vertex produces a [`RootFs`]: the committed snapshot
//! holding the whole tree (`None` = the empty tree of `FROM scratch`), the
//! layers that make it (base image blobs, then built layers kept as
//! snapshots until an image needs them), and the layer the vertex itself
//! added. Committed snapshots are named after the vertex's cache key
//! (`build-<key hex>`), so identical steps share snapshots and the persistent
//! cache ([`crate::cache_store`]) finds them in a later build. Context
//! vertices produce the build's one shared [`Context`] handle.
//!
//! Per op: [`source`] (image or scratch, unpacked from the local store;
//! kiln does not pull yet), [`exec`] (RUN through `kiln oneshot-run` in a
//! child process, because libcontainer must not run on the solver's worker
//! threads), [`mkdir`] (WORKDIR), [`fileop`] (COPY/ADD via [`file::apply`]).
//! [`snapshot`] holds the shared "prepare, mount, change, export, commit"
//! steps.

mod context_view;
mod exec;
mod exec_mounts;
pub mod file;
mod fileop;
mod hardlink_clone;
mod mkdir;
mod rebase;
mod snapshot;
pub mod source;
mod ssh_proxy;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use kiln_image::{ContentStore, ImageIndex};
use kiln_snapshotter::{DiffOptions, Snapshotter};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::export::LayerDesc;
use crate::graph::{Op, Vertex};
use crate::solver::{CacheKey, ComputedKey, ExecContext, ExecError, Executor};
use crate::Digest;

/// A layer blob in the content store (a base image's layer, or a built
/// layer once exported): its manifest descriptor and its diff_id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootLayer {
    /// The blob's media type.
    pub media_type: String,
    /// The blob's digest.
    pub digest: kiln_image::Digest,
    /// The blob's size.
    pub size: u64,
    /// The uncompressed tar's digest (config `rootfs.diff_ids`).
    pub diff_id: kiln_image::Digest,
}

impl RootLayer {
    /// The manifest descriptor of this layer.
    pub fn desc(&self) -> LayerDesc {
        LayerDesc {
            media_type: self.media_type.clone(),
            digest: self.digest,
            size: self.size,
        }
    }
}

/// A layer a build step made, kept as its committed snapshot: it becomes a
/// blob only when an image needs it ([`crate::export::built_layer`]), so
/// the layers of intermediate stages are never diffed or compressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltLayer {
    /// The step's committed snapshot (its own changes over `parent`).
    pub snapshot: String,
    /// The committed snapshot below it (`None`: the empty tree).
    pub parent: Option<String>,
}

/// One layer of a [`RootFs`]'s tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeLayer {
    /// A base image's layer (a blob already in the store).
    Blob(RootLayer),
    /// A layer this or an earlier build made (a committed snapshot).
    Built(BuiltLayer),
}

/// A root filesystem produced by a vertex (cheap to clone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// The vertex's cache key (named snapshots and cache entries derive from it).
    #[serde(with = "key_serde")]
    pub key: CacheKey,
    /// The committed snapshot with the whole tree; `None` = empty (scratch).
    pub snapshot: Option<String>,
    /// Every layer of the tree, bottom first.
    pub layers: Vec<TreeLayer>,
    /// The layer this vertex added (`None` for sources): a built snapshot,
    /// or a blob for a result imported with `--cache-from`
    /// ([`crate::local_cache`]). Always the last of `layers`.
    pub own: Option<TreeLayer>,
    /// For image sources: the manifest digest of the base image.
    pub image_manifest: Option<kiln_image::Digest>,
}

/// What a vertex produces.
#[derive(Debug, Clone)]
pub enum Output {
    /// A root filesystem.
    Root(RootFs),
    /// The build context (shared by all context vertices of a build).
    Context {
        /// The vertex's cache key.
        key: CacheKey,
        /// The opened context.
        context: Arc<Context>,
    },
}

impl Output {
    /// The cache key of the vertex that produced this output.
    pub fn key(&self) -> CacheKey {
        match self {
            Output::Root(r) => r.key,
            Output::Context { key, .. } => *key,
        }
    }

    /// The root filesystem, or an error naming what was found instead.
    pub fn root(&self) -> Result<&RootFs, ExecError> {
        match self {
            Output::Root(r) => Ok(r),
            Output::Context { .. } => Err(ExecError::other(
                "expected a root filesystem input, got the build context",
            )),
        }
    }
}

/// Runs vertices for real; see the module docs.
pub struct KilnExecutor {
    /// The kiln root (`--root`).
    pub root: PathBuf,
    /// The content store of the root.
    pub content: ContentStore,
    /// The image index of the root.
    pub images: ImageIndex,
    /// The root's snapshotter.
    pub snapshotter: Box<dyn Snapshotter>,
    /// The build context, opened once per build (`None`: no context given).
    pub context: Option<Arc<Context>>,
    /// The `kiln` executable, started as `kiln oneshot-run JOB` for RUN.
    pub helper_exe: PathBuf,
    /// The low-level runtime RUN uses (`kiln`, `crun`, `runc`).
    pub runtime: String,
    /// Secrets by id (RUN --mount=type=secret); never written to a layer.
    pub secrets: BTreeMap<String, Vec<u8>>,
    /// SSH agent sockets by id (RUN --mount=type=ssh); forwarded, never
    /// written to a layer.
    pub ssh_agents: BTreeMap<String, PathBuf>,
    /// How layers are written (compression, SOURCE_DATE_EPOCH clamping).
    pub diff: DiffOptions,
    /// This build's id: names the log folder `<root>/builder/logs/<id>/`.
    pub build_id: String,
}

impl KilnExecutor {
    /// The folder for this build's per-step logs.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("builder/logs").join(&self.build_id)
    }

    /// The context handle, or an error when the build has none.
    fn context(&self) -> Result<&Arc<Context>, ExecError> {
        self.context
            .as_ref()
            .ok_or_else(|| ExecError::other("this build has no context directory"))
    }
}

impl Executor for KilnExecutor {
    type Output = Output;

    fn content_digest(
        &self,
        vertex: &Vertex,
        inputs: &[Output],
        _cx: &ExecContext<'_>,
    ) -> Result<Option<Digest>, ExecError> {
        match &vertex.op {
            Op::Source(op) => source::content_digest(self, op),
            Op::Context(op) => {
                let selection = crate::context::Selection {
                    sources: op.include.clone(),
                    excludes: op.exclude.clone(),
                    parents: false,
                };
                let digest = self
                    .context()?
                    .checksum(&selection)
                    .map_err(|e| ExecError::other(format!("checksum of the context: {e}")))?;
                Ok(Some(digest))
            }
            Op::File(action) => fileop::content_digest(self, action, inputs),
            Op::Exec(_) | Op::Mkdir(_) => Ok(None),
        }
    }

    /// Runs `vertex` under the key the solver computed (never recomputed
    /// here: a `COPY --from` mounts and walks its source once for its
    /// digest, then once to copy).
    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[Output],
        computed: &ComputedKey,
        cx: &ExecContext<'_>,
    ) -> Result<Output, ExecError> {
        let key = computed.key;
        match &vertex.op {
            Op::Source(op) => source::execute(self, op, key).map(Output::Root),
            Op::Context(_) => Ok(Output::Context {
                key,
                context: Arc::clone(self.context()?),
            }),
            Op::Exec(op) => exec::execute(self, op, inputs, key, cx).map(Output::Root),
            Op::Mkdir(op) => mkdir::execute(self, op, inputs, key).map(Output::Root),
            Op::File(action) => {
                fileop::execute(self, vertex, action, inputs, computed).map(Output::Root)
            }
        }
    }
}

/// Cache keys as `sha256:<hex>` strings in JSON.
mod key_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::solver::CacheKey;
    use crate::Digest;

    pub fn serialize<S: Serializer>(key: &CacheKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.0.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CacheKey, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Digest>()
            .ok()
            .map(CacheKey)
            .ok_or_else(|| serde::de::Error::custom(format!("bad cache key {text:?}")))
    }
}
