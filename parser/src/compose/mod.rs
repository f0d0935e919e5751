//! Compose files: the pure passes of the loader (see DESIGN.md: yaml ->
//! dotenv -> interpolate -> merge -> extends/include -> validate -> canonical).
//!
//! - [`schema`]: validation against the compose-spec JSON schema, with
//!   compose-go's error wording.

pub mod schema;
