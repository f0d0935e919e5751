//! The syntax tree: one [`Node`] per instruction, shaped like BuildKit's so that
//! [`Node::dump`] reproduces BuildKit's test dump format byte for byte.
//!
//! The AST is purely syntactic: an unknown keyword still parses here (as BuildKit's
//! parser does) and is rejected by the typed layer ([`crate::dockerfile::instructions`]).

use super::span::{LineMap, Span};
use crate::gostr::go_quote;

/// One heredoc attached to an instruction (`RUN <<EOF ... EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word with its quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when absent.
    pub file_descriptor: u32,
    /// False when any part of the delimiter was quoted: the body is then taken
    /// literally, without variable expansion (as in sh).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body lines and the terminator.
    pub chomp: bool,
    /// The body: every line between the instruction and the terminator, each
    /// with its original line ending.
    pub content: String,
}

/// The arguments of an instruction after its line parser ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// Nothing after the keyword (and flags).
    Empty,
    /// A list of string values, as the instruction's line parser split them:
    /// - shell form of RUN/CMD/ENTRYPOINT/SHELL, MAINTAINER, USER, WORKDIR,
    ///   STOPSIGNAL: one value, the rest of the line;
    /// - FROM, EXPOSE, shell-form ADD/COPY/VOLUME: whitespace-separated words;
    /// - ARG: words (quotes kept), `name` or `name=value`;
    /// - ENV and LABEL: triples `key, value, separator` where the separator is
    ///   `"="` for `k=v` and `""` for the legacy `K v` form;
    /// - HEALTHCHECK: the type (`CMD`/`NONE`) then the command's values.
    Values(Vec<String>),
    /// A JSON array form (`["a", "b"]`), already decoded.
    Json(Vec<String>),
    /// HEALTHCHECK's type followed by a JSON-form command.
    TypeThenJson(String, Vec<String>),
    /// ONBUILD's trigger instruction.
    SubCommand(Box<Node>),
}

/// One instruction of a Dockerfile, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (case kept; compare with `eq_ignore_ascii_case`).
    pub keyword: String,
    /// Builder flags as `--name=value` or `--name` strings, quotes removed.
    pub flags: Vec<String>,
    /// The arguments after the flags.
    pub args: Args,
    /// Heredoc bodies, in the order their markers appear on the line.
    pub heredocs: Vec<Heredoc>,
    /// The logical line (continuations joined) that produced this node.
    pub original: String,
    /// Maps offsets in `original` back to the source.
    pub line_map: LineMap,
    /// Lines the instruction covers, including its heredoc bodies.
    pub span: Span,
    /// The comment lines directly above the instruction, `#` removed.
    pub comments: Vec<String>,
}

impl Node {
    /// The keyword in lower case, as the dump and the typed layer use it.
    pub fn lower_keyword(&self) -> String {
        self.keyword.to_ascii_lowercase()
    }

    /// True when the arguments were written in JSON form.
    pub fn is_json(&self) -> bool {
        matches!(self.args, Args::Json(_) | Args::TypeThenJson(..))
    }

    /// BuildKit's dump of this node: `(keyword ["flags"...] "arg" ...)` without the
    /// outer parentheses, e.g. `copy ["--from=a"] "x" "/y"`.
    pub fn dump(&self) -> String {
        let mut out = self.lower_keyword();
        if !self.flags.is_empty() {
            let flags: Vec<String> = self.flags.iter().map(|f| go_quote(f)).collect();
            out.push_str(&format!(" [{}]", flags.join(" ")));
        }
        let push_values = |out: &mut String, values: &[String]| {
            for v in values {
                out.push(' ');
                out.push_str(&go_quote(v));
            }
        };
        match &self.args {
            Args::Empty => {}
            Args::Values(v) | Args::Json(v) => push_values(&mut out, v),
            Args::TypeThenJson(t, v) => {
                push_values(&mut out, std::slice::from_ref(t));
                push_values(&mut out, v);
            }
            Args::SubCommand(child) => {
                out.push_str(&format!(" ({})", child.dump()));
            }
        }
        out.trim().to_string()
    }
}

/// A whole parsed Dockerfile, before typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ast {
    /// The instructions in file order.
    pub nodes: Vec<Node>,
    /// The escape character in force (`\` or `` ` ``).
    pub escape: char,
    /// Parser directives found at the top (`syntax`, `escape`, `check`), lower-case
    /// names, in file order.
    pub directives: Vec<(String, String)>,
    /// Non-fatal findings (e.g. empty continuation lines), with their line.
    pub warnings: Vec<(u32, String)>,
}

impl Ast {
    /// The whole tree in BuildKit's dump format: one `(…)` line per instruction,
    /// each followed by a newline (what the corpus `result` files hold).
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            out.push('(');
            out.push_str(&node.dump());
            out.push_str(")\n");
        }
        out
    }
}
