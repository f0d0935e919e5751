//! Golden tests of graph building.
//!
//! Each folder `testdata/builder/graph/<case>/` holds a `Dockerfile`, an
//! optional `args` file and `expected.txt`: the [`BuildGraph::dump`] of the
//! graph, or `error: <message>` when building must fail.
//!
//! `args` lines: `KEY=value` (a build arg), `--target=NAME`,
//! `--platform=os/arch` (build and target), `--label=k=v`,
//! `--no-cache-filter=STAGE`, `--base-env=REF KEY=value` and
//! `--base-onbuild=REF TRIGGER` (the config of base image REF); `#` comments.
//! The platform defaults to linux/amd64 so the dumps do not depend on the host.
//!
//! `UPDATE_GOLDEN=1 cargo test -p kiln-builder --test graph_golden` rewrites
//! the expected files. Every folder is a case: none is skipped.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use kiln_builder::graph::{build_graph, BaseImage, BuildOptions, Platform};
use kiln_parser::dockerfile::parse_dockerfile;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/builder/graph");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Options and base images from an `args` file.
fn options(dir: &Path) -> (BuildOptions, BTreeMap<String, BaseImage>) {
    let amd64 = Platform::parse("linux/amd64").expect("platform");
    let mut opts = BuildOptions {
        build_platform: amd64.clone(),
        target_platform: amd64,
        ..BuildOptions::default()
    };
    let mut bases: BTreeMap<String, BaseImage> = BTreeMap::new();
    let text = fs::read_to_string(dir.join("args")).unwrap_or_default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        match key {
            "--target" => opts.target = Some(value.into()),
            "--platform" => {
                let p = Platform::parse(value).expect("platform in args");
                (opts.build_platform, opts.target_platform) = (p.clone(), p);
            }
            "--label" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                opts.labels.insert(k.into(), v.into());
            }
            "--no-cache-filter" => {
                opts.no_cache_filter.insert(value.into());
            }
            "--base-env" | "--base-onbuild" => {
                let (reference, rest) = value.split_once(' ').expect("REF VALUE");
                let config = &mut bases.entry(reference.into()).or_default().config;
                if key == "--base-env" {
                    let (k, v) = rest.split_once('=').expect("KEY=value");
                    config.env_set(k, v);
                } else {
                    config.on_build.push(rest.into());
                }
            }
            _ => {
                opts.build_args.insert(key.into(), value.into());
            }
        }
    }
    (opts, bases)
}

fn render(dir: &Path) -> String {
    let source = fs::read_to_string(dir.join("Dockerfile"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let df = match parse_dockerfile(&source) {
        Ok(df) => df,
        Err(e) => return format!("parse error: {}\n", e.display_in("Dockerfile")),
    };
    let (opts, bases) = options(dir);
    match build_graph(&df, &opts, &bases) {
        Ok(graph) => graph.dump(),
        Err(e) => format!("error: {e}\n"),
    }
}

#[test]
fn graph_cases() {
    let dirs = cases();
    assert!(
        dirs.len() >= 12,
        "expected at least 12 cases, found {}",
        dirs.len()
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for dir in &dirs {
        let actual = std::panic::catch_unwind(|| render(dir))
            .unwrap_or_else(|_| format!("{}: panicked\n", dir.display()));
        let path = dir.join("expected.txt");
        if update {
            fs::write(&path, &actual).expect("writing golden file");
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
