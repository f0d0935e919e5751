//! Runs a [`BuildGraph`](crate::graph::BuildGraph).
//!
//! [`Solver`] is a generic scheduler over an [`Executor`] (the thing that
//! really pulls images, runs containers and copies files; tests use fakes):
//!
//! - only the ancestors of the requested vertices run, each exactly once, in
//!   dependency order; independent ones run at the same time on a pool of
//!   `jobs` threads (`std::thread::scope` + channels, no async runtime);
//! - before running a vertex its [`CacheKey`] is computed, once
//!   ([`cache_key::explain`]: op definition + input keys + the content
//!   digest the executor supplies for context-reading ops, asked once), shown
//!   to the executor ([`Executor::keyed`]) and the [`CacheLookup`] is asked; a
//!   hit skips execution and emits [`Event::Cached`]; a miss hands the same
//!   [`ComputedKey`] to [`Executor::execute`], which never recomputes it;
//! - [`KeyChange`]: what differs between two keys' preimages, typed;
//! - on the first error no new vertex starts, the [`CancelToken`] is set so
//!   running ones can stop, the solver waits for them and returns the failing
//!   vertex's error with its Dockerfile line and the tail of its output;
//! - progress goes out as [`Event`]s through a callback.

pub mod cache_key;
mod cancel;
mod error;
mod event;
mod key_change;
mod scheduler;

pub use cache_key::{cache_key, explain, CacheKey, ComputedKey, KeyExplanation, KEY_VERSION};
pub use cancel::CancelToken;
pub use error::{ExecError, SolveError};
pub use event::Event;
pub use key_change::KeyChange;
pub use scheduler::{CacheLookup, ExecContext, Executor, NoCache, Solved, Solver};
