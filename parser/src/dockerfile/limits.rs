//! How much one Dockerfile may ask of kiln, and the checks that enforce it.
//!
//! Everything a Dockerfile says is hostile input. BuildKit documents no
//! limits (its Go stacks and heaps grow until the machine gives out); kiln
//! fails early with a one-line `Dockerfile:LINE:COL: …` error instead. The
//! limits are far above anything a hand-written or generated Dockerfile of
//! a real project needs:
//!
//! | what                                   | limit                     |
//! |----------------------------------------|---------------------------|
//! | Dockerfile size                        | [`MAX_DOCKERFILE_BYTES`] (16 MiB) |
//! | instructions (each FROM, each ARG name, each other instruction) | [`MAX_INSTRUCTIONS`] (20 000) |
//! | stages (FROM lines)                    | [`MAX_STAGES`] (5 000)    |
//! | one expanded word                      | [`crate::shell::MAX_WORD_BYTES`] (1 MiB) |
//! | text added by expansion, whole build   | [`MAX_EXPANDED_BYTES`] (16 MiB) |
//!
//! The depth of the build graph needs no limit of its own: every vertex
//! comes from an instruction, so it is bounded by the instruction limit, and
//! nothing walks it by recursion (the builder's stage walk, the solver and
//! the file walks use explicit stacks).
//!
//! The expansion budget counts what expansion *adds*: for each expanded
//! word, its length after expansion minus its length as written (a word that
//! shrinks or stays the same costs nothing). It is shared by the global ARGs
//! and every stage the build reaches, so `ENV B=$A` repeated a thousand times
//! with a 1 MiB `A` stops at the seventeenth copy instead of holding a
//! gigabyte of copies.

use std::cell::Cell;

use super::error::DockerfileError;
use super::instructions::Dockerfile;
use super::span::Position;

/// The largest Dockerfile kiln parses, in bytes (16 MiB).
pub const MAX_DOCKERFILE_BYTES: usize = 16 << 20;

/// The most instructions one Dockerfile may have (20 000): FROM lines, ARG
/// names (global or in a stage) and every other instruction each count one.
pub const MAX_INSTRUCTIONS: usize = 20_000;

/// The most stages (FROM lines) one Dockerfile may have (5 000).
pub const MAX_STAGES: usize = 5_000;

/// The most text expansion may add over one whole build, in bytes (16 MiB).
pub const MAX_EXPANDED_BYTES: usize = 16 << 20;

/// What expansion has added so far in one build, against
/// [`MAX_EXPANDED_BYTES`] (see the module docs). Single-threaded: the graph
/// of one build is made on one thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpansionBudget {
    used: Cell<usize>,
}

impl ExpansionBudget {
    /// A budget with nothing spent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes added by expansion so far.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// Records that `written` (as in the Dockerfile, at `at`) expanded to
    /// `expanded_len` bytes; fails once the build's total goes over.
    pub fn charge(
        &self,
        at: Position,
        written: &str,
        expanded_len: usize,
    ) -> Result<(), DockerfileError> {
        let used = self
            .used
            .get()
            .saturating_add(expanded_len.saturating_sub(written.len()));
        self.used.set(used);
        if used <= MAX_EXPANDED_BYTES {
            return Ok(());
        }
        Err(DockerfileError::invalid(
            at,
            format!(
                "expanding {} goes over kiln's limit of {MAX_EXPANDED_BYTES} bytes of \
                 expanded variables per build",
                excerpt(written)
            ),
        ))
    }
}

/// The word for an error message: quoted, at most 60 chars of it.
fn excerpt(word: &str) -> String {
    let mut short: String = word.chars().take(60).collect();
    if short.len() < word.len() {
        short.push('…');
    }
    format!("{short:?}")
}

/// Refuses Dockerfile text over [`MAX_DOCKERFILE_BYTES`] before parsing it.
pub(crate) fn check_size(source: &str) -> Result<(), DockerfileError> {
    if source.len() <= MAX_DOCKERFILE_BYTES {
        return Ok(());
    }
    Err(DockerfileError::invalid(
        Position::new(1, 1),
        format!(
            "the Dockerfile is {} bytes, over kiln's limit of {MAX_DOCKERFILE_BYTES} bytes",
            source.len()
        ),
    ))
}

/// Refuses a Dockerfile with more than [`MAX_STAGES`] stages or
/// [`MAX_INSTRUCTIONS`] instructions, at the first one over the limit.
pub(crate) fn check_counts(df: &Dockerfile) -> Result<(), DockerfileError> {
    if let Some(stage) = df.stages.get(MAX_STAGES) {
        return Err(DockerfileError::invalid(
            stage.span.start,
            format!("more than {MAX_STAGES} build stages (kiln's limit)"),
        ));
    }
    let mut positions = df
        .meta_args
        .iter()
        .map(|a| a.at)
        .chain(df.stages.iter().flat_map(|s| {
            std::iter::once(s.span.start).chain(s.instructions.iter().map(|i| i.span.start))
        }));
    match positions.nth(MAX_INSTRUCTIONS) {
        Some(at) => Err(DockerfileError::invalid(
            at,
            format!("more than {MAX_INSTRUCTIONS} instructions (kiln's limit)"),
        )),
        None => Ok(()),
    }
}
