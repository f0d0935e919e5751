//! Speed of the whole Compose loader (what `kiln compose config` runs after
//! starting) on a 50-service project with a `.env` and an override file:
//! discovery, `.env`, interpolation, merge, schema, canonical form,
//! normalisation, consistency, environment resolution, then the bound model
//! printed as YAML. The reference, measured in the same run, is parsing the
//! same two files with the YAML layer alone.
//!
//! Run: `cargo bench -p kiln-parser --bench compose_load`. Prints the first
//! load (it compiles the compose-spec schema, as every `kiln` process does
//! once), the medians of 201 interleaved runs, the ratio load/parse, and the
//! share of the 20 ms budget `kiln compose config` has.

use std::hint::black_box;
use std::time::{Duration, Instant};

use kiln_parser::compose::loader::{self, project, render, LoadOptions, MemFiles};
use kiln_parser::compose::yaml;

const SERVICES: usize = 50;
const BUDGET: Duration = Duration::from_millis(20);

fn compose() -> String {
    let mut out = String::from("name: bench\nservices:\n");
    for i in 1..=SERVICES {
        out += &format!(
            "  svc{i}:\n    image: \"registry.local/app{i}:${{TAG:-latest}}\"\n    build:\n      context: ./svc{i}\n      args: [\"VERSION=${{VERSION}}\"]\n    ports: [\"{p}:80\", \"127.0.0.1:{q}:9000/udp\"]\n    volumes: [\"./data/{i}:/data:ro\", \"cache{i}:/cache\"]\n    environment:\n      - INDEX={i}\n      - HOST=${{HOST:-localhost}}\n      - EMPTY\n    labels: [\"com.example.index={i}\", \"com.example.tier=${{TIER:-web}}\"]\n    healthcheck:\n      test: curl -f http://localhost/ || exit 1\n      interval: 30s\n    networks: [front, back]\n    command: [\"serve\", \"--port\", \"80\"]\n",
            p = 8000 + i,
            q = 9000 + i,
        );
        if i > 1 {
            out += &format!("    depends_on: [svc{}]\n", i - 1);
        }
    }
    out += "networks:\n  front: {}\n  back: {internal: true}\nvolumes:\n";
    for i in 1..=SERVICES {
        out += &format!("  cache{i}: {{}}\n");
    }
    out
}

const OVERRIDE: &str = "services:\n  svc1:\n    environment: [OVERRIDE=1]\n";

fn load_and_print(files: &MemFiles) -> String {
    let opts = LoadOptions::new("/p", vec![("HOME".into(), "/root".into())]);
    let mut loaded = loader::load(&opts, files).expect("the bench project loads");
    project::bind(&mut loaded.model);
    render::order_project(&mut loaded.model);
    render::to_yaml(&loaded.model)
}

fn main() {
    let text = compose();
    let mut files = MemFiles::new();
    files.insert("/p/compose.yaml", &text);
    files.insert("/p/compose.override.yaml", OVERRIDE);
    files.insert("/p/.env", "TAG=1.2.3\nVERSION=7\nTIER=api\n");
    let start = Instant::now();
    black_box(load_and_print(&files));
    let first = start.elapsed();
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let mut load = || {
        black_box(load_and_print(&files));
    };
    let mut parse = || {
        black_box(yaml::parse(&text, "compose.yaml").unwrap());
        black_box(yaml::parse(OVERRIDE, "override").unwrap());
    };
    let (mut xs, mut ys): (Vec<Duration>, Vec<Duration>) = (0..201)
        .map(|_| (time(&mut load), time(&mut parse)))
        .unzip();
    xs.sort();
    ys.sort();
    let (l, p) = (xs[100], ys[100]);
    println!("compose_load: {SERVICES} services, {} bytes", text.len());
    println!(
        "first load (compiles the schema): {:.3} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "load + print median:              {:.3} ms",
        l.as_secs_f64() * 1e3
    );
    println!(
        "YAML parse median (reference):    {:.3} ms",
        p.as_secs_f64() * 1e3
    );
    println!(
        "ratio load/parse:                 {:.1}",
        l.as_secs_f64() / p.as_secs_f64()
    );
    println!(
        "share of the 20 ms budget:        {:.0}%",
        100.0 * first.max(l).as_secs_f64() / BUDGET.as_secs_f64()
    );
}
