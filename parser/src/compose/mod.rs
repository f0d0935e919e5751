//! Compose files: the pure loader passes (YAML, and later `.env` files,
//! interpolation, merge, schema validation, normalisation).
//!
//! - [`yaml`]: one YAML 1.2 document to a tree of positioned nodes (anchors,
//!   `<<` merge keys, `!reset`/`!override` tags kept), and back to text.
//! - [`schema`]: validation against the compose-spec JSON schema, with
//!   compose-go's error wording and the key path of the violation.
//! - [`merge`]: compose-go's `override.Merge` (one tree over another, with
//!   its per-path rules) and the error type of all the merge passes.
//! - [`unicity`]: compose-go's `EnforceUnicity` (one entry per key in
//!   ports, volumes, labels... after a merge).
//! - [`reset`]: `!reset` and `!override` (compose-go's `ResetProcessor`).
//! - [`files`]: files and documents merged in order, with `include` and
//!   `extends` ([`include`], [`extends`]); reading files and interpolation
//!   are the caller's, through [`files::FileHost`].
//! - [`path`]: dotted key paths and the patterns the rules use;
//!   `gofmt` and `tree` are private helpers (Go's `fmt` output, mapping
//!   edits).

pub mod extends;
pub mod files;
mod gofmt;
pub mod include;
pub mod merge;
pub mod path;
pub mod reset;
pub mod schema;
mod tree;
pub mod unicity;
pub mod yaml;
