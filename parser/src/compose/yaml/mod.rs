//! YAML for Compose files: one document to a tree of [`Node`]s that keep their
//! file position and tag.
//!
//! Compose files are read the way docker compose (compose-go on Go's
//! `yaml.v3`) reads them, which is **YAML 1.2**: `- 8000:8000` is the string
//! `"8000:8000"`, `yes`/`on` are strings, only `true`/`false` (any case form of
//! the core schema) are booleans. Plain scalars resolve with `yaml.v3`'s rules
//! ([`scalar`]): `0x1F`, `0o17`, `017` (Go's octal) and `1_000` are integers,
//! `1e3`/`.5`/`.inf` floats, `~`/`null`/empty null; quoted scalars are always
//! strings.
//!
//! What the tree guarantees (so later passes need not re-check):
//! - anchors and aliases are expanded (bounded: a document that expands to
//!   more than [`MAX_NODES`] nodes is refused, as `yaml.v3` refuses
//!   "excessive aliasing");
//! - `<<` merge keys are applied with the YAML merge-key rules: keys written
//!   in the mapping win, and among merged mappings the earlier one wins;
//! - mapping keys are strings (`123:` is refused with compose-go's wording,
//!   `non-string key in services: 123`), and a key defined twice is refused;
//! - custom tags (`!reset`, `!override`) are kept on the node for the merge
//!   pass; the node's value is resolved as if it had no tag;
//! - nesting deeper than [`MAX_DEPTH`] is refused (no stack overflow later).
//!
//! Parsing is built on the `saphyr-parser` event parser (pure Rust, YAML 1.2,
//! positions on every event). `serde_yaml` was not chosen: it is YAML 1.1-ish
//! in places, keeps no positions and drops `<<` unless merges are applied by
//! hand (see DESIGN.md's measured crate facts).

mod build;
mod emit;
mod json;
pub mod scalar;
#[cfg(test)]
mod tests;

pub use emit::emit;

use std::fmt;

/// The most nodes one document may expand to (aliases count every time they
/// are used). A million nodes is far beyond any real Compose file and keeps
/// memory bounded (a "billion laughs" document fails fast).
pub const MAX_NODES: usize = 1_000_000;

/// The deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 256;

/// A position in a YAML file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One YAML node: its value, where it starts, and its tag when it had a
/// custom one (`"!reset"`, `"!override"`; core tags like `!!str` are applied
/// while resolving and not kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The resolved value.
    pub value: Value,
    /// Where the node starts.
    pub pos: Pos,
    /// A custom tag written on the node, with its `!`.
    pub tag: Option<String>,
}

/// A mapping key: its text and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as a string.
    pub text: String,
    /// Where the key starts.
    pub pos: Pos,
}

impl Key {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A resolved YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A float (also integers beyond `i64`, as Go's decoder would give).
    Float(f64),
    /// A string (every quoted scalar, and plain scalars that are nothing else).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order, string keys only, no duplicates.
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// A node with no position and no tag (for trees built in code).
    pub fn new(value: Value) -> Node {
        Node {
            value,
            pos: Pos::default(),
            tag: None,
        }
    }

    /// The value under `key` when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string when this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for messages (`"a mapping"`, `"a string"`...).
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a YAML document was refused: the file, the position and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{pos}: {reason}")]
pub struct YamlError {
    /// The file name as the caller gave it.
    pub file: String,
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, in one line.
    pub reason: String,
}

/// Parses a file that must hold one YAML document (`text`, named `file` in
/// errors) into a [`Node`].
///
/// An empty file (nothing but comments) gives a `Null` node; a file with
/// several documents is refused (see [`parse_documents`]).
pub fn parse(text: &str, file: &str) -> Result<Node, YamlError> {
    let mut documents = parse_documents(text, file)?;
    match documents.len() {
        0 => Ok(Node {
            value: Value::Null,
            pos: Pos { line: 1, col: 1 },
            tag: None,
        }),
        1 => Ok(documents.remove(0)),
        _ => {
            let pos = documents[1].pos;
            let reason = "expected a single YAML document".to_string();
            Err(YamlError {
                file: file.to_string(),
                pos,
                reason,
            })
        }
    }
}

/// Parses every document of a YAML stream, in order. Compose accepts a file
/// with several documents (`---`): each later one is merged over the earlier
/// ones as an override file would be. Aliases do not cross documents.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Node>, YamlError> {
    build::Builder::new(file).run(text)
}
