//! Reliability of the image store under crashes and concurrency, driving the
//! real `kiln` binary against temp `--root`s.
//!
//! - `crash_loop_keeps_store_consistent`: runs of `kiln import` / `kiln load`
//!   (docker, oci) SIGKILLed after a reproducible pseudo-random delay (until
//!   50 runs were really killed, not finished first); after each kill the
//!   store is checked by an independent checker (system `sha256sum`, a small
//!   JSON parser written here), then `kiln images` must succeed.
//! - `concurrent_loads_of_overlapping_archives`: 8 `kiln load` at once.
//! - `concurrent_tags_lose_no_update`: 8 processes x 10 `kiln tag`.
//!
//! The heavy tests hold one mutex so that measured durations are not skewed by
//! each other on a small machine.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[path = "reliability/check.rs"]
mod check;
mod support;
use support::{kiln, kiln_cmd, ok_as, tar_dir, Scratch};

#[path = "reliability/json.rs"]
mod json;
use check::assert_consistent;

static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- helpers

/// xorshift64*: tiny, seedable, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A rootfs tar of about `random_mb` incompressible + `text_mb` compressible
/// MB (a few big files, many small ones), made with the system `tar`.
fn make_rootfs(dir: &Path, name: &str, seed: u64, random_mb: usize, text_mb: usize) -> PathBuf {
    let tree = dir.join(format!("{name}-tree"));
    let mut rng = Rng::new(seed);
    for sub in ["usr/bin", "usr/share/doc", "etc"] {
        fs::create_dir_all(tree.join(sub)).unwrap();
    }
    let big = random_mb.div_ceil(4).max(1);
    for i in 0..big {
        let mut buf = vec![0u8; random_mb * 1024 * 1024 / big];
        rng.fill(&mut buf);
        fs::write(tree.join(format!("usr/bin/blob{i}")), buf).unwrap();
    }
    let words = [
        "kiln", "layer", "store", "digest", "never", "loses", "data", "tar\n",
    ];
    let small = 32 * 1024;
    for i in 0..text_mb * 1024 * 1024 / small {
        let mut text = String::with_capacity(small);
        while text.len() < small {
            text.push_str(words[(rng.next() % words.len() as u64) as usize]);
            text.push(' ');
        }
        fs::write(tree.join(format!("usr/share/doc/f{i}.txt")), text).unwrap();
    }
    fs::write(tree.join("etc/hostname"), format!("{name}\n")).unwrap();
    std::os::unix::fs::symlink("../usr/bin/blob0", tree.join("etc/link")).unwrap();
    let tar = dir.join(format!("{name}.tar"));
    tar_dir(&tree, &tar);
    fs::remove_dir_all(&tree).unwrap();
    tar
}

// ------------------------------------------------------------ crash loop

#[derive(Clone, Copy, Debug)]
enum Op {
    Import,
    LoadDocker,
    LoadOci,
}

/// Runs continue until this many were killed before finishing...
const KILLS: u64 = 50;
/// ...but give up after this many runs.
const MAX_RUNS: u64 = 100;

#[test]
fn crash_loop_keeps_store_consistent() {
    let _guard = heavy();
    let s = Scratch::new("crash");
    let rootfs = make_rootfs(&s.0, "rootfs", 42, 8, 12);
    let setup = s.0.join("setup");
    ok_as(
        kiln(&setup, &["import", rootfs.to_str().unwrap(), "crash/src:1"]),
        "setup import",
    );
    let docker = s.0.join("docker.tar");
    let oci = s.0.join("oci.tar");
    for (format, path) in [("docker", &docker), ("oci", &oci)] {
        let p = path.to_str().unwrap();
        ok_as(
            kiln(
                &setup,
                &["save", "--format", format, "-o", p, "crash/src:1"],
            ),
            "setup save",
        );
    }

    let args = |op: Op, i: u64| -> Vec<String> {
        match op {
            Op::Import => vec![
                "import".into(),
                rootfs.display().to_string(),
                format!("crash/imp:{i}"),
            ],
            Op::LoadDocker => vec!["load".into(), "-i".into(), docker.display().to_string()],
            Op::LoadOci => vec!["load".into(), "-i".into(), oci.display().to_string()],
        }
    };
    // Typical durations, each measured once on a fresh root.
    let mut typical = BTreeMap::new();
    for (n, op) in [Op::Import, Op::LoadDocker, Op::LoadOci]
        .into_iter()
        .enumerate()
    {
        let root = s.0.join(format!("measure{n}"));
        let start = Instant::now();
        ok_as(
            kiln_cmd(&root).args(args(op, 0)).output().unwrap(),
            "measure",
        );
        typical.insert(format!("{op:?}"), start.elapsed());
        assert_consistent(&root, "measure");
    }
    eprintln!("typical durations: {typical:?}");

    let (mut killed, mut finished, mut leftovers, mut tmp_seen) = (0, 0, 0, 0);
    let mut root = PathBuf::new();
    let mut i = 0;
    while killed < KILLS {
        assert!(
            i < MAX_RUNS,
            "only {killed} of {i} runs were killed before finishing"
        );
        // A fresh root every 10 runs: kills hit both empty stores and stores
        // holding the residue of earlier kills.
        if i % 10 == 0 {
            root = s.0.join(format!("root{}", i / 10));
        }
        let op = match i % 3 {
            0 => Op::Import,
            1 => Op::LoadDocker,
            _ => Op::LoadOci,
        };
        let seed = i + 1;
        let mut rng = Rng::new(seed);
        let max = typical[&format!("{op:?}")].as_micros() as u64;
        let delay = Duration::from_micros(rng.next() % max.max(1));
        let context = format!(
            "run {i}, seed {seed}, {op:?}, kill after {delay:?} of ~{max}us, root {}",
            root.display()
        );
        let mut child = kiln_cmd(&root)
            .args(args(op, i))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(
                    status.success(),
                    "{context}: exited {status} before the kill"
                );
                finished += 1;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
        let report = assert_consistent(&root, &context);
        leftovers += report.ingest_leftovers;
        tmp_seen += usize::from(report.index_tmp_present);
        i += 1;
    }

    // One more of each without a kill, on the most battered root.
    for op in [Op::Import, Op::LoadDocker, Op::LoadOci] {
        ok_as(
            kiln_cmd(&root).args(args(op, 999)).output().unwrap(),
            "final run",
        );
    }
    let report = assert_consistent(&root, "final");
    assert!(
        report.images.contains_key("docker.io/crash/imp:999"),
        "{:?}",
        report.images
    );
    assert!(
        report.images.contains_key("docker.io/crash/src:1"),
        "{:?}",
        report.images
    );
    let final_leftovers: usize = (0..i.div_ceil(10))
        .map(|n| fs::read_dir(s.0.join(format!("root{n}/content/ingest"))).map_or(0, |d| d.count()))
        .sum();
    eprintln!(
        "crash loop: {i} runs, {killed} killed, {finished} finished before the kill; \
         ingest leftovers seen after kills: {leftovers} (sum over checks), left at the end: \
         {final_leftovers}; images.json.tmp present after {tmp_seen} kills"
    );
}

// ------------------------------------------------------------ concurrency

#[test]
fn concurrent_loads_of_overlapping_archives() {
    let _guard = heavy();
    let s = Scratch::new("loads");
    let base = make_rootfs(&s.0, "base", 7, 4, 4);
    let src = s.0.join("src");
    // Three images sharing the one layer of `base` (different `created`).
    let mut ids = BTreeMap::new();
    for (n, name) in ["a", "b", "c"].iter().enumerate() {
        let out = kiln_cmd(&src)
            .env("SOURCE_DATE_EPOCH", format!("{}", 1_700_000_000 + n))
            .args([
                "import",
                base.to_str().unwrap(),
                &format!("shared/{name}:1"),
            ])
            .output()
            .unwrap();
        ids.insert(
            format!("docker.io/shared/{name}:1"),
            ok_as(out, "import").trim().to_string(),
        );
    }
    let src_report = assert_consistent(&src, "source");
    assert_eq!(src_report.images.len(), 3);
    let layer_blobs = src_report.blobs - 3 * 2;
    assert_eq!(layer_blobs, 1, "the three images share one layer blob");

    let sets = [
        ("a", "b", "docker"),
        ("b", "c", "oci"),
        ("a", "c", "docker"),
        ("c", "a", "oci"),
    ];
    let mut archives = Vec::new();
    for (n, (x, y, format)) in sets.iter().enumerate() {
        let path = s.0.join(format!("arch{n}.tar"));
        let (x, y) = (format!("shared/{x}:1"), format!("shared/{y}:1"));
        let p = path.to_str().unwrap();
        ok_as(
            kiln(&src, &["save", "--format", format, "-o", p, &x, &y]),
            "save",
        );
        archives.push(path);
    }

    let root = s.0.join("root");
    let children: Vec<_> = (0..8)
        .map(|n| {
            kiln_cmd(&root)
                .args(["load", "-i", archives[n % archives.len()].to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (n, child) in children.into_iter().enumerate() {
        ok_as(
            child.wait_with_output().unwrap(),
            &format!("concurrent load {n}"),
        );
    }
    let report = assert_consistent(&root, "after concurrent loads");
    assert_eq!(report.images.len(), 3, "{:?}", report.images);
    for (reference, id) in &ids {
        let (_, config) = report
            .images
            .get(reference)
            .unwrap_or_else(|| panic!("{reference} missing"));
        assert_eq!(config, id, "{reference} has its original image ID");
    }
    assert_eq!(
        report.ingest_leftovers, 0,
        "successful loads leave no temp files"
    );
}

#[test]
fn concurrent_tags_lose_no_update() {
    let s = Scratch::new("tags");
    let tree = s.0.join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("hello"), "hello\n").unwrap();
    let tar = s.0.join("small.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    let root = s.0.join("root");
    ok_as(
        kiln(&root, &["import", tar.to_str().unwrap(), "tagsrc:1"]),
        "import",
    );
    // What a crash in the middle of writing the index would leave: kiln must
    // neither read it nor be stopped by it.
    let torn = b"{\"version\": 1, \"images\": {\"docker.io/x/torn";
    fs::write(root.join("images.json.tmp"), torn).unwrap();
    let planted = assert_consistent(&root, "planted images.json.tmp");
    assert_eq!(planted.images.len(), 1);

    let threads: Vec<_> = (0..8)
        .map(|p| {
            let root = root.clone();
            std::thread::spawn(move || {
                for t in 0..10 {
                    let target = format!("tagged/p{p}:t{t}");
                    ok_as(
                        kiln(&root, &["tag", "tagsrc:1", &target]),
                        &format!("tag {target}"),
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let report = assert_consistent(&root, "after concurrent tags");
    let source = report.images["docker.io/library/tagsrc:1"].clone();
    for p in 0..8 {
        for t in 0..10 {
            let reference = format!("docker.io/tagged/p{p}:t{t}");
            assert_eq!(
                report.images.get(&reference),
                Some(&source),
                "{reference} lost"
            );
        }
    }
    assert_eq!(report.images.len(), 81);
    assert!(
        !report.index_tmp_present,
        "no images.json.tmp after clean runs"
    );
}
