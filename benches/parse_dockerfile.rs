//! Parsing speed of the Dockerfile parser on `testdata/dockerfile/large/Dockerfile`
//! (1,000+ lines built from BuildKit's corpus). Target: under 2 ms per parse.
//!
//! Run: `cargo bench --bench parse_dockerfile`. Criterion prints the median; the
//! bench also prints the ratio of that median to the 2 ms budget.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_millis(2);

fn large_dockerfile() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/dockerfile/large/Dockerfile"
    );
    std::fs::read_to_string(path).expect("testdata/dockerfile/large/Dockerfile")
}

fn bench_parse(c: &mut Criterion) {
    let text = large_dockerfile();
    let lines = text.lines().count();
    c.bench_function(&format!("syntax parse ({lines} lines)"), |b| {
        b.iter(|| kiln_parser::dockerfile::parse(std::hint::black_box(&text)).expect("parses"))
    });
    c.bench_function(&format!("syntax + typed parse ({lines} lines)"), |b| {
        b.iter(|| {
            kiln_parser::dockerfile::parse_dockerfile(std::hint::black_box(&text)).expect("parses")
        })
    });
    report_median_ratio(&text);
}

/// Criterion's own report has the statistics; this adds the ratio to the budget
/// from a separate median of 201 timed parses.
fn report_median_ratio(text: &str) {
    let mut samples: Vec<Duration> = (0..201)
        .map(|_| {
            let start = Instant::now();
            kiln_parser::dockerfile::parse_dockerfile(std::hint::black_box(text)).expect("parses");
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "median full parse: {:.3} ms = {:.3}x of the 2 ms budget",
        median.as_secs_f64() * 1e3,
        median.as_secs_f64() / BUDGET.as_secs_f64()
    );
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
