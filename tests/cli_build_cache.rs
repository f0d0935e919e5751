//! `kiln build --cache-to type=local,dest=DIR` / `--cache-from
//! type=local,src=DIR`: a cache directory written on one root answers the
//! steps of the same build on another root.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{kiln, ok, one_line_error, Scratch};

/// The RUN writes random bytes: running it again would give other content.
const RANDOM: &str = "head -c 16 /dev/urandom | od -An -tx1";

/// Two stages: `gen` writes random bytes; the final stage copies a context
/// file and the random file, then derives another file from it.
fn two_stage() -> String {
    format!(
        "FROM busybox:local AS gen\nRUN {RANDOM} > /rand\n\
         FROM busybox:local\nCOPY f /f\nCOPY --from=gen /rand /rand\nRUN cat /rand /f > /both\n"
    )
}

struct Env {
    scratch: Scratch,
}

impl Env {
    fn new(name: &str, dockerfile: &str) -> Env {
        let scratch = Scratch::new(name);
        let ctx = scratch.0.join("ctx");
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        std::fs::write(ctx.join("f"), "data\n").unwrap();
        Env { scratch }
    }

    fn ctx(&self) -> PathBuf {
        self.scratch.0.join("ctx")
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.scratch.0.join(name)
    }

    /// A fresh root named `name` with the busybox base loaded.
    fn root(&self, name: &str) -> PathBuf {
        let root = self.dir(name);
        support::load_busybox_local(&root);
        root
    }

    /// `kiln build --progress plain -t t:1 EXTRA… CTX` with
    /// SOURCE_DATE_EPOCH set; returns the output (stderr has the progress).
    fn build(&self, root: &Path, extra: &[&str]) -> Output {
        let iid = root.join("iid");
        support::kiln_cmd(root)
            .args(["build", "--progress", "plain", "-t", "t:1", "--iidfile"])
            .arg(&iid)
            .args(extra)
            .arg(self.ctx())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap()
    }
}

/// The progress text of a successful build and its image ID.
fn built(out: Output, root: &Path) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "build failed: {stderr}");
    let iid = std::fs::read_to_string(root.join("iid")).unwrap();
    (stderr, iid)
}

/// Whether the step whose name contains `step` came from the cache (its
/// `#N` got `CACHED`) rather than running (`#N DONE`).
fn cached(progress: &str, step: &str) -> bool {
    let header = progress
        .lines()
        .find(|l| l.starts_with('#') && l.contains(step))
        .unwrap_or_else(|| panic!("no step {step:?} in:\n{progress}"));
    let n = header.split_whitespace().next().unwrap();
    let cached = progress.lines().any(|l| l == format!("{n} CACHED"));
    let done = progress
        .lines()
        .any(|l| l.starts_with(&format!("{n} DONE")));
    assert!(
        cached != done,
        "step {step:?}: cached {cached}, done {done}:\n{progress}"
    );
    cached
}

/// `kiln run --rm t:1 cat FILE` on `root`.
fn cat(root: &Path, file: &str) -> String {
    ok(kiln(root, &["run", "--rm", "t:1", "cat", file]))
}

/// The cache config of a cache directory.
fn config(dir: &Path) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.kiln.cache.config.v1+json"
    );
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap()).unwrap()
}

fn records(dir: &Path) -> usize {
    config(dir)["records"].as_array().unwrap().len()
}

#[test]
fn max_export_answers_every_step_on_a_fresh_root() {
    let env = Env::new("cache-max", &two_stage());
    let cache = env.dir("cache");
    let spec = format!("type=local,dest={},mode=max", cache.display());
    let a = env.root("a");
    let (_, id_a) = built(env.build(&a, &["--cache-to", &spec]), &a);
    assert!(cache.join("oci-layout").is_file());
    // FROM, the gen RUN, COPY f, COPY --from, the final RUN.
    assert_eq!(records(&cache), 5);

    let b = env.root("b");
    let from = format!("type=local,src={}", cache.display());
    let (progress, id_b) = built(env.build(&b, &["--cache-from", &from]), &b);
    for step in [
        "FROM",
        "RUN head",
        "COPY f /f",
        "COPY --from=gen",
        "RUN cat",
    ] {
        assert!(cached(&progress, step), "{step} ran:\n{progress}");
    }
    assert!(progress.contains("done: 6 steps, 6 cached"), "{progress}");
    assert_eq!(id_a, id_b);
    let rand = cat(&a, "/rand");
    assert_eq!(rand.len(), 49, "{rand:?}");
    assert_eq!(cat(&b, "/rand"), rand);
    assert_eq!(cat(&b, "/both"), format!("{rand}data\n"));

    // The imported results went into root B's own cache: without
    // --cache-from, B still hits.
    let (progress, id_again) = built(env.build(&b, &[]), &b);
    assert!(progress.contains("done: 6 steps, 6 cached"), "{progress}");
    assert_eq!(id_again, id_a);
}

/// mode=min exports the target stage's chain only: the `gen` stage's RUN is
/// not in the directory. kiln's key of `COPY --from=gen` covers the copied
/// files' content, so on another root the `gen` stage is solved (its RUN
/// runs, writing other random bytes), the COPY --from key differs and
/// everything from it on runs; the steps below it (FROM, COPY f) hit.
/// (BuildKit, whose keys come from the op definitions first, would hit the
/// final steps without running `gen`; kiln never trusts a key it cannot
/// compute from content.)
#[test]
fn min_export_holds_only_the_target_chain() {
    let env = Env::new("cache-min", &two_stage());
    let cache = env.dir("cache");
    let a = env.root("a");
    let to = format!("type=local,dest={}", cache.display());
    built(env.build(&a, &["--cache-to", &to]), &a);
    // FROM, COPY f, COPY --from, the final RUN.
    assert_eq!(records(&cache), 4);

    let c = env.root("c");
    let from = format!("type=local,src={}", cache.display());
    let (progress, _) = built(env.build(&c, &["--cache-from", &from]), &c);
    assert!(cached(&progress, "FROM"));
    assert!(cached(&progress, "COPY f /f"));
    assert!(!cached(&progress, "RUN head"), "{progress}");
    assert!(!cached(&progress, "COPY --from=gen"), "{progress}");
    assert!(!cached(&progress, "RUN cat"), "{progress}");
    assert_ne!(cat(&c, "/rand"), cat(&a, "/rand"));

    // Exporting again into the same directory merges: mode=max adds the
    // gen RUN's record to the four already there.
    let max = format!("type=local,dest={},mode=max", cache.display());
    built(env.build(&a, &["--cache-to", &max]), &a);
    assert_eq!(records(&cache), 5);
}

#[test]
fn changed_context_file_misses_from_its_copy_on() {
    let dockerfile =
        format!("FROM busybox:local\nRUN {RANDOM} > /rand\nCOPY f /f\nRUN cat /f /rand > /both\n");
    let env = Env::new("cache-ctx", &dockerfile);
    let cache = env.dir("cache");
    let a = env.root("a");
    let to = format!("type=local,dest={},mode=max", cache.display());
    built(env.build(&a, &["--cache-to", &to]), &a);
    std::fs::write(env.ctx().join("f"), "changed\n").unwrap();

    let b = env.root("b");
    let from = format!("type=local,src={}", cache.display());
    let (progress, _) = built(env.build(&b, &["--cache-from", &from]), &b);
    assert!(cached(&progress, "FROM"));
    assert!(cached(&progress, "RUN head"), "{progress}");
    assert!(!cached(&progress, "COPY f /f"), "{progress}");
    assert!(!cached(&progress, "RUN cat"), "{progress}");
    let rand = cat(&a, "/rand");
    assert_eq!(cat(&b, "/rand"), rand);
    assert_eq!(cat(&b, "/both"), format!("changed\n{rand}"));
}

/// A truncated blob fails the content store's digest check on import: the
/// step is a miss and runs (with a warning naming it), never a wrong image.
#[test]
fn corrupt_blob_is_a_miss_and_the_step_runs() {
    let dockerfile = format!("FROM busybox:local\nCOPY f /f\nRUN {RANDOM} > /rand\n");
    let env = Env::new("cache-corrupt", &dockerfile);
    let cache = env.dir("cache");
    let a = env.root("a");
    let to = format!("type=local,dest={},mode=max", cache.display());
    built(env.build(&a, &["--cache-to", &to]), &a);
    // The RUN's own layer: the last layer of the record with the most.
    let config = config(&cache);
    let record = config["records"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|r| r["layers"].as_array().unwrap().len())
        .unwrap()
        .clone();
    let own = record["own"].as_u64().unwrap() as usize;
    let digest = record["layers"][own]["digest"].as_str().unwrap();
    let blob = cache.join("blobs/sha256").join(&digest[7..]);
    let len = std::fs::metadata(&blob).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
    file.set_len(len / 2).unwrap();

    let b = env.root("b");
    let from = format!("type=local,src={}", cache.display());
    let (progress, _) = built(env.build(&b, &["--cache-from", &from]), &b);
    assert!(cached(&progress, "FROM"));
    assert!(cached(&progress, "COPY f /f"));
    assert!(!cached(&progress, "RUN head"), "{progress}");
    let warning = progress
        .lines()
        .find(|l| l.starts_with("warning: cache from "))
        .unwrap_or_else(|| panic!("no warning:\n{progress}"));
    assert!(warning.contains("RUN head"), "{warning}");
    assert!(warning.contains(digest), "{warning}");
    // B's image has B's own random bytes, and its content store no bad blob.
    let rand_b = cat(&b, "/rand");
    assert_eq!(rand_b.len(), 49, "{rand_b:?}");
    assert_ne!(rand_b, cat(&a, "/rand"));
    let stored = b.join("content/blobs/sha256").join(&digest[7..]);
    assert!(!stored.exists(), "the truncated blob was stored");
}

#[test]
fn bad_cache_flags_are_one_line_errors() {
    let env = Env::new("cache-flags", "FROM busybox:local\n");
    let root = env.dir("root");
    let ctx = env.ctx();
    let ctx = ctx.to_str().unwrap();
    let not_cache = env.dir("empty");
    std::fs::create_dir_all(&not_cache).unwrap();
    let foreign = env.dir("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(
        foreign.join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--cache-to".into(), "type=registry,ref=r/x".into()],
            "--cache-to type=registry,ref=r/x: only type=local is supported",
        ),
        (
            vec!["--cache-from".into(), "type=gha".into()],
            "--cache-from type=gha: only type=local is supported",
        ),
        (
            vec!["--cache-from".into(), "r/x:cache".into()],
            "--cache-from r/x:cache: only type=local is supported",
        ),
        (
            vec!["--cache-to".into(), "type=local".into()],
            "--cache-to type=local: dest=DIR is required",
        ),
        (
            vec!["--cache-from".into(), "type=local".into()],
            "--cache-from type=local: src=DIR is required",
        ),
        (
            vec![
                "--cache-to".into(),
                "type=local,dest=/tmp/x,colour=red".into(),
            ],
            "unknown or empty key \"colour\"",
        ),
        (
            vec![
                "--cache-to".into(),
                "type=local,dest=/tmp/x,mode=all".into(),
            ],
            "mode must be min or max",
        ),
        (
            vec![
                "--cache-from".into(),
                format!("type=local,src={}", not_cache.display()),
            ],
            "not a kiln cache directory",
        ),
        (
            vec![
                "--cache-to".into(),
                format!("type=local,dest={}", foreign.display()),
            ],
            "refusing to overwrite",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["build", "-q"];
        args.extend(flags.iter().map(String::as_str));
        args.push(ctx);
        let stderr = one_line_error(kiln(&root, &args));
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
    // Nothing was written into the foreign layout.
    assert!(!foreign.join("blobs").exists());
}
