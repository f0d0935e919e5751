//! The compiled form of a JSON schema: one [`Node`] per (sub)schema, in an
//! arena, with every `$ref` already resolved to a node index and every regular
//! expression already compiled. Validation never looks at the schema's JSON.

use regex::Regex;
use serde_json::{Number, Value};
use std::collections::HashMap;

/// Index of a [`Node`] in the compiled arena.
pub(super) type NodeId = usize;

/// The seven JSON-schema instance types, in the order santhosh-tekuri/jsonschema
/// (compose-go's validator) lists them in its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JsonType {
    Null,
    Boolean,
    Number,
    Integer,
    String,
    Array,
    Object,
}

impl JsonType {
    /// Every type, in message order.
    pub(super) const ALL: [JsonType; 7] = [
        JsonType::Null,
        JsonType::Boolean,
        JsonType::Number,
        JsonType::Integer,
        JsonType::String,
        JsonType::Array,
        JsonType::Object,
    ];

    /// The keyword spelling (`"object"`, ...).
    pub(super) fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }

    /// Parses a `type` keyword entry.
    pub(super) fn from_name(name: &str) -> Option<JsonType> {
        JsonType::ALL.into_iter().find(|t| t.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`JsonType`]s (the `type` keyword).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TypeSet(u8);

impl TypeSet {
    /// Adds `t` to the set.
    pub(super) fn insert(&mut self, t: JsonType) {
        self.0 |= t.bit();
    }

    /// Whether `t` is in the set.
    pub(super) fn contains(self, t: JsonType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The names in message order (santhosh-tekuri's `Types.ToStrings`).
    pub(super) fn names(self) -> Vec<&'static str> {
        JsonType::ALL
            .into_iter()
            .filter(|t| self.contains(*t))
            .map(JsonType::name)
            .collect()
    }
}

/// What `additionalProperties` says about properties no other keyword named.
#[derive(Debug)]
pub(super) enum Additional {
    /// `false`: any such property is an error.
    Forbidden,
    /// A schema every such property must satisfy.
    Schema(NodeId),
}

/// Keywords that apply to objects.
#[derive(Debug, Default)]
pub(super) struct ObjectRules {
    pub min_properties: Option<usize>,
    pub max_properties: Option<usize>,
    pub required: Vec<String>,
    /// `dependentRequired` (and draft-07 `dependencies` with an array).
    pub dependent_required: Vec<(String, Vec<String>)>,
    /// `dependentSchemas` (and draft-07 `dependencies` with a schema).
    pub dependent_schemas: Vec<(String, NodeId)>,
    pub properties: HashMap<String, NodeId>,
    pub pattern_properties: Vec<(Regex, NodeId)>,
    pub additional: Option<Additional>,
    pub property_names: Option<NodeId>,
}

/// Keywords that apply to arrays.
#[derive(Debug, Default)]
pub(super) struct ArrayRules {
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub unique_items: bool,
    /// `prefixItems` (draft-07: `items` given as an array).
    pub prefix_items: Vec<NodeId>,
    /// `items` for the elements after the prefix (draft-07: `additionalItems`).
    pub items: Option<NodeId>,
    pub contains: Option<NodeId>,
    pub min_contains: Option<usize>,
    pub max_contains: Option<usize>,
}

/// Keywords that apply to strings.
#[derive(Debug, Default)]
pub(super) struct StringRules {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// The compiled pattern and its source text (for messages).
    pub pattern: Option<(Regex, String)>,
}

/// Keywords that apply to numbers.
#[derive(Debug, Default)]
pub(super) struct NumberRules {
    pub minimum: Option<Number>,
    pub maximum: Option<Number>,
    pub exclusive_minimum: Option<Number>,
    pub exclusive_maximum: Option<Number>,
    pub multiple_of: Option<Number>,
}

/// The applicators that combine subschemas on the same value.
#[derive(Debug, Default)]
pub(super) struct LogicRules {
    pub not: Option<NodeId>,
    pub all_of: Vec<NodeId>,
    pub any_of: Vec<NodeId>,
    pub one_of: Vec<NodeId>,
    /// `if`, `then`, `else`.
    pub conditional: Option<(NodeId, Option<NodeId>, Option<NodeId>)>,
}

/// One compiled (sub)schema.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// `Some` for the boolean schemas `true` / `false`.
    pub always: Option<bool>,
    pub types: Option<TypeSet>,
    pub constant: Option<Value>,
    pub enumeration: Option<Vec<Value>>,
    pub reference: Option<NodeId>,
    pub object: ObjectRules,
    pub array: ArrayRules,
    pub string: StringRules,
    pub number: NumberRules,
    pub logic: LogicRules,
}
