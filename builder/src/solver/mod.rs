//! Runs a [`BuildGraph`](crate::graph::BuildGraph).
//!
//! [`Solver`] is a generic scheduler over an [`Executor`] (the thing that
//! really pulls images, runs containers and copies files; tests use fakes):
//!
//! - only the ancestors of the requested vertices run, each exactly once, in
//!   dependency order; independent ones run at the same time on a pool of
//!   `jobs` threads (`std::thread::scope` + channels, no async runtime);
//! - before running a vertex its [`CacheKey`] is computed
//!   ([`cache_key::cache_key`]: op definition + input keys + the content
//!   digest the executor supplies for context-reading ops) and the
//!   [`CacheLookup`] is asked; a hit skips execution and emits
//!   [`Event::Cached`];
//! - on the first error no new vertex starts, the [`CancelToken`] is set so
//!   running ones can stop, the solver waits for them and returns the failing
//!   vertex's error with its Dockerfile line and the tail of its output;
//! - progress goes out as [`Event`]s through a callback.

pub mod cache_key;
mod cancel;
mod error;
mod event;
mod scheduler;

pub use cache_key::{cache_key, explain, CacheKey, KeyExplanation, KEY_VERSION};
pub use cancel::CancelToken;
pub use error::{ExecError, SolveError};
pub use event::Event;
pub use scheduler::{CacheLookup, ExecContext, Executor, NoCache, Solved, Solver};
