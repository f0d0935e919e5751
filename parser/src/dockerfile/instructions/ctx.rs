//! The node being typed, with helpers that point errors at the offending text.

use crate::dockerfile::ast::{Args, Node};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::span::Position;

/// One AST node under typing.
pub(crate) struct Ctx<'a> {
    /// The node.
    pub node: &'a Node,
    /// Its keyword in upper case, for messages (`COPY requires ...`).
    pub keyword: String,
}

impl<'a> Ctx<'a> {
    /// Wraps `node`.
    pub fn new(node: &'a Node) -> Self {
        Ctx {
            node,
            keyword: node.keyword.to_ascii_uppercase(),
        }
    }

    /// Where the instruction starts.
    pub fn start(&self) -> Position {
        self.node.span.start
    }

    /// An error at the start of the instruction.
    pub fn err(&self, message: impl Into<String>) -> DockerfileError {
        DockerfileError::invalid(self.start(), message)
    }

    /// Byte offset in `original` where the keyword ends.
    fn after_keyword(&self) -> usize {
        let original = &self.node.original;
        let lead = original.len() - original.trim_start().len();
        lead + self.node.keyword.len()
    }

    /// Offset of `needle` at or after byte `from` (never before the keyword's
    /// end); the keyword's end when it is not found.
    pub fn find_from(&self, needle: &str, from: usize) -> usize {
        let original = &self.node.original;
        let from = from.max(self.after_keyword()).min(original.len());
        let from = (from..=original.len())
            .find(|i| original.is_char_boundary(*i))
            .unwrap_or(original.len());
        match original[from..].find(needle) {
            Some(i) => from + i,
            None => self.after_keyword().min(original.len()),
        }
    }

    /// An error at byte `offset` of `original`.
    pub fn err_at_offset(&self, offset: usize, message: impl Into<String>) -> DockerfileError {
        let at = self.node.line_map.position(&self.node.original, offset);
        DockerfileError::invalid(at, message)
    }

    /// An error at the first occurrence of `needle` after the keyword, or at
    /// the start of the instruction when it cannot be found.
    pub fn err_at(&self, needle: &str, message: impl Into<String>) -> DockerfileError {
        let from = self.after_keyword();
        match self
            .node
            .original
            .get(from..)
            .and_then(|rest| rest.find(needle))
        {
            Some(i) if !needle.is_empty() => self.err_at_offset(from + i, message),
            _ => self.err(message),
        }
    }

    /// The argument values whatever their form (JSON or not), empty when none.
    pub fn values(&self) -> &'a [String] {
        match &self.node.args {
            Args::Values(v) | Args::Json(v) => v,
            _ => &[],
        }
    }

    /// True when the arguments were written as a JSON array.
    pub fn is_json(&self) -> bool {
        self.node.is_json()
    }

    /// Fails unless the instruction has exactly one argument value; returns it.
    pub fn exactly_one(&self) -> Result<String, DockerfileError> {
        match self.values() {
            [one] => Ok(one.clone()),
            _ => Err(self.err(format!("{} requires exactly one argument", self.keyword))),
        }
    }

    /// The error for an instruction given no arguments.
    pub fn at_least_one(&self) -> DockerfileError {
        self.err(format!("{} requires at least one argument", self.keyword))
    }
}
