//! Dockerfiles, in two passes:
//!
//! 1. syntax — [`parse`]: text -> [`Ast`]. Parser directives, continuation lines
//!    with either escape character, comments and empty lines inside them,
//!    heredocs, BOM and CRLF; one [`Node`] per instruction with its [`Span`].
//!    It mirrors BuildKit's parser closely enough that every case of BuildKit's
//!    own corpus dumps identically ([`Ast::dump`], `tests/dockerfile_corpus.rs`);
//!    like BuildKit's, it accepts unknown keywords and flags.
//! 2. typed — [`parse_dockerfile`]: text -> [`Dockerfile`] of [`Stage`]s of
//!    [`Instruction`]s, one enum variant per instruction with typed fields;
//!    unknown instructions, flags, arities and values are rejected here.
//!
//! Both passes are pure and never panic (fuzzed: `fuzz/fuzz_targets/dockerfile_parse.rs`).
//! Every error is a [`DockerfileError`] carrying `line:column`. Sizes,
//! counts and expansions are bounded: see [`limits`].

pub mod ast;
mod directives;
pub mod error;
mod heredoc;
pub mod instructions;
pub mod limits;
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
