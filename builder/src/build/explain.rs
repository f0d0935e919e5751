//! Keeps every step's cache key preimage for `--debug-cache`.
//!
//! [`Explaining`] wraps the [`KilnExecutor`]: when the solver asks for a
//! vertex's content digest (just before its cache lookup) it computes the
//! vertex's [`KeyExplanation`] and loads the previous build's record of the
//! same step name; when a vertex executes (a miss) it reports why, comparing
//! the two, and records the new preimage once the step succeeded. Context
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

use crate::cache_store::{self, ExplanationRecord};
use crate::context::Selection;
use crate::executor::{KilnExecutor, Output};
use crate::graph::{BuildGraph, Op, Vertex, VertexId};
use crate::solver::cache_key::{explain, KeyExplanation};
use crate::solver::{ExecContext, ExecError, Executor};
use crate::Digest;

/// Called for each step that missed the cache with the reasons, one line
/// each (`--debug-cache`).
pub type CacheMisses = Arc<dyn Fn(VertexId, Vec<String>) + Send + Sync>;

/// What is known about one vertex of this build.
struct Seen {
    now: KeyExplanation,
    previous: Option<ExplanationRecord>,
    /// For context selections: the file changes since the previous record.
    files: Vec<String>,
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
    ) -> Vec<String> {
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
    fn reasons(&self, id: VertexId) -> Vec<String> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(this) = seen.get(&id) else {
            return vec!["no cache key was computed".into()];
        };
        let Some(previous) = &this.previous else {
            return vec!["no previous build of this step".into()];
        };
        let changes = previous.changes_to(&this.now);
        if changes.is_empty() {
            return vec!["key unchanged (--no-cache, or its cache record is gone)".into()];
        }
        let inputs = self.graph.inputs(id);
        let name = &self.graph.vertex(id).name;
        let instruction = name.split_once("] ").map_or(name.as_str(), |(_, i)| i);
        let context_files: Vec<&String> = inputs
            .iter()
            .filter_map(|v| seen.get(v))
            .flat_map(|s| &s.files)
            .collect();
        let mut out = Vec::new();
        for line in changes {
            let slot = line
                .strip_prefix("input ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            match slot.and_then(|s| inputs.get(s).map(|v| (s, *v))) {
                Some((_, v)) if seen.get(&v).is_some_and(|s| !s.files.is_empty()) => {}
                Some((s, v)) => {
                    out.push(format!("input {s} changed: {}", self.graph.vertex(v).name))
                }
                None if line.starts_with("content: ") && !context_files.is_empty() => {}
                None => out.push(line),
            }
        }
        for file in context_files {
            out.push(format!("content of {instruction} sources changed: {file}"));
        }
        out
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
        let content = self.inner.content_digest(vertex, inputs, cx)?;
        let keys: Vec<_> = inputs.iter().map(Output::key).collect();
        let now = explain(vertex, &keys, content);
        let step = self.step(vertex);
        let previous = cache_store::load_explanation(&self.root, &step);
        let record = ExplanationRecord::new(&step, &now);
        let changed = previous.as_ref().is_none_or(|p| p.key != record.key);
        let files = self.record_context(vertex, &record, changed);
        let seen = Seen {
            now,
            previous,
            files,
        };
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cx.vertex(), seen);
        Ok(content)
    }

    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[Output],
        cx: &ExecContext<'_>,
    ) -> Result<Output, ExecError> {
        if let Some(misses) = &self.misses {
            if !matches!(vertex.op, Op::Context(_)) {
                misses(cx.vertex(), self.reasons(cx.vertex()));
            }
        }
        let output = self.inner.execute(vertex, inputs, cx)?;
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(this) = seen.get(&cx.vertex()) {
            let record = ExplanationRecord::new(&self.step(vertex), &this.now);
            let _ = cache_store::save_explanation(&self.root, &record);
        }
        Ok(output)
    }
}
