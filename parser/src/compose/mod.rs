//! Compose files: the pure loader passes (YAML, `.env` files, interpolation,
//! merge, schema validation, and later normalisation), each a pure function
//! of its input.
//!
//! - [`yaml`]: one YAML 1.2 document to a tree of positioned nodes (anchors,
//!   `<<` merge keys, `!reset`/`!override` tags kept), and back to text.
//! - [`schema`]: validation against the compose-spec JSON schema, with
//!   compose-go's error wording and the key path of the violation.
//! - [`env_map`]: an insertion-ordered `KEY -> value` map (what `.env` files
//!   and `environment:` produce; keys keep the order they were first set in).
//! - [`dotenv`]: `.env` / `env_file` parsing with compose-go's rules.
//! - [`env_files`]: several env files in order (the project `.env` and
//!   `--env-file`s) and a service's `env_file` + `environment` resolution.
//! - [`interpolate`]: compose-go's `${...}` template substitution of one string.
//! - [`interpolate_tree`]: the same substitution over every string leaf of a
//!   model tree, with the key path in errors.
//! - [`interpolate_node`]: the same over a [`yaml::Node`] tree, errors with
//!   line, column and key path.
//! - [`interpolate_cast`]: the keys whose strings compose casts to numbers or
//!   booleans once interpolated.
//! - [`variables`]: the variables a model refers to (`config --variables`).
//! - [`loader`]: options, file discovery, the per-file pipeline,
//!   normalisation, the canonical model and the consistency checks: files,
//!   `.env` and flags in, the project docker compose would load out.
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

pub mod dotenv;
pub mod env_files;
pub mod env_map;
pub mod extends;
pub mod files;
mod gofmt;
pub mod include;
pub mod interpolate;
pub mod interpolate_cast;
pub mod interpolate_node;
pub mod interpolate_tree;
pub mod loader;
pub mod merge;
pub mod path;
pub mod reset;
pub mod schema;
mod tree;
pub mod unicity;
pub mod variables;
pub mod yaml;
