//! Validation of a Compose model against the compose-spec JSON schema.
//!
//! The schema is compose-go's `schema/compose-spec.json` (JSON Schema draft
//! 2020-12), embedded as [`COMPOSE_SPEC_JSON`] and compiled once per process.
//! Input is the model as `serde_json::Value`, typically before interpolation:
//! the schema itself accepts `${VAR}` strings where numbers or booleans are
//! expected (`oneOf` / `type: [integer, string]`), so nothing special is done
//! for them here.
//!
//! [`validate`] answers as compose-go's `schema.Validate` does: the one most
//! specific violation (deepest key path, an `additionalProperties` violation
//! counting one deeper, the first on ties), rendered `<dotted.path> <reason>`
//! in compose-go's words (`services.foo.image must be a string`,
//! `services.foo additional properties 'x' not allowed`,
//! `services.web.develop.watch.0 missing property 'action'`). Each
//! [`Violation`] also carries the key path as segments, so the loader can map
//! it to a file line and column. [`violations`] lists every leaf violation.
//!
//! ## Why a hand-written validator
//!
//! The compose schema uses thirteen keywords (`$ref`, `type`, `properties`,
//! `patternProperties`, `additionalProperties`, `required`, `enum`, `items`,
//! `uniqueItems`, `oneOf`, `minimum`, `maximum`, `pattern`); the rest of
//! draft 2020-12 that a schema like it would plausibly use is implemented too
//! (`const`, `anyOf`, `allOf`, `not`, `if`/`then`/`else`, `prefixItems`,
//! `contains`, `min/maxItems`, `min/maxProperties`, `min/maxLength`,
//! `exclusiveMinimum/Maximum`, `multipleOf`, `propertyNames`,
//! `dependentRequired`, `dependentSchemas`, draft-07 `dependencies`), and the
//! rest is refused at compile time. About 700 lines against the `jsonschema`
//! crate's dependency tree (fancy-regex, an HTTP stack unless trimmed, ...)
//! and, decisively, its error model: reproducing compose-go's message means
//! reproducing *which* error compose-go picks, the first most specific leaf
//! of santhosh-tekuri/jsonschema's error tree, and that requires the leaves
//! in that validator's order, including the failures of every `oneOf` branch.
//! A walker of our own produces exactly those leaves (see `validate.rs`).
//!
//! Upstream behaviours kept: `format` is an annotation (draft 2020-12 without
//! format assertion, as compose-go compiles it); an integral float is an
//! `integer`; numbers compare by value in `enum`/`const`/`uniqueItems`.
//! Differences: Go visits object members in random order, this walker in
//! document order (so ties are broken deterministically); patterns run on
//! Rust's `regex`, whose `\w \d \s \b` are Unicode-aware where Go's are ASCII
//! (the compose schema uses none of them); at the document root the message
//! is the reason alone (compose-go prints a leading space).
//!
//! Modules: `compile` (schema JSON -> node arena), `node` (the compiled
//! form), `validate` (the walker), `values` (types, numbers, equality),
//! `render` (compose-go's wording), `error` (the public error types).

mod compile;
mod error;
mod node;
mod render;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use error::{CompileError, PathSeg, Reason, SchemaError, Violation};

use serde_json::Value;
use std::sync::OnceLock;

/// The compose-spec JSON schema compose-go validates with (draft 2020-12).
pub const COMPOSE_SPEC_JSON: &str = include_str!("compose-spec.json");

/// A compiled JSON schema, ready to validate many documents.
pub struct Validator {
    compiled: compile::Compiled,
}

impl Validator {
    /// Compiles a schema document (resolving `$ref`s and regular expressions once).
    pub fn compile(schema: &Value) -> Result<Validator, CompileError> {
        Ok(Validator { compiled: compile::compile(schema)? })
    }

    /// The compose-spec validator, compiled on first use and shared after.
    pub fn compose_spec() -> Result<&'static Validator, CompileError> {
        static COMPOSE: OnceLock<Result<Validator, CompileError>> = OnceLock::new();
        COMPOSE
            .get_or_init(|| {
                let schema: Value = serde_json::from_str(COMPOSE_SPEC_JSON)
                    .map_err(|e| CompileError::Json { reason: e.to_string() })?;
                Validator::compile(&schema)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every leaf violation of `value`, in santhosh-tekuri/jsonschema's order.
    pub fn violations(&self, value: &Value) -> Vec<Violation> {
        validate::Walk::run(&self.compiled.nodes, self.compiled.root, value)
    }

    /// `Ok` if `value` is valid, else the most specific violation (compose-go's choice).
    pub fn validate(&self, value: &Value) -> Result<(), Violation> {
        match most_specific(self.violations(value)) {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }
}

/// Validates a Compose model against the compose-spec schema, reporting the
/// violation compose-go would report.
pub fn validate(model: &Value) -> Result<(), SchemaError> {
    Ok(Validator::compose_spec()?.validate(model)?)
}

/// Every leaf violation of a Compose model (the first most specific one is
/// what [`validate`] reports).
pub fn violations(model: &Value) -> Result<Vec<Violation>, SchemaError> {
    Ok(Validator::compose_spec()?.violations(model))
}

/// compose-go's `getMostSpecificError` over the leaves in tree order: the
/// first one with the highest [`Violation::specificity`].
fn most_specific(leaves: Vec<Violation>) -> Option<Violation> {
    let mut best: Option<Violation> = None;
    for leaf in leaves {
        if best.as_ref().is_none_or(|b| leaf.specificity() > b.specificity()) {
            best = Some(leaf);
        }
    }
    best
}
