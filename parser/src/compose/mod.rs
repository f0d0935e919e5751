//! Compose files: the pure loader passes (YAML, and later `.env` files,
//! interpolation, merge, schema validation, normalisation).
//!
//! - [`yaml`]: one YAML 1.2 document to a tree of positioned nodes (anchors,
//!   `<<` merge keys, `!reset`/`!override` tags kept), and back to text.
//! - [`schema`]: validation against the compose-spec JSON schema, with
//!   compose-go's error wording and the key path of the violation.

pub mod schema;
pub mod yaml;
