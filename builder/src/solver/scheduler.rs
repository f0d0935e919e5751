//! The scheduler: dependency counting on the main thread, a fixed pool of
//! `jobs` workers fed through a channel, results back through another.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{explain, CacheKey, CancelToken, ComputedKey, Event, ExecError, SolveError};
use crate::graph::{BuildGraph, Vertex, VertexId};
use crate::Digest;

/// How many bytes of a vertex's output are kept for its error message.
const TAIL_BYTES: usize = 4096;

/// Does the work of vertices. Implementations hold no scheduling decisions.
pub trait Executor: Sync {
    /// What a vertex produces (a snapshot id, a path, ...).
    type Output: Clone + Send + Sync;

    /// The checksum of the files `vertex` reads, for ops whose result depends
    /// on more than their definition (context selections, bind mounts of the
    /// context). Default: none.
    fn content_digest(
        &self,
        _vertex: &Vertex,
        _inputs: &[Self::Output],
        _cx: &ExecContext<'_>,
    ) -> Result<Option<Digest>, ExecError> {
        Ok(None)
    }

    /// Sees the key the solver computed for `vertex` (from the digest
    /// [`Executor::content_digest`] gave), before the cache is asked; called
    /// once per vertex, hit or miss. Default: nothing.
    fn keyed(&self, _vertex: &Vertex, _key: &ComputedKey, _cx: &ExecContext<'_>) {}

    /// Produces the output of `vertex` from its inputs' outputs (by slot);
    /// `key` is the key the solver computed for it (outputs named after it
    /// need not compute it again). Long work should poll `cx.cancel()` and
    /// return [`ExecError::Cancelled`]; output goes to [`ExecContext::log`].
    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[Self::Output],
        key: &ComputedKey,
        cx: &ExecContext<'_>,
    ) -> Result<Self::Output, ExecError>;
}

/// Answers "was this key built before?".
pub trait CacheLookup<O>: Sync {
    /// The stored output for `key`, if any.
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<O>;

    /// Records a fresh result (default: nothing).
    fn store(&self, _key: &CacheKey, _vertex: &Vertex, _output: &O) {}
}

/// A cache that never hits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl<O> CacheLookup<O> for NoCache {
    fn lookup(&self, _key: &CacheKey, _vertex: &Vertex) -> Option<O> {
        None
    }
}

/// What a running vertex gets besides its inputs: the cancel token and a
/// log sink (forwarded as [`Event::Log`], and kept for error messages).
pub struct ExecContext<'a> {
    vertex: VertexId,
    cancel: &'a CancelToken,
    emit: &'a (dyn Fn(Event) + Sync),
    tail: Mutex<Vec<u8>>,
}

impl ExecContext<'_> {
    /// The vertex being run.
    pub fn vertex(&self) -> VertexId {
        self.vertex
    }

    /// The solve's cancel token.
    pub fn cancel(&self) -> &CancelToken {
        self.cancel
    }

    /// Reports output of the vertex.
    pub fn log(&self, bytes: &[u8]) {
        if let Ok(mut tail) = self.tail.lock() {
            tail.extend_from_slice(bytes);
            let excess = tail.len().saturating_sub(TAIL_BYTES);
            tail.drain(..excess);
        }
        (self.emit)(Event::Log {
            vertex: self.vertex,
            bytes: bytes.to_vec(),
        });
    }

    fn tail(&self) -> String {
        let tail = self.tail.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8_lossy(&tail).into_owned()
    }
}

/// The result of a solve: every solved vertex's output and cache key.
#[derive(Debug, Clone)]
pub struct Solved<O> {
    /// Outputs by vertex.
    pub outputs: BTreeMap<VertexId, O>,
    /// Cache keys by vertex.
    pub keys: BTreeMap<VertexId, CacheKey>,
    /// The vertices answered from the cache.
    pub cached: BTreeSet<VertexId>,
}

/// Runs graphs with an executor, a cache and a progress callback.
pub struct Solver<'a, E: Executor> {
    executor: &'a E,
    jobs: usize,
    cache: &'a dyn CacheLookup<E::Output>,
    events: &'a (dyn Fn(Event) + Sync),
}

/// One vertex handed to a worker.
struct Task<'g, O> {
    id: VertexId,
    vertex: &'g Vertex,
    inputs: Vec<O>,
    input_keys: Vec<CacheKey>,
}

/// What a worker sends back.
struct Outcome<O> {
    id: VertexId,
    result: Result<(O, CacheKey, bool), (ExecError, String)>,
}

impl<'a, E: Executor> Solver<'a, E> {
    /// A solver running at most `jobs` vertices at once (0 counts as 1),
    /// without cache and without progress output.
    pub fn new(executor: &'a E, jobs: usize) -> Self {
        Solver {
            executor,
            jobs: jobs.max(1),
            cache: &NoCache,
            events: &|_| {},
        }
    }

    /// Uses `cache` for lookups and stores.
    pub fn with_cache(self, cache: &'a dyn CacheLookup<E::Output>) -> Self {
        Solver { cache, ..self }
    }

    /// Sends progress events to `events` (called from worker threads).
    pub fn with_events(self, events: &'a (dyn Fn(Event) + Sync)) -> Self {
        Solver { events, ..self }
    }

    /// Solves `targets` and everything they depend on.
    pub fn solve(
        &self,
        graph: &BuildGraph,
        targets: &[VertexId],
    ) -> Result<Solved<E::Output>, SolveError> {
        let needed = ancestors(graph, targets)?;
        let mut waiting: BTreeMap<VertexId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<VertexId, Vec<VertexId>> = BTreeMap::new();
        for &id in &needed {
            let distinct: BTreeSet<VertexId> = graph.inputs(id).into_iter().collect();
            waiting.insert(id, distinct.len());
            for input in distinct {
                dependents.entry(input).or_default().push(id);
            }
        }
        let mut ready: BTreeSet<VertexId> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut solved: Solved<E::Output> = Solved {
            outputs: BTreeMap::new(),
            keys: BTreeMap::new(),
            cached: BTreeSet::new(),
        };
        let cancel = CancelToken::new();
        let mut failure: Option<(VertexId, ExecError, String)> = None;
        std::thread::scope(|scope| {
            let (task_tx, task_rx) = mpsc::channel::<Task<'_, E::Output>>();
            let task_rx = Arc::new(Mutex::new(task_rx));
            let (done_tx, done_rx) = mpsc::channel::<Outcome<E::Output>>();
            for _ in 0..self.jobs.min(needed.len().max(1)) {
                let (rx, tx, cancel) = (Arc::clone(&task_rx), done_tx.clone(), &cancel);
                scope.spawn(move || loop {
                    let next = rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|r| r.recv().map_err(|_| ()));
                    let Ok(task) = next else { break };
                    let id = task.id;
                    let result = self.run(task, cancel);
                    if tx.send(Outcome { id, result }).is_err() {
                        break;
                    }
                });
            }
            let mut in_flight = 0;
            loop {
                while failure.is_none() && in_flight < self.jobs {
                    let Some(id) = ready.pop_first() else { break };
                    let inputs = graph.inputs(id);
                    let task = Task {
                        id,
                        vertex: graph.vertex(id),
                        inputs: inputs.iter().map(|i| solved.outputs[i].clone()).collect(),
                        input_keys: inputs.iter().map(|i| solved.keys[i]).collect(),
                    };
                    if task_tx.send(task).is_err() {
                        break;
                    }
                    in_flight += 1;
                }
                if in_flight == 0 {
                    break;
                }
                let Ok(outcome) = done_rx.recv() else { break };
                in_flight -= 1;
                match outcome.result {
                    Ok((output, key, hit)) => {
                        solved.outputs.insert(outcome.id, output);
                        solved.keys.insert(outcome.id, key);
                        if hit {
                            solved.cached.insert(outcome.id);
                        }
                        for d in dependents.get(&outcome.id).into_iter().flatten() {
                            if let Some(n) = waiting.get_mut(d) {
                                *n -= 1;
                                if *n == 0 {
                                    ready.insert(*d);
                                }
                            }
                        }
                    }
                    Err((error, tail)) => {
                        let first = failure.is_none();
                        let is_cancel = matches!(error, ExecError::Cancelled);
                        if first && !(is_cancel && cancel.is_cancelled()) {
                            failure = Some((outcome.id, error, tail));
                            cancel.cancel();
                        }
                    }
                }
            }
            drop(task_tx);
        });
        match failure {
            Some((id, error, output_tail)) => {
                let v = graph.vertex(id);
                Err(SolveError::Failed {
                    vertex: id,
                    name: v.name.clone(),
                    span: v.span,
                    error,
                    output_tail,
                })
            }
            None => Ok(solved),
        }
    }

    /// One vertex on a worker: content digest, key (computed here, once),
    /// cache, execute.
    fn run(
        &self,
        task: Task<'_, E::Output>,
        cancel: &CancelToken,
    ) -> Result<(E::Output, CacheKey, bool), (ExecError, String)> {
        let (id, vertex) = (task.id, task.vertex);
        let cx = ExecContext {
            vertex: id,
            cancel,
            emit: self.events,
            tail: Mutex::new(Vec::new()),
        };
        let fail = |error: ExecError, cx: &ExecContext<'_>| {
            (self.events)(Event::Failed {
                vertex: id,
                error: error.to_string(),
                cancelled: cancel.is_cancelled(),
            });
            (error, cx.tail())
        };
        if cancel.is_cancelled() {
            return Err((ExecError::Cancelled, String::new()));
        }
        let content = self
            .executor
            .content_digest(vertex, &task.inputs, &cx)
            .map_err(|e| fail(e, &cx))?;
        let computed = ComputedKey::new(explain(vertex, &task.input_keys, content));
        let key = computed.key;
        self.executor.keyed(vertex, &computed, &cx);
        if !vertex.ignore_cache {
            if let Some(output) = self.cache.lookup(&key, vertex) {
                (self.events)(Event::Cached { vertex: id, key });
                return Ok((output, key, true));
            }
        }
        (self.events)(Event::Started { vertex: id });
        let started = Instant::now();
        let output = self
            .executor
            .execute(vertex, &task.inputs, &computed, &cx)
            .map_err(|e| fail(e, &cx))?;
        (self.events)(Event::Done {
            vertex: id,
            duration: started.elapsed(),
        });
        self.cache.store(&key, vertex, &output);
        Ok((output, key, false))
    }
}

/// `targets` and everything they read, transitively.
fn ancestors(graph: &BuildGraph, targets: &[VertexId]) -> Result<BTreeSet<VertexId>, SolveError> {
    let mut seen = BTreeSet::new();
    let mut stack = Vec::new();
    for &t in targets {
        if t.0 >= graph.len() {
            return Err(SolveError::UnknownVertex(t));
        }
        stack.push(t);
    }
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(graph.inputs(id));
        }
    }
    Ok(seen)
}
