//! Deep stage graphs (red-team H4): the graph builder walks stages with an
//! explicit stack, so chains of thousands of stages neither overflow the
//! (2 MiB) test thread's stack nor change what the graph means.

use kiln_builder::graph::{BuildGraph, BuildOptions, GraphError, Op};
use kiln_parser::dockerfile::parse_dockerfile;

fn graph(text: &str) -> Result<BuildGraph, GraphError> {
    let df = parse_dockerfile(text).expect("parses");
    BuildGraph::new(&df, &BuildOptions::default())
}

#[test]
fn three_thousand_chained_copy_from_stages() {
    let mut text = String::from("FROM scratch AS s0\nCOPY n /n\n");
    for i in 1..3000 {
        text.push_str(&format!(
            "FROM scratch AS s{i}\nCOPY --from=s{} /n /n\n",
            i - 1
        ));
    }
    let g = graph(&text).expect("graph");
    assert_eq!(g.stages().len(), 3000);
    // Every stage's COPY reads the previous stage's COPY.
    let copies: Vec<_> = g
        .vertex_ids()
        .filter(|&v| matches!(g.vertex(v).op, Op::File(_)))
        .collect();
    assert_eq!(copies.len(), 3000);
    for pair in copies.windows(2) {
        assert_eq!(g.inputs(pair[1])[1], pair[0]);
    }
    assert_eq!(g.output(), *copies.last().unwrap());
}

#[test]
fn four_thousand_chained_from_stages_and_mounts() {
    let mut text = String::from("FROM scratch AS s0\n");
    for i in 1..4000 {
        text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
        if i % 100 == 0 {
            text.push_str(&format!("ENV V{i}={i}\n"));
        }
    }
    text.push_str("FROM scratch AS m0\n");
    for i in 1..900 {
        text.push_str(&format!(
            "FROM scratch AS m{i}\nRUN --mount=from=m{},target=/p true\n",
            i - 1
        ));
    }
    text.push_str("FROM s3999\nRUN --mount=from=m899,target=/p true\n");
    let g = graph(&text).expect("graph");
    let env = &g.target().config.env;
    assert_eq!(env.len(), 40, "PATH and V100..V3900");
    assert!(env.contains(&("V3900".to_string(), "3900".to_string())));
    assert_eq!(g.stages().len(), 4000 + 900 + 1);
}

#[test]
fn cycles_are_still_found_without_recursion() {
    let err =
        graph("FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n")
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2:1: circular dependency detected on stage: b"
    );
}

#[test]
fn a_stage_waiting_for_another_keeps_its_first_error() {
    // The unknown stage index is reported even though `b` is built first.
    let err =
        graph("FROM scratch AS b\nFROM scratch AS a\nCOPY --from=b /x /x\nCOPY --from=7 /y /y\n")
            .unwrap_err();
    assert_eq!(err.to_string(), "4:1: unknown stage \"7\" in COPY --from");
}

#[test]
fn a_stage_waits_for_its_base_before_expanding_anything() {
    // The child expands `--from` with the ARG it inherits from `p`: it must
    // read `a`, and never build `b` (which would fail).
    let g = graph(
        "FROM scratch AS a\nCOPY n /x\n\
         FROM scratch AS b\nCOPY --from=7 /x /x\n\
         FROM scratch AS p\nARG SRC=a\n\
         FROM p\nCOPY --from=${SRC:-b} /x /x\n",
    )
    .expect("graph");
    let built: Vec<usize> = g.stages().iter().map(|s| s.index).collect();
    assert_eq!(built, [2, 0, 3]);
}
