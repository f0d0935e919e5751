//! Speed of the compose merge passes on two 50-service files (a base and an
//! override touching every service: image, ports, environment, labels,
//! volumes, depends_on, command), against a reference measured in the same
//! run: parsing the same two files with the YAML layer, which any merge has
//! to do first.
//!
//! Run: `cargo bench -p kiln-parser --bench compose_merge`. Prints the
//! medians of 201 runs, the ratio merge/parse, and the share of the 20 ms
//! budget `kiln compose config` has for a 50-service project.

use std::hint::black_box;
use std::time::{Duration, Instant};

use kiln_parser::compose::files::merge_texts;
use kiln_parser::compose::yaml;

const SERVICES: usize = 50;
const BUDGET: Duration = Duration::from_millis(20);

fn base() -> String {
    let mut out = String::from("services:\n");
    for i in 0..SERVICES {
        out += &format!(
            "  svc{i}:\n    image: app/svc{i}:1\n    command: [\"run\", \"--id\", \"{i}\"]\n    ports:\n      - \"{p}:80\"\n    environment:\n      MODE: base\n      ID: \"{i}\"\n    labels:\n      team: core\n    volumes:\n      - ./data{i}:/data\n    depends_on: [svc{d}]\n",
            p = 8000 + i,
            d = (i + 1) % SERVICES
        );
    }
    out
}

fn over() -> String {
    let mut out = String::from("services:\n");
    for i in 0..SERVICES {
        out += &format!(
            "  svc{i}:\n    image: app/svc{i}:2\n    ports:\n      - \"{p}:80\"\n      - \"{q}:81\"\n    environment:\n      - MODE=override\n    labels: [\"tier=web\"]\n    volumes:\n      - ./other{i}:/data\n    depends_on:\n      svc{d}: {{condition: service_healthy}}\n",
            p = 8000 + i,
            q = 9000 + i,
            d = (i + 1) % SERVICES
        );
    }
    out
}

/// Medians of 201 timed runs of `a` and `b`, interleaved (a, b, a, b...)
/// so that load from other processes hits both alike.
fn medians(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    a();
    b();
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let (mut xs, mut ys): (Vec<Duration>, Vec<Duration>) =
        (0..201).map(|_| (time(&mut a), time(&mut b))).unzip();
    xs.sort();
    ys.sort();
    (xs[100], ys[100])
}

fn main() {
    let files = vec![
        ("base.yaml".to_string(), base()),
        ("over.yaml".to_string(), over()),
    ];
    let (parse, merge) = medians(
        || {
            for (name, text) in &files {
                black_box(yaml::parse(black_box(text), name).expect("parses"));
            }
        },
        || {
            black_box(merge_texts(black_box(&files)).expect("merges"));
        },
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("parse only (reference): median {:.3} ms", ms(parse));
    println!(
        "parse + merge + unicity: median {:.3} ms = {:.2}x the parse; {:.1}% of the 20 ms budget",
        ms(merge),
        merge.as_secs_f64() / parse.as_secs_f64(),
        100.0 * merge.as_secs_f64() / BUDGET.as_secs_f64()
    );
}
