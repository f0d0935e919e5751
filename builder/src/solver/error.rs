//! Errors of executing vertices and of a whole solve.

use std::fmt;

use kiln_parser::dockerfile::Span;

use crate::graph::VertexId;

/// Why an executor could not produce a vertex's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The process ran and exited unsuccessfully.
    #[error("process {argv:?} did not complete successfully: exit code: {code}")]
    ExitCode {
        /// What was run.
        argv: Vec<String>,
        /// Its exit code.
        code: i32,
    },
    /// Stopped because the solve was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Anything else, with its context already in the message.
    #[error("{0}")]
    Other(String),
}

impl ExecError {
    /// An [`ExecError::Other`] from anything displayable.
    pub fn other(message: impl fmt::Display) -> ExecError {
        ExecError::Other(message.to_string())
    }
}

/// Why a solve failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolveError {
    /// A vertex failed; everything else was stopped.
    #[error("{}", failed_message(.vertex, .name, .span, .error, .output_tail))]
    Failed {
        /// The failing vertex.
        vertex: VertexId,
        /// Its progress name (`[build 3/5] RUN make`).
        name: String,
        /// Its Dockerfile lines.
        span: Option<Span>,
        /// What went wrong.
        error: ExecError,
        /// The last lines of its output (at most a few KiB).
        output_tail: String,
    },
    /// A requested vertex is not in the graph.
    #[error("vertex {0} is not in the graph")]
    UnknownVertex(VertexId),
}

fn failed_message(
    vertex: &VertexId,
    name: &str,
    span: &Option<Span>,
    error: &ExecError,
    tail: &str,
) -> String {
    let line = span.map_or(String::new(), |s| format!("Dockerfile:{}: ", s.start.line));
    let mut out = format!("{line}{name} ({vertex}): {error}");
    for l in tail.lines() {
        out.push_str("\n  > ");
        out.push_str(l);
    }
    out
}
