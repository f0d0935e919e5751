//! The solver computes each vertex's cache key once and hands it to the
//! executor: fake ops with call counters, no filesystem, no processes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kiln_builder::graph::{BuildGraph, BuildOptions, Op, Vertex, VertexId};
use kiln_builder::solver::{
    cache_key, CacheKey, CacheLookup, ComputedKey, ExecContext, ExecError, Executor, Solver,
};
use kiln_builder::Digest;
use kiln_parser::dockerfile::parse_dockerfile;

/// Counts, per vertex, every call the solver makes into the executor.
#[derive(Default)]
struct Counting {
    /// `content_digest` calls (the expensive part of a key: a context
    /// checksum, or a `COPY --from` source mounted and walked).
    digests: Mutex<BTreeMap<VertexId, usize>>,
    /// The keys shown through `keyed`, in call order.
    keyed: Mutex<BTreeMap<VertexId, Vec<CacheKey>>>,
    /// The keys handed to `execute`.
    executed: Mutex<BTreeMap<VertexId, Vec<CacheKey>>>,
}

impl Executor for Counting {
    type Output = String;

    fn content_digest(
        &self,
        vertex: &Vertex,
        _inputs: &[String],
        cx: &ExecContext<'_>,
    ) -> Result<Option<Digest>, ExecError> {
        *self.digests.lock().unwrap().entry(cx.vertex()).or_default() += 1;
        let reads_files = matches!(vertex.op, Op::Context(_) | Op::File(_));
        Ok(reads_files.then(|| Digest::of(vertex.name.as_bytes())))
    }

    fn keyed(&self, _vertex: &Vertex, key: &ComputedKey, cx: &ExecContext<'_>) {
        let mut keyed = self.keyed.lock().unwrap();
        keyed.entry(cx.vertex()).or_default().push(key.key);
    }

    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[String],
        key: &ComputedKey,
        cx: &ExecContext<'_>,
    ) -> Result<String, ExecError> {
        let mut executed = self.executed.lock().unwrap();
        executed.entry(cx.vertex()).or_default().push(key.key);
        Ok(format!("{}({})", vertex.op.kind(), inputs.join(",")))
    }
}

/// Hits on RUN steps whose command contains `cached`; counts lookups and
/// stores by key.
#[derive(Default)]
struct CountingCache {
    lookups: Mutex<Vec<CacheKey>>,
    stores: Mutex<Vec<CacheKey>>,
}

impl CacheLookup<String> for CountingCache {
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<String> {
        self.lookups.lock().unwrap().push(*key);
        let hit = matches!(&vertex.op, Op::Exec(e) if e.args.iter().any(|a| a.contains("cached")));
        hit.then(|| "from-cache".to_string())
    }

    fn store(&self, key: &CacheKey, _vertex: &Vertex, _output: &String) {
        self.stores.lock().unwrap().push(*key);
    }
}

fn graph(dockerfile: &str) -> BuildGraph {
    let df = parse_dockerfile(dockerfile).expect("dockerfile parses");
    BuildGraph::new(&df, &BuildOptions::default()).expect("graph builds")
}

/// Every vertex's content digest is asked once and its key computed once:
/// the key the executor is shown, the one the cache is asked and stores
/// under, the one `execute` gets and the one the solve reports are the same.
#[test]
fn one_key_computation_per_vertex_handed_to_the_executor() {
    let g = graph(
        "FROM a AS src\nRUN cached-build\nRUN make\n\
         FROM b\nCOPY app /app\nCOPY --from=src /out /out\nRUN test\n",
    );
    let fake = Counting::default();
    let cache = CountingCache::default();
    let solved = Solver::new(&fake, 2)
        .with_cache(&cache)
        .solve(&g, &[g.output()])
        .expect("solves");
    let all: Vec<VertexId> = g.vertex_ids().collect();
    assert_eq!(solved.keys.len(), all.len(), "every vertex is needed here");

    let digests = fake.digests.lock().unwrap();
    let keyed = fake.keyed.lock().unwrap();
    let executed = fake.executed.lock().unwrap();
    for &id in &all {
        let name = &g.vertex(id).name;
        assert_eq!(digests.get(&id), Some(&1), "content digest of {name}");
        assert_eq!(keyed[&id], [solved.keys[&id]], "key shown for {name}");
        if solved.cached.contains(&id) {
            assert!(!executed.contains_key(&id), "{name} was cached");
        } else {
            assert_eq!(executed[&id], [solved.keys[&id]], "key handed to {name}");
        }
    }
    let cached = all
        .iter()
        .filter(|id| matches!(&g.vertex(**id).op, Op::Exec(e) if e.args.iter().any(|a| a.contains("cached"))))
        .count();
    assert_eq!(solved.cached.len(), cached, "{:?}", solved.cached);
    assert_eq!(cached, 1);

    // One lookup per vertex, under its key; one store per executed vertex.
    let mut looked: Vec<CacheKey> = cache.lookups.lock().unwrap().clone();
    let mut expected: Vec<CacheKey> = solved.keys.values().copied().collect();
    looked.sort();
    expected.sort();
    assert_eq!(looked, expected);
    let mut stored = cache.stores.lock().unwrap().clone();
    let mut ran: Vec<CacheKey> = executed.values().flatten().copied().collect();
    stored.sort();
    ran.sort();
    assert_eq!(stored, ran);
}

/// The key handed over is the documented function of the vertex, its
/// inputs' keys and its content digest, with its preimage alongside.
#[test]
fn the_handed_key_is_the_cache_key_of_its_preimage() {
    let g = graph("FROM a\nCOPY app /app\nRUN make\n");
    let fake = Counting::default();
    let solved = Solver::new(&fake, 1).solve(&g, &[g.output()]).unwrap();
    for id in g.vertex_ids() {
        let v = g.vertex(id);
        let inputs: Vec<CacheKey> = g.inputs(id).iter().map(|i| solved.keys[i]).collect();
        let reads_files = matches!(v.op, Op::Context(_) | Op::File(_));
        let content = reads_files.then(|| Digest::of(v.name.as_bytes()));
        assert_eq!(
            solved.keys[&id],
            cache_key(v, &inputs, content),
            "{}",
            v.name
        );
    }
}
