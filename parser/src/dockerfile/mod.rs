//! Dockerfiles: syntax ([`parse`] -> [`Ast`], BuildKit-compatible, with spans and
//! BuildKit's dump format) and the typed model built on it.
//!
//! The syntax pass mirrors BuildKit's parser closely enough that every case of
//! BuildKit's own parser corpus dumps identically (see `tests/dockerfile_corpus.rs`).

pub mod ast;
mod directives;
pub mod error;
mod heredoc;
pub mod instructions;
mod line_parsers;
pub mod span;
mod split;
mod syntax;

pub use ast::{Args, Ast, Heredoc, Node};
pub use error::DockerfileError;
pub use heredoc::chomp_content;
pub use instructions::{parse_dockerfile, Dockerfile, Instruction, Stage};
pub use span::{LineMap, Position, Span};
pub use syntax::parse;
