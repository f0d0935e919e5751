//! `kiln-parser`: pure text -> typed model.
//!
//! Everything here is a pure function of its input text: no filesystem access
//! (callers read the files), no environment lookups (callers pass the variables).
//! That keeps the parsers golden-testable and fuzzable.
//!
//! - [`dockerfile`]: Dockerfile syntax (directives, continuations, heredocs, the
//!   BuildKit-compatible AST and its dump format) and the typed model built on it
//!   (one enum variant per instruction, stages).
//! - [`shell`]: shell-word expansion with BuildKit's semantics (`$V`, `${V:-w}`,
//!   `${V#p}`, `${V/p/r}`, quotes, escapes, word splitting).
//! - [`dockerignore`]: `.dockerignore` patterns with Docker's matching rules.
//! - [`values`]: Docker's value syntaxes (`-v`, `--mount`, sizes, durations,
//!   signals, restart policies, port specs...), shared by the CLI and Compose.
//!
//! - [`compose`]: Compose files (YAML with positions and tags, `.env` files,
//!   interpolation, schema, merge, the loader).

pub mod compose;
pub mod dockerfile;
pub mod dockerignore;
pub mod shell;
pub mod values;

mod gostr;
pub use gostr::go_quote;
