//! Speed of the Compose text passes on a 50-service model: interpolation of
//! every string leaf (`interpolate_model`, with casts) and a 1,000-line `.env`.
//! Budget: 1 ms each (the whole `kiln compose config` target is 20 ms).
//!
//! Run: `cargo bench -p kiln-parser --bench compose_text`. Criterion prints its
//! statistics; the bench then prints medians of 201 timed runs of each pass and
//! of a reference measured in the same run (parsing the same model from JSON
//! text with serde_json), and the ratios.

use criterion::{criterion_group, criterion_main, Criterion};
use kiln_parser::compose::dotenv;
use kiln_parser::compose::interpolate_tree::interpolate_model;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_millis(1);

/// A service with the usual amount of `${...}` in it.
fn service(i: usize) -> Value {
    json!({
        "image": format!("registry.local/app{i}:${{TAG:-1.{i}}}"),
        "build": {"context": format!("./svc{i}"), "args": {"VERSION": "${VERSION:-1}"}},
        "command": ["serve", "--port", "${PORT:-8080}"],
        "environment": {"RUST_LOG": "${LOG:-info}", "HOME": "$HOME", "LITERAL": "$$NOT"},
        "ports": [format!("{}:8080", 8000 + i), {"target": "${PORT:-8080}", "published": "${PUB}"}],
        "volumes": [format!("data{i}:/data"), {"type": "bind", "source": "${SRC:-./src}", "target": "/src"}],
        "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "retries": "${RETRIES:-3}"},
        "labels": ["tier=web", format!("index={i}")],
        "init": "${INIT:-true}",
        "deploy": {"replicas": "${REPLICAS:-1}"}
    })
}

fn model() -> Value {
    let services: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("svc{i}"), service(i))).collect();
    json!({"name": "bench", "services": services})
}

/// A 1,000-line `.env`: plain, quoted, commented and interpolated lines.
fn env_text() -> String {
    (0..250)
        .map(|i| {
            format!(
                "KEY_{i}=value{i}\nQUOTED_{i}=\"a ${{KEY_{i}}} b\\n\"\n# comment {i}\nexport SINGLE_{i}='lit $x' # c\n"
            )
        })
        .collect()
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..201)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn lookup(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".into()),
        "PUB" => Some("80".into()),
        _ => None,
    }
}

fn bench_text(c: &mut Criterion) {
    let model = model();
    let text = serde_json::to_string(&model).expect("serialises");
    let env = env_text();
    let interp = || interpolate_model(black_box(&model), &lookup, &mut |_, _| {}).expect("ok");
    let parse_env = || dotenv::parse(black_box(&env), &lookup).expect("ok");
    c.bench_function("interpolate 50-service model", |b| b.iter(interp));
    c.bench_function("parse 1000-line .env", |b| b.iter(parse_env));
    let reference = median(|| {
        black_box(serde_json::from_str::<Value>(black_box(&text)).expect("JSON"));
    });
    for (name, took) in [
        ("interpolate 50-service model", median(|| drop(interp()))),
        ("parse 1000-line .env", median(|| drop(parse_env()))),
    ] {
        println!(
            "{name}: median {took:?} (budget {BUDGET:?}); serde_json parse of the model {reference:?}; ratio {:.2}",
            took.as_secs_f64() / reference.as_secs_f64()
        );
    }
}

criterion_group!(benches, bench_text);
criterion_main!(benches);
