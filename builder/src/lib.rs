//! `kiln-builder`: Dockerfile stages -> build graph -> solver -> image.
//!
//! Layers, each usable on its own:
//! - [`graph`]: a parsed [`Dockerfile`](kiln_parser::dockerfile::Dockerfile) plus
//!   [`BuildOptions`](graph::BuildOptions) -> a [`BuildGraph`](graph::BuildGraph):
//!   a petgraph DAG of typed ops (image/scratch/context sources, exec, file ops,
//!   mkdir) holding only what the target stage needs, with the image config of
//!   every built stage threaded alongside (as BuildKit keeps it out of LLB).
//! - [`solver`]: runs a graph with a pluggable [`Executor`](solver::Executor):
//!   independent vertices at the same time on a bounded pool, each once, in
//!   dependency order; versioned content-based cache keys with an explanation
//!   of their preimage; progress events; clean stop on the first error.
//!
//! Still to come (later issues): executors (RUN via the runtime, file ops via
//! the snapshotter), exporters, the persistent cache, the CLI.

pub mod context;
pub mod digest;
pub mod export;
pub mod graph;
pub mod solver;

pub use digest::Digest;
pub mod build;
pub mod cache_store;
pub mod executor;
