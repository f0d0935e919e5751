//! Solver tests with a fake executor: no filesystem, no processes. Graphs
//! come from real Dockerfiles; the fake acts on the RUN command text:
//! `sleep-200` sleeps 200 ms, `fail` fails after logging, `wait-cancel`
//! waits (up to 5 s) for the cancel token, anything else succeeds at once.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kiln_builder::graph::{BuildGraph, BuildOptions, Op, Platform, SourceOp, Vertex, VertexId};
use kiln_builder::solver::{
    cache_key, explain, CacheKey, CacheLookup, ComputedKey, Event, ExecContext, ExecError,
    Executor, SolveError, Solver, KEY_VERSION,
};
use kiln_builder::Digest;
use kiln_parser::dockerfile::parse_dockerfile;

/// One execute call: vertex, start, end, result.
type Run = (VertexId, Instant, Instant, Result<(), String>);

#[derive(Default)]
struct Fake {
    /// (vertex, start, end, result) per execute call.
    runs: Mutex<Vec<Run>>,
    /// Digest given for context vertices.
    content: Option<Digest>,
}

fn command(vertex: &Vertex) -> Option<&str> {
    match &vertex.op {
        Op::Exec(e) => e.args.last().map(String::as_str),
        _ => None,
    }
}

impl Executor for Fake {
    type Output = String;

    fn content_digest(
        &self,
        vertex: &Vertex,
        _inputs: &[String],
        _cx: &ExecContext<'_>,
    ) -> Result<Option<Digest>, ExecError> {
        Ok(matches!(vertex.op, Op::Context(_))
            .then_some(self.content)
            .flatten())
    }

    fn execute(
        &self,
        vertex: &Vertex,
        inputs: &[String],
        _key: &ComputedKey,
        cx: &ExecContext<'_>,
    ) -> Result<String, ExecError> {
        let start = Instant::now();
        let result = match command(vertex) {
            Some("sleep-200") => {
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            }
            Some("fail") => {
                std::thread::sleep(Duration::from_millis(50));
                cx.log(b"compiling...\nerror: boom\n");
                Err(ExecError::ExitCode {
                    argv: vec!["fail".into()],
                    code: 2,
                })
            }
            Some("wait-cancel") => {
                let deadline = Instant::now() + Duration::from_secs(5);
                while !cx.cancel().is_cancelled() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if cx.cancel().is_cancelled() {
                    Err(ExecError::Cancelled)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        };
        let end = Instant::now();
        let recorded = result.clone().map_err(|e: ExecError| e.to_string());
        self.runs
            .lock()
            .unwrap()
            .push((cx.vertex(), start, end, recorded));
        result?;
        Ok(format!("{}({})", vertex.op.kind(), inputs.join(",")))
    }
}

fn graph(dockerfile: &str) -> BuildGraph {
    let df = parse_dockerfile(dockerfile).expect("dockerfile parses");
    let amd64 = Platform::parse("linux/amd64").unwrap();
    let opts = BuildOptions {
        build_platform: amd64.clone(),
        target_platform: amd64,
        ..BuildOptions::default()
    };
    BuildGraph::new(&df, &opts).expect("graph builds")
}

fn vertex_running(g: &BuildGraph, cmd: &str) -> VertexId {
    g.vertex_ids()
        .find(|&id| command(g.vertex(id)) == Some(cmd))
        .unwrap_or_else(|| panic!("no RUN {cmd}"))
}

const TWO_SLEEPS: &str = "FROM a AS x\nRUN sleep-200\nFROM a AS y\nRUN echo y && sleep-200\n\
FROM scratch\nCOPY --from=x /x /x\nCOPY --from=y /y /y\n";

fn sleeps_overlap(jobs: usize) -> bool {
    let g = graph(&TWO_SLEEPS.replace("echo y && sleep-200", "sleep-200"));
    let fake = Fake::default();
    Solver::new(&fake, jobs)
        .solve(&g, &[g.output()])
        .expect("solves");
    let runs = fake.runs.lock().unwrap();
    let sleeps: Vec<_> = runs
        .iter()
        .filter(|r| command(g.vertex(r.0)) == Some("sleep-200"))
        .collect();
    assert_eq!(sleeps.len(), 2, "both sleeps ran once");
    let (a, b) = (sleeps[0], sleeps[1]);
    a.1 < b.2 && b.1 < a.2
}

#[test]
fn independent_vertices_overlap_with_two_jobs() {
    assert!(sleeps_overlap(2), "intervals should overlap with jobs=2");
}

#[test]
fn one_job_runs_one_at_a_time() {
    assert!(!sleeps_overlap(1), "intervals must not overlap with jobs=1");
}

#[test]
fn first_failure_cancels_running_and_skips_pending() {
    let g = graph(
        "FROM a AS x\nRUN fail\nFROM a AS y\nRUN wait-cancel\nFROM a AS z\nRUN never\n\
         FROM scratch\nCOPY --from=x /x /x\nCOPY --from=y /y /y\nCOPY --from=z /z /z\n",
    );
    let fake = Fake::default();
    let events = Mutex::new(Vec::new());
    let sink = |e: Event| events.lock().unwrap().push(e);
    let started = Instant::now();
    let err = Solver::new(&fake, 2)
        .with_events(&sink)
        .solve(&g, &[g.output()])
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waiter stopped early"
    );
    let SolveError::Failed {
        vertex,
        span,
        output_tail,
        error,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*vertex, vertex_running(&g, "fail"));
    assert_eq!(span.map(|s| s.start.line), Some(2));
    assert!(output_tail.contains("error: boom"), "{output_tail}");
    assert!(matches!(error, ExecError::ExitCode { code: 2, .. }));
    let message = err.to_string();
    assert!(
        message.starts_with("Dockerfile:2: [x 2/2] RUN fail"),
        "{message}"
    );
    assert!(message.contains("> error: boom"), "{message}");

    let runs = fake.runs.lock().unwrap();
    let ran = |cmd: &str| {
        runs.iter()
            .filter(|r| command(g.vertex(r.0)) == Some(cmd))
            .count()
    };
    assert_eq!(ran("never"), 0, "a vertex not yet started never starts");
    let waiter = runs
        .iter()
        .find(|r| command(g.vertex(r.0)) == Some("wait-cancel"))
        .expect("the sibling was running");
    assert_eq!(waiter.3, Err("cancelled".to_string()));
    assert!(!runs.iter().any(|r| matches!(g.vertex(r.0).op, Op::File(_))));
    let events = events.lock().unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Failed { vertex: v, cancelled: false, .. } if *v == *vertex)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Log { bytes, .. } if bytes.starts_with(b"compiling"))));
}

#[test]
fn diamond_runs_the_shared_vertex_once() {
    let g = graph(
        "FROM a AS base\nRUN shared\nFROM base AS l\nRUN left\nFROM base AS r\nRUN right\n\
         FROM base\nCOPY --from=l /l /l\nCOPY --from=r /r /r\n",
    );
    let fake = Fake::default();
    let solved = Solver::new(&fake, 4).solve(&g, &[g.output()]).unwrap();
    let runs = fake.runs.lock().unwrap();
    assert_eq!(runs.len(), g.len(), "every vertex exactly once");
    let shared = vertex_running(&g, "shared");
    assert_eq!(runs.iter().filter(|r| r.0 == shared).count(), 1);
    // dependency order: each vertex started after all its inputs ended
    let at: BTreeMap<VertexId, (Instant, Instant)> =
        runs.iter().map(|r| (r.0, (r.1, r.2))).collect();
    for id in g.vertex_ids() {
        for input in g.inputs(id) {
            assert!(at[&input].1 <= at[&id].0, "{input} before {id}");
        }
    }
    assert_eq!(solved.outputs.len(), g.len());
}

struct HitOn(&'static str, Mutex<Vec<CacheKey>>);

impl CacheLookup<String> for HitOn {
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<String> {
        self.1.lock().unwrap().push(*key);
        (command(vertex) == Some(self.0)).then(|| "from-cache".to_string())
    }
}

#[test]
fn cache_hit_skips_execute_and_emits_cached() {
    let g = graph("FROM a\nRUN expensive\nRUN after\n");
    let fake = Fake::default();
    let cache = HitOn("expensive", Mutex::new(Vec::new()));
    let events = Mutex::new(Vec::new());
    let sink = |e: Event| events.lock().unwrap().push(e);
    let solved = Solver::new(&fake, 2)
        .with_cache(&cache)
        .with_events(&sink)
        .solve(&g, &[g.output()])
        .unwrap();
    let hit = vertex_running(&g, "expensive");
    let runs = fake.runs.lock().unwrap();
    assert!(
        !runs.iter().any(|r| r.0 == hit),
        "cached vertex not executed"
    );
    assert!(solved.cached.contains(&hit));
    assert_eq!(solved.outputs[&g.output()], "exec(from-cache)");
    let events = events.lock().unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Cached { vertex, key } if *vertex == hit && *key == solved.keys[&hit])));
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Started { vertex } if *vertex == hit)));
}

#[test]
fn no_cache_filter_bypasses_lookup() {
    let df = parse_dockerfile("FROM a AS s\nRUN expensive\n").unwrap();
    let opts = BuildOptions {
        no_cache_filter: ["s".to_string()].into(),
        ..BuildOptions::default()
    };
    let g = BuildGraph::new(&df, &opts).unwrap();
    let fake = Fake::default();
    let cache = HitOn("expensive", Mutex::new(Vec::new()));
    let solved = Solver::new(&fake, 1)
        .with_cache(&cache)
        .solve(&g, &[g.output()])
        .unwrap();
    assert!(solved.cached.is_empty());
    assert_eq!(fake.runs.lock().unwrap().len(), 2);
}

fn fixed_vertex() -> Vertex {
    Vertex {
        op: Op::Source(SourceOp::Image {
            reference: "docker.io/library/alpine:3.20".into(),
            platform: "linux/amd64".into(),
        }),
        span: None,
        stage: None,
        name: "[internal] fixed".into(),
        created_by: None,
        ignore_cache: false,
    }
}

#[test]
fn cache_key_is_stable_golden() {
    assert_eq!(KEY_VERSION, 2);
    let key = cache_key(&fixed_vertex(), &[], None);
    assert_eq!(
        key.to_string(),
        "sha256:5c576f247ae19c1a032eed99c2f6920e9e98150b20d0d8ca0fcac1f0f12f51ca",
        "changing this breaks every stored cache: bump KEY_VERSION"
    );
}

#[test]
fn cache_key_changes_with_inputs_fields_and_content_only() {
    let g = graph("FROM a\nCOPY app /app\nRUN make\n");
    let copy = g
        .vertex_ids()
        .find(|&id| matches!(g.vertex(id).op, Op::File(_)))
        .unwrap();
    let v = g.vertex(copy);
    let k1 = CacheKey(Digest::of(b"base"));
    let k2 = CacheKey(Digest::of(b"ctx"));
    let d1 = Some(Digest::of(b"files v1"));
    let base = cache_key(v, &[k1, k2], d1);
    assert_eq!(base, cache_key(v, &[k1, k2], d1), "deterministic");

    let mut moved = v.clone();
    moved.span = None;
    moved.name = "renamed".into();
    moved.created_by = Some("other".into());
    assert_eq!(
        cache_key(&moved, &[k1, k2], d1),
        base,
        "metadata is not in the key"
    );

    let other_input = cache_key(v, &[CacheKey(Digest::of(b"base2")), k2], d1);
    assert_ne!(other_input, base);
    let other_content = cache_key(v, &[k1, k2], Some(Digest::of(b"files v2")));
    assert_ne!(other_content, base);
    let mut changed = v.clone();
    if let Op::File(f) = &mut changed.op {
        f.chmod = Some("0755".into());
    }
    assert_ne!(cache_key(&changed, &[k1, k2], d1), base);

    // the explanation names what changed
    let before = explain(v, &[k1, k2], d1);
    let after = explain(&changed, &[k1, k2], Some(Digest::of(b"files v2")));
    let changes = after.changes(&before);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes[0].starts_with("field chmod: (unset) -> \"0755\""),
        "{changes:?}"
    );
    assert!(changes[1].starts_with("content: sha256:"), "{changes:?}");
    assert!(explain(v, &[k1, k2], d1).changes(&before).is_empty());
}

#[test]
fn content_digest_flows_into_context_keys() {
    let g = graph("FROM a\nCOPY app /app\n");
    let ctx = g
        .vertex_ids()
        .find(|&id| matches!(g.vertex(id).op, Op::Context(_)))
        .unwrap();
    let solve = |content: &[u8]| {
        let fake = Fake {
            content: Some(Digest::of(content)),
            ..Fake::default()
        };
        Solver::new(&fake, 2).solve(&g, &[g.output()]).unwrap().keys
    };
    let (a, b, c) = (solve(b"v1"), solve(b"v1"), solve(b"v2"));
    assert_eq!(a, b);
    assert_ne!(a[&ctx], c[&ctx]);
    assert_ne!(
        a[&g.output()],
        c[&g.output()],
        "a context change reaches the COPY"
    );
    let image = g.inputs(g.output())[0];
    assert_eq!(a[&image], c[&image], "the image source is untouched");
}

#[test]
fn unused_failing_stage_never_runs() {
    let df = parse_dockerfile(
        "FROM a AS broken\nRUN fail\nFROM a AS app\nRUN ok\nFROM broken\nRUN more\n",
    )
    .unwrap();
    let opts = BuildOptions {
        target: Some("app".into()),
        ..BuildOptions::default()
    };
    let g = BuildGraph::new(&df, &opts).unwrap();
    let fake = Fake::default();
    Solver::new(&fake, 2)
        .solve(&g, &[g.output()])
        .expect("target builds");
    let runs = fake.runs.lock().unwrap();
    assert!(runs.iter().all(|r| command(g.vertex(r.0)) != Some("fail")));
    assert_eq!(runs.len(), 2, "image + RUN ok");
}

/// `COPY --from=stage` is keyed by what it copies: the source stage's key
/// may change (rebuilt) without changing the COPY's key while the copied
/// content is the same; the destination's key and the content still count.
#[test]
fn copy_from_a_stage_is_keyed_by_content_not_by_the_stage() {
    let df =
        parse_dockerfile("FROM a AS src\nRUN make\nFROM b\nCOPY --from=src /out /out\n").unwrap();
    let g = BuildGraph::new(&df, &BuildOptions::default()).unwrap();
    let copy = g.output();
    let vertex = g.vertex(copy);
    assert!(matches!(vertex.op, Op::File(_)), "{:?}", vertex.op);
    let k = |name: &str| kiln_builder::solver::CacheKey(Digest::of(name.as_bytes()));
    let content = Some(Digest::of(b"the copied files"));
    let base = cache_key(vertex, &[k("dest"), k("src-v1")], content);
    assert_eq!(base, cache_key(vertex, &[k("dest"), k("src-v2")], content));
    assert_ne!(base, cache_key(vertex, &[k("dest2"), k("src-v1")], content));
    assert_ne!(
        base,
        cache_key(
            vertex,
            &[k("dest"), k("src-v1")],
            Some(Digest::of(b"other"))
        )
    );
    // Without a content digest the source's key is all there is.
    assert_ne!(
        cache_key(vertex, &[k("dest"), k("src-v1")], None),
        cache_key(vertex, &[k("dest"), k("src-v2")], None)
    );
}
