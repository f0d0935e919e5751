//! Compose files: the pure loader passes (YAML, `.env` files, interpolation,
//! and later merge, normalisation), each a pure function of its input.
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

pub mod dotenv;
pub mod env_files;
pub mod env_map;
pub mod interpolate;
pub mod interpolate_cast;
pub mod interpolate_node;
pub mod interpolate_tree;
pub mod schema;
pub mod variables;
pub mod yaml;
