//! Speed of the compose-spec schema validator (`kiln_parser::compose::schema`)
//! on a 50-service model. Budget: 1 ms per validation (the whole
//! `kiln compose config` target is 20 ms).
//!
//! Run: `cargo bench -p kiln-parser --bench compose_schema`. Criterion prints
//! its statistics; the bench then prints medians of 201 timed runs of the
//! validation and of a reference measured in the same run, parsing the same
//! model from JSON text with serde_json, and the ratios to both; and the
//! median time to parse and compile the embedded schema (paid once per process).

use criterion::{criterion_group, criterion_main, Criterion};
use kiln_parser::compose::schema::{validate, Validator, COMPOSE_SPEC_JSON};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_millis(1);

/// A realistic service: most of the keys a development stack uses.
fn service(i: usize) -> Value {
    json!({
        "image": format!("registry.local/app{i}:1.{i}"),
        "build": {"context": format!("./svc{i}"), "args": {"VERSION": "${VERSION:-1}"}, "target": "dev"},
        "command": ["serve", "--port", "8080"],
        "environment": {"RUST_LOG": "info", "PORT": 8080, "DEBUG": true, "EMPTY": null},
        "env_file": [".env"],
        "ports": [format!("{}:8080", 8000 + i), {"target": 9090, "published": "${PORT}", "protocol": "tcp"}],
        "volumes": [format!("data{i}:/data"), {"type": "bind", "source": "./src", "target": "/src", "read_only": true}],
        "depends_on": {"db": {"condition": "service_healthy"}},
        "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "retries": 3},
        "labels": ["tier=web", format!("index={i}")],
        "networks": {"front": {"aliases": [format!("svc{i}")]}, "back": null},
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "256M"}}, "restart_policy": {"condition": "on-failure"}},
        "restart": "unless-stopped",
        "x-meta": {"owner": "team"}
    })
}

/// A 50-service project (49 generated services plus `db`).
fn model() -> Value {
    let mut services = serde_json::Map::new();
    for i in 0..49 {
        services.insert(format!("svc{i}"), service(i));
    }
    services.insert(
        "db".into(),
        json!({"image": "postgres:16", "healthcheck": {"test": "pg_isready"}}),
    );
    json!({
        "name": "bench",
        "services": services,
        "networks": {"front": {}, "back": {"driver": "bridge"}},
        "volumes": {"data0": {}, "data1": {"external": true}}
    })
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

fn bench_validate(c: &mut Criterion) {
    Validator::compose_spec().expect("embedded schema compiles");
    let compile = median(|| {
        let schema: Value = serde_json::from_str(COMPOSE_SPEC_JSON).expect("schema is JSON");
        black_box(Validator::compile(&schema).expect("compiles"));
    });
    let model = model();
    validate(&model).expect("the bench model is valid");
    let text = serde_json::to_string(&model).expect("serialises");
    c.bench_function("validate 50-service model", |b| {
        b.iter(|| validate(black_box(&model)))
    });
    let ours = median(|| validate(black_box(&model)).expect("valid"));
    let reference = median(|| {
        black_box(serde_json::from_str::<Value>(black_box(&text)).expect("parses"));
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "median schema parse + compile (once per process): {:.3} ms",
        ms(compile)
    );
    println!(
        "median validate: {:.3} ms = {:.3}x of the 1 ms budget; reference serde_json::from_str of the same model ({} bytes): {:.3} ms; ratio {:.2}",
        ms(ours),
        ours.as_secs_f64() / BUDGET.as_secs_f64(),
        text.len(),
        ms(reference),
        ours.as_secs_f64() / reference.as_secs_f64()
    );
}

criterion_group!(benches, bench_validate);
criterion_main!(benches);
