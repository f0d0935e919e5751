//! Dockerfile -> build graph.
//!
//! [`BuildGraph::new`] / [`build_graph`] turn a parsed
//! [`Dockerfile`](kiln_parser::dockerfile::Dockerfile) and [`BuildOptions`] into
//! a petgraph DAG of typed [`Op`]s, following BuildKit's Dockerfile frontend:
//!
//! - FROM lines are expanded with the global args only; a FROM naming an
//!   *earlier* stage builds on it, anything else is an image (so `FROM node AS
//!   node` is the image). `COPY --from` / `--mount from=` name any stage (by
//!   name or index, also later ones) or else an image; a numeric reference to
//!   no stage is an error, and so is a circle of stages.
//! - Only the target stage and what it reaches end up in the graph: an unused
//!   stage is never expanded past its FROM line, so it cannot fail the build.
//! - ARG/ENV scoping is the parser's ([`kiln_parser::dockerfile::instructions::scope`]).
//! - Metadata instructions update an [`ImageConfig`] threaded through the
//!   stage instead of becoming vertices (see [`config`]); each stage's history
//!   entries use BuildKit's `created_by` forms ([`created_by`]).
//! - ONBUILD triggers of a base (image config from [`BaseImages`], or an
//!   earlier stage) run first in the child stage, then are cleared.
//!
//! Source vertices (image, scratch, context selections) are shared when equal;
//! vertex ids are creation order, which is a topological order.

mod build;
pub mod config;
pub mod created_by;
mod dispatch;
mod dump;
mod error;
pub mod op;
mod options;
mod order;
mod run;

use kiln_parser::dockerfile::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

pub use build::build_graph;
pub use config::{
    BaseImage, BaseImages, HealthConfig, HistoryEntry, ImageConfig, ImageLookupError, NoBaseImages,
};
pub use error::GraphError;
pub use op::{
    AddOptions, ContextOp, CopySource, ExecMount, ExecOp, FileAction, MkdirOp, MountKind, Op,
    SourceOp,
};
pub use options::{BuildOptions, Platform, PROXY_ARGS};

/// Identifies a vertex of one [`BuildGraph`] (its creation index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VertexId(pub usize);

impl std::fmt::Display for VertexId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One unit of build work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    /// What to do.
    pub op: Op,
    /// The Dockerfile lines it comes from (`None` for internal vertices).
    pub span: Option<Span>,
    /// The stage index it belongs to (`None` for shared sources).
    pub stage: Option<usize>,
    /// The progress name, BuildKit-style: `[build 2/5] RUN make`.
    pub name: String,
    /// The history `created_by` of the layer this vertex makes, if any.
    pub created_by: Option<String>,
    /// `--no-cache` / `--no-cache-filter`: never answered from the cache.
    pub ignore_cache: bool,
}

/// One built stage: its final filesystem vertex, config and history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOutput {
    /// The stage's index in the Dockerfile.
    pub index: usize,
    /// Its name, if any.
    pub name: Option<String>,
    /// The vertex holding its final filesystem.
    pub root: VertexId,
    /// The image config after its last instruction. For a stage other than
    /// the target, emptied once every stage built `FROM` it is built (only
    /// those read it; this keeps long chains of stages from holding a copy
    /// per stage).
    pub config: ImageConfig,
    /// The history entries of the image, base's first (emptied like
    /// `config`).
    pub history: Vec<HistoryEntry>,
    /// The platform the stage is built for.
    pub platform: String,
    /// The stage's declared ARGs with their values, in declaration order: a
    /// stage built `FROM` this one inherits them (BuildKit's behaviour;
    /// emptied like `config`).
    pub args: Vec<(String, String)>,
}

/// The DAG of a build: vertices are [`Vertex`]es, an edge `a -> b` with
/// weight `slot` means `b` reads `a`'s output as its input number `slot`.
#[derive(Debug, Clone)]
pub struct BuildGraph {
    graph: DiGraph<Vertex, usize>,
    stages: Vec<StageOutput>,
    target: usize,
}

impl BuildGraph {
    /// Builds the graph with base images unknown (empty configs); see
    /// [`build_graph`] to supply them.
    pub fn new(
        dockerfile: &kiln_parser::dockerfile::Dockerfile,
        options: &BuildOptions,
    ) -> Result<BuildGraph, GraphError> {
        build_graph(dockerfile, options, &NoBaseImages)
    }

    /// The petgraph graph itself, for algorithms and visualisation.
    pub fn petgraph(&self) -> &DiGraph<Vertex, usize> {
        &self.graph
    }

    /// The number of vertices.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True when there is no vertex (never for a built graph).
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Every vertex id, in creation (topological) order.
    pub fn vertex_ids(&self) -> impl Iterator<Item = VertexId> {
        (0..self.graph.node_count()).map(VertexId)
    }

    /// The vertex `id`.
    ///
    /// # Panics
    /// When `id` is not a vertex of this graph (ids come from the graph).
    pub fn vertex(&self, id: VertexId) -> &Vertex {
        &self.graph[NodeIndex::new(id.0)]
    }

    /// The inputs of `id`, by slot.
    pub fn inputs(&self, id: VertexId) -> Vec<VertexId> {
        let mut edges: Vec<(usize, VertexId)> = self
            .graph
            .edges_directed(NodeIndex::new(id.0), Direction::Incoming)
            .map(|e| (*e.weight(), VertexId(e.source().index())))
            .collect();
        edges.sort();
        edges.into_iter().map(|(_, v)| v).collect()
    }

    /// The stages that were built (the target and what it needs), in the
    /// order they were finished.
    pub fn stages(&self) -> &[StageOutput] {
        &self.stages
    }

    /// The target stage.
    pub fn target(&self) -> &StageOutput {
        &self.stages[self.target]
    }

    /// The vertex whose output is the target's filesystem.
    pub fn output(&self) -> VertexId {
        self.target().root
    }

    /// Adds a vertex with its inputs (slot = position); returns its id.
    fn add(&mut self, vertex: Vertex, inputs: &[VertexId]) -> VertexId {
        let node = self.graph.add_node(vertex);
        for (slot, input) in inputs.iter().enumerate() {
            self.graph.add_edge(NodeIndex::new(input.0), node, slot);
        }
        VertexId(node.index())
    }

    /// Removes the vertices created after the first `len` (an attempt to
    /// build a stage that has to wait for another one, see [`order`]).
    /// Removing the last node never renumbers the others.
    fn truncate(&mut self, len: usize) {
        while self.graph.node_count() > len {
            let last = NodeIndex::new(self.graph.node_count() - 1);
            self.graph.remove_node(last);
        }
    }

    /// A source vertex, shared with an equal existing one.
    fn add_source(&mut self, vertex: Vertex) -> VertexId {
        let existing = self.graph.node_indices().find(|&n| {
            self.graph[n].op == vertex.op && self.graph[n].ignore_cache == vertex.ignore_cache
        });
        match existing {
            Some(n) => VertexId(n.index()),
            None => self.add(vertex, &[]),
        }
    }
}
