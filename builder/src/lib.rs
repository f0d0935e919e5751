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
//! - [`context`]: the build context read in place, `.dockerignore` applied,
//!   content checksums of exactly what a COPY selects, a stat-keyed hash index
//!   in the kiln root.
//! - [`executor`]: kiln's [`Executor`](solver::Executor): image sources, RUN
//!   as one-shot containers (`kiln oneshot-run`), COPY/ADD and WORKDIR on
//!   snapshots; [`cache_store`]: the persistent cache records;
//!   [`cache_miss`]: why a step missed the cache (`--debug-cache`), typed.
//! - [`export`]: layers from snapshots and the image's config and manifest.
//! - [`build`]: the driver `kiln build` calls: parse, resolve bases, graph,
//!   solve, export, tag.
//! - [`context_source`]: where the context comes from (a directory, a tar on
//!   standard input, a git repository); [`output`]: `--output` (image store,
//!   oci/docker archive, rootfs tar, local directory).
//! - [`disk_usage`]: `system df` (images, containers, build cache).
//! - [`image_remove`]: `rmi` and `image prune` under Docker's rules (names,
//!   conflicts with containers, blobs, then unused snapshots).
//! - [`local_cache`]: `--cache-to`/`--cache-from type=local` cache
//!   directories (an OCI layout of layer blobs and a cache config).
//!
//! Keys, checksums and blobs all use [`kiln_image::Digest`] (re-exported as
//! [`Digest`]).

pub mod build;
pub mod cache_miss;
pub mod cache_prune;
pub mod cache_store;
pub mod context;
pub mod context_source;
pub mod disk_usage;
pub mod executor;
pub mod export;
mod fsutil;
pub mod graph;
pub mod image_remove;
pub mod local_cache;
pub mod output;
pub mod snapshot_gc;
pub mod solver;

pub use kiln_image::Digest;
