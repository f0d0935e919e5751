//! Source positions: every AST node and every error points back at the text.

use std::fmt;

/// A 1-based line and column in a source file (column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Position {
    /// A position from a 1-based line and column.
    pub fn new(line: u32, column: u32) -> Self {
        Position { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A range of source text, from `start` (inclusive) to `end` (the last line the
/// construct touches, e.g. the terminator line of a heredoc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Where the construct starts.
    pub start: Position,
    /// Where it ends (inclusive line).
    pub end: Position,
}

impl Span {
    /// A span from two positions.
    pub fn new(start: Position, end: Position) -> Self {
        Span { start, end }
    }
}

/// Maps byte offsets in a *logical* line (physical lines joined after removing
/// continuation characters, comments and empty lines) back to source positions.
///
/// Each physical piece appended to the logical line records where it came from;
/// any offset inside it is then that piece's start plus the characters before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineMap {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Byte offset in the logical line where this piece starts.
    logical_offset: usize,
    /// Where its first character sits in the source.
    origin: Position,
}

impl LineMap {
    /// Records that the logical text from `logical_offset` on comes from `origin`.
    pub fn push(&mut self, logical_offset: usize, origin: Position) {
        self.pieces.push(Piece {
            logical_offset,
            origin,
        });
    }

    /// The source position of byte `offset` of `logical` (the text this map describes).
    pub fn position(&self, logical: &str, offset: usize) -> Position {
        let offset = offset.min(logical.len());
        let Some(piece) = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.logical_offset <= offset)
        else {
            return Position::new(1, 1);
        };
        let start = piece.logical_offset.min(logical.len());
        let chars = logical
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0) as u32;
        Position::new(piece.origin.line, piece.origin.column + chars)
    }
}
