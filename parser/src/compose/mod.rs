//! Compose: the text passes of the loader, each a pure function.
//!
//! - [`env_map`]: an insertion-ordered `KEY -> value` map (what `.env` files
//!   and `environment:` produce; keys keep the order they were first set in).
//! - [`interpolate`]: compose-go's `${...}` template substitution of one string.
//! - [`interpolate_tree`]: the same substitution over every string leaf of a
//!   model tree, with the key path in errors.
//! - [`interpolate_cast`]: the keys whose strings compose casts to numbers or
//!   booleans once interpolated.
//! - [`variables`]: the variables a model refers to (`config --variables`).
//! - [`dotenv`]: `.env` / `env_file` parsing with compose-go's rules.
//! - [`env_files`]: several env files in order (the project `.env` and
//!   `--env-file`s) and a service's `env_file` + `environment` resolution.

pub mod dotenv;
pub mod env_files;
pub mod env_map;
pub mod interpolate;
pub mod interpolate_cast;
pub mod interpolate_tree;
pub mod variables;
