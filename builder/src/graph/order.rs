//! The order stages are built in, without recursion.
//!
//! A stage reads other stages (its `FROM` base, `COPY --from`, `RUN --mount
//! from=`), and those must be built first. Walking that by recursion put one
//! set of frames on the stack per level, so a chain of a few thousand stages
//! overflowed the main thread's stack and aborted the process. The walk is a
//! loop over an explicit stack instead:
//!
//! 1. the stage on top of the stack is dispatched ([`Builder::build_one`]);
//!    every stage it reads that is not built yet is recorded in
//!    `Builder::needs` (in the order it asked): a FROM base not built yet
//!    stops the attempt at once, a `--from` one gets a placeholder vertex
//!    and dispatching goes on;
//! 2. if nothing was missing, the stage is done; otherwise the attempt's
//!    vertices are removed again, the missing stages go on the stack (the
//!    first one asked for on top) and the stage is tried again once they are
//!    built.
//!
//! Stages finish in the order the recursive walk finished them (depth first,
//! in the order of the references) and report the same first error; vertex
//! ids differ from the recursive walk's only in that a stage's vertices now
//! all come after those of the stages it reads (still a topological order).
//! A stage is dispatched at most once more per round of missing stages it
//! finds. A stage that reads a stage still on the stack closes a circle:
//! "circular dependency detected".

use kiln_parser::dockerfile::Position;

use super::build::{parent_stage, Builder};
use super::GraphError;

/// Where a stage is in the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// Not asked for yet.
    Pending,
    /// On the stack: being built, or waiting for the stages it reads.
    Building,
    /// Built; the index into `BuildGraph::stages`.
    Done(usize),
}

impl Builder<'_> {
    /// Builds stage `target` and every stage it reads, once each; returns its
    /// index in `graph.stages`.
    pub(super) fn build_stage(&mut self, target: usize) -> Result<usize, GraphError> {
        let mut stack = vec![target];
        while let Some(&i) = stack.last() {
            if let Progress::Done(_) = self.states[i] {
                stack.pop();
                continue;
            }
            self.states[i] = Progress::Building;
            let mark = self.graph.len();
            let result = self.build_one(i);
            let needs = std::mem::take(&mut self.needs);
            match (result, needs.is_empty()) {
                (Ok(Some(k)), true) => {
                    self.states[i] = Progress::Done(k);
                    self.release_parent(i, target);
                    stack.pop();
                }
                (Err(e), true) => return Err(e),
                // Cannot happen: a stage waits only on stages it recorded.
                (Ok(None), true) => return Err(self.cycle_at(i)),
                // An error after a placeholder may be the placeholder's
                // fault: the stage is tried again (and fails again if it was
                // not) once the stages it reads are built.
                (result, false) => {
                    if let Ok(Some(_)) = result {
                        self.graph.stages.pop();
                    }
                    self.graph.truncate(mark);
                    stack.extend(needs.into_iter().rev());
                }
            }
        }
        match self.states[target] {
            Progress::Done(k) => Ok(k),
            // The loop only ends once the target is done.
            _ => Err(self.cycle_at(target)),
        }
    }

    /// A cycle error on stage `i` at its FROM line (for states the walk
    /// never reaches; kept as an error rather than a panic).
    fn cycle_at(&self, i: usize) -> GraphError {
        GraphError::Cycle {
            at: self.df.stages[i].span.start,
            stage: self.label(i),
        }
    }

    /// Once the last stage built `FROM` stage `i`'s parent is done, the
    /// parent's config, history and args are dropped (unless it is the
    /// target): only children read them, and a chain of thousands of stages
    /// would otherwise hold thousands of ever longer copies at once.
    fn release_parent(&mut self, i: usize, target: usize) {
        let Some(parent) = parent_stage(self.df, i, &self.froms[i].0) else {
            return;
        };
        let left = &mut self.children_left[parent];
        *left = left.saturating_sub(1);
        if *left > 0 || parent == target {
            return;
        }
        if let Progress::Done(k) = self.states[parent] {
            let done = &mut self.graph.stages[k];
            done.config = Default::default();
            done.history = Vec::new();
            done.args = Vec::new();
        }
    }

    /// Stage `j` as read by the stage being built, at `at`: its index in
    /// `graph.stages` when built; `None` (and `j` recorded in `needs`) when it
    /// still has to be built; a cycle error when it is waiting on the stack.
    pub(super) fn stage_ref(
        &mut self,
        j: usize,
        at: Position,
    ) -> Result<Option<usize>, GraphError> {
        match self.states[j] {
            Progress::Done(k) => Ok(Some(k)),
            Progress::Building => Err(GraphError::Cycle {
                at,
                stage: self.label(j),
            }),
            Progress::Pending => {
                if !self.needs.contains(&j) {
                    self.needs.push(j);
                }
                Ok(None)
            }
        }
    }
}
