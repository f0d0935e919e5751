//! What validation reports: a [`Violation`] (key path + [`Reason`]), and the
//! [`SchemaError`] / [`CompileError`] enums at this module's boundary.

use serde_json::{Number, Value};
use std::fmt;

/// One step of the key path from the document root to the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index (from 0).
    Index(usize),
}

impl fmt::Display for PathSeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSeg::Key(k) => f.write_str(k),
            PathSeg::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Why a value failed: one variant per failing schema keyword, carrying what
/// the message needs. `Display` gives compose-go's wording (see `render.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// `type`: the accepted type names, in `null, boolean, number, integer,
    /// string, array, object` order.
    Type { want: Vec<&'static str> },
    /// `const`: the one accepted value.
    Const { want: Value },
    /// `enum`: the accepted values.
    Enum { want: Vec<Value> },
    /// `required`: the missing property names, in schema order.
    Required { missing: Vec<String> },
    /// `dependentRequired` / `dependencies`: `prop` is present, `missing` are not.
    DependentRequired { prop: String, missing: Vec<String> },
    /// `additionalProperties: false`: the names no other keyword allowed.
    AdditionalProperties { names: Vec<String> },
    /// `propertyNames`: this name failed the name schema.
    PropertyName { name: String },
    /// `minProperties`.
    MinProperties { got: usize, want: usize },
    /// `maxProperties`.
    MaxProperties { got: usize, want: usize },
    /// `minItems`.
    MinItems { got: usize, want: usize },
    /// `maxItems`.
    MaxItems { got: usize, want: usize },
    /// `uniqueItems`: the first pair of equal items (earlier index first).
    UniqueItems { first: usize, second: usize },
    /// `contains`: no item matched.
    Contains,
    /// `minContains`: the indexes that matched.
    MinContains { got: Vec<usize>, want: usize },
    /// `maxContains`: the indexes that matched.
    MaxContains { got: Vec<usize>, want: usize },
    /// `minLength` (in characters).
    MinLength { got: usize, want: usize },
    /// `maxLength` (in characters).
    MaxLength { got: usize, want: usize },
    /// `pattern`: the string and the pattern it does not match.
    Pattern { got: String, pattern: String },
    /// `minimum`.
    Minimum { got: Number, want: Number },
    /// `maximum`.
    Maximum { got: Number, want: Number },
    /// `exclusiveMinimum`.
    ExclusiveMinimum { got: Number, want: Number },
    /// `exclusiveMaximum`.
    ExclusiveMaximum { got: Number, want: Number },
    /// `multipleOf`.
    MultipleOf { got: Number, want: Number },
    /// `not`: the value matched the negated schema.
    Not,
    /// The schema `false`.
    FalseSchema,
    /// `oneOf`: two subschemas (by index) matched.
    OneOfMany { first: usize, second: usize },
    /// A `$ref` chain that loops without descending into the value.
    RefCycle,
}

/// One schema violation: where (key path) and why.
///
/// `Display` is compose-go's rendering, `<dotted.path> <reason>`, e.g.
/// `services.foo.image must be a string` (for the document root, where the
/// path is empty, only the reason).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", super::render::violation(self))]
pub struct Violation {
    /// Key path from the root, so a caller can map it to a file line/column.
    pub path: Vec<PathSeg>,
    /// The failed rule.
    pub reason: Reason,
}

impl Violation {
    /// The path joined with dots (`services.web.ports.0`), as compose-go prints it.
    pub fn dotted_path(&self) -> String {
        let segs: Vec<String> = self.path.iter().map(ToString::to_string).collect();
        segs.join(".")
    }

    /// compose-go's `specificity`: the path length, plus one for an
    /// `additionalProperties` violation. The highest wins (first on ties).
    pub fn specificity(&self) -> usize {
        let bonus = usize::from(matches!(self.reason, Reason::AdditionalProperties { .. }));
        self.path.len() + bonus
    }
}

/// Why a schema could not be compiled (a bug in the embedded schema, or a
/// caller's schema using something this validator does not implement).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// The schema text is not JSON.
    #[error("schema is not valid JSON: {reason}")]
    Json { reason: String },
    /// An assertion keyword this validator does not implement.
    #[error("schema at '{pointer}': keyword '{keyword}' is not supported")]
    Unsupported { pointer: String, keyword: String },
    /// A keyword with a value of the wrong shape.
    #[error("schema at '{pointer}': keyword '{keyword}' {reason}")]
    Keyword { pointer: String, keyword: String, reason: &'static str },
    /// A `$ref` that does not point inside the schema.
    #[error("schema at '{pointer}': $ref '{reference}' does not resolve inside the schema")]
    Ref { pointer: String, reference: String },
    /// A `pattern` / `patternProperties` key that is not a regular expression.
    #[error("schema at '{pointer}': pattern '{pattern}' is invalid: {reason}")]
    Pattern { pointer: String, pattern: String, reason: String },
}

/// The error of [`super::validate`]: the document broke a rule, or the
/// embedded schema failed to compile.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// The most specific violation, chosen as compose-go chooses it.
    #[error(transparent)]
    Invalid(#[from] Violation),
    /// The compose-spec schema itself did not compile.
    #[error("compose-spec schema: {0}")]
    Compile(#[from] CompileError),
}
