//! Keeps every step's cache key preimage for `--debug-cache`.
//!
//! [`Explaining`] wraps the [`KilnExecutor`]: when the solver shows it a
//! vertex's key (just before its cache lookup) it keeps the key's
//! [`KeyExplanation`](crate::solver::KeyExplanation) (the solver's, not computed again) and loads the
//! previous build's record of the same step name; when a vertex executes (a
//! miss) it reports why as typed [`MissReason`]s, comparing the two, and
//! records the new preimage once the step succeeded. Context
//! selections never execute (their key already covers the files), so their
//! record, with the selection's file list, is saved when their key changed;
//! a step whose context input changed then names the files.
//!
//! Records are per step name within a scope (the context directory and the
//! Dockerfile path), so two projects sharing a root do not answer for each
//! other; a tar or git context is unpacked into a new folder each time and
//! so has no previous record.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::cache_miss::{FileChange, MissReason};
use crate::cache_store::{self, ExplanationRecord};
use crate::context::Selection;
use crate::executor::{KilnExecutor, Output};
use crate::graph::{BuildGraph, Op, Vertex, VertexId};
use crate::solver::{ComputedKey, ExecContext, ExecError, Executor, KeyChange};
use crate::Digest;

/// Called for each step that missed the cache with the reasons
/// (`--debug-cache`; each one renders as one line).
pub type CacheMisses = Arc<dyn Fn(VertexId, Vec<MissReason>) + Send + Sync>;

/// What is known about one vertex of this build.
struct Seen {
    now: ComputedKey,
    previous: Option<ExplanationRecord>,
    /// For context selections: the file changes since the previous record.
    files: Vec<FileChange>,
}

/// The [`KilnExecutor`] plus explanation records; see the module docs.
pub(super) struct Explaining<'a> {
    inner: &'a KilnExecutor,
    graph: &'a BuildGraph,
    root: PathBuf,
    misses: Option<CacheMisses>,
    scope: String,
    seen: Mutex<HashMap<VertexId, Seen>>,
}

impl<'a> Explaining<'a> {
    /// Wraps `inner` for the vertices of `graph`; records go under the
    /// executor's root, named by `scope` and the step name.
    pub fn new(
        inner: &'a KilnExecutor,
        graph: &'a BuildGraph,
        scope: String,
        misses: Option<CacheMisses>,
    ) -> Explaining<'a> {
        Explaining {
            inner,
            graph,
            root: inner.root.clone(),
            misses,
            scope,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The record name of `vertex`: the scope, a NUL, the step name.
    fn step(&self, vertex: &Vertex) -> String {
        format!("{}\0{}", self.scope, vertex.name)
    }

    /// Records a context selection's preimage and files when its key changed;
    /// returns the file changes since the previous record.
    fn record_context(
        &self,
        vertex: &Vertex,
        record: &ExplanationRecord,
        changed: bool,
    ) -> Vec<FileChange> {
        let (Op::Context(op), Some(context)) = (&vertex.op, &self.inner.context) else {
            return Vec::new();
        };
        if !changed {
            return Vec::new();
        }
        let selection = Selection {
            sources: op.include.clone(),
            excludes: op.exclude.clone(),
            parents: false,
        };
        let files: Vec<String> = match context.resolve(&selection) {
            Ok(entries) => entries.iter().map(|e| e.describe()).collect(),
            Err(_) => return Vec::new(),
        };
        let before = cache_store::load_files(&self.root, &record.name);
        let diff = cache_store::file_changes(&files, &before);
        // Records that cannot be written only cost a later explanation.
        let _ = cache_store::save_files(&self.root, &record.name, &files);
        let _ = cache_store::save_explanation(&self.root, record);
        diff
    }

    /// Why `id` missed: its own changes, with an input that is a context
    /// selection expanded to the files that changed.
    fn reasons(&self, id: VertexId) -> Vec<MissReason> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(this) = seen.get(&id) else {
            return vec![MissReason::NoKey];
        };
        let Some(previous) = &this.previous else {
            return vec![MissReason::NoPreviousBuild];
        };
        let changes = previous.changes_to(&this.now.explanation);
        if changes.is_empty() {
            return vec![MissReason::KeyUnchanged];
        }
        let inputs = self.graph.inputs(id);
        let name = &self.graph.vertex(id).name;
        let instruction = name.split_once("] ").map_or(name.as_str(), |(_, i)| i);
        let context_files: Vec<&FileChange> = inputs
            .iter()
            .filter_map(|v| seen.get(v))
            .flat_map(|s| &s.files)
            .collect();
        let mut out = Vec::new();
        for change in changes {
            match change {
                KeyChange::Input { slot, .. } if slot < inputs.len() => {
                    let v = inputs[slot];
                    if seen.get(&v).is_none_or(|s| s.files.is_empty()) {
                        let step = self.graph.vertex(v).name.clone();
                        out.push(MissReason::InputChanged { slot, step });
                    }
                }
                KeyChange::Content { .. } if !context_files.is_empty() => {}
                other => out.push(MissReason::Key(other)),
            }
        }
        for file in context_files {
            out.push(MissReason::ContextFile {
                instruction: instruction.to_string(),
                file: file.clone(),
            });
        }
        out
    }

    /// Keeps the solver's preimage of `vertex`'s key with the previous
    /// build's record of the step (and a context selection's files).
    fn see(&self, vertex: &Vertex, now: &ComputedKey, id: VertexId) {
        let step = self.step(vertex);
        let previous = cache_store::load_explanation(&self.root, &step);
        let record = ExplanationRecord::new(&step, now);
        let changed = previous.as_ref().is_none_or(|p| p.key != record.key);
        let files = self.record_context(vertex, &record, changed);
        let seen = Seen {
            now: now.clone(),
            previous,
            files,
        };
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, seen);
    }
}

impl Executor for Explaining<'_> {
    type Output = Output;

    fn content_digest(
        &self,
        vertex: &Vertex,
        inputs: &[Output],
        cx: &ExecContext<'_>,
    ) -> Result<Option<Digest>, ExecError> {
        self.inner.content_digest(vertex, inputs, cx)
    }

    fn keyed(&self, vertex: &Vertex, key: &ComputedKey, cx: &ExecContext<'_>) {
        self.see(vertex, key, cx.vertex());
    }

    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[Output],
        key: &ComputedKey,
        cx: &ExecContext<'_>,
    ) -> Result<Output, ExecError> {
        if let Some(misses) = &self.misses {
            if !matches!(vertex.op, Op::Context(_)) {
                misses(cx.vertex(), self.reasons(cx.vertex()));
            }
        }
        let output = self.inner.execute(vertex, inputs, key, cx)?;
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(this) = seen.get(&cx.vertex()) {
            let record = ExplanationRecord::new(&self.step(vertex), &this.now);
            let _ = cache_store::save_explanation(&self.root, &record);
        }
        Ok(output)
    }
}
