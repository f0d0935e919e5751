//! End-to-end tests of the build engine (`kiln_builder::build::build`) on
//! the real kernel: RUN through `kiln oneshot-run`, overlay snapshots, gzip
//! layers, the persistent cache, then `kiln run` of the built image.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use kiln_builder::build::{build, BuildError, BuildRequest, Built};
use kiln_builder::solver::{Event, SolveError};
use kiln_image::ContentStore;
use support::{kiln, ok, Scratch};

const BASE: &str = "kiln-test/busybox";

/// A temp root with the busybox image imported, and a context folder.
struct Env {
    scratch: Scratch,
}

impl Env {
    fn new(name: &str) -> Env {
        let scratch = Scratch::new(&format!("build-engine-{name}"));
        let tar = scratch.0.join("bb.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
        let made = Command::new("bash")
            .arg(&script)
            .arg(&tar)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        std::fs::create_dir_all(scratch.0.join("ctx")).unwrap();
        let env = Env { scratch };
        ok(kiln(&env.root(), &["import", tar.to_str().unwrap(), BASE]));
        env
    }

    fn root(&self) -> PathBuf {
        self.scratch.0.join("root")
    }

    fn request(&self, dockerfile: &str) -> BuildRequest {
        let mut r = BuildRequest::new(
            dockerfile,
            &self.scratch.0.join("ctx"),
            Path::new(env!("CARGO_BIN_EXE_kiln")),
        );
        r.jobs = 2;
        r
    }

    /// Builds, collecting the log output of every step.
    fn build(&self, request: BuildRequest) -> (Result<Built, BuildError>, String) {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let mut request = request;
        request.events = Some(Arc::new(move |e| {
            if let Event::Log { bytes, .. } = e {
                sink.lock().unwrap().extend_from_slice(&bytes);
            }
        }));
        let result = build(&self.root(), request);
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        (result, text)
    }

    fn config(&self, built: &Built) -> serde_json::Value {
        let content = ContentStore::new(&self.root()).unwrap();
        serde_json::from_slice(&content.read_bytes(&built.config).unwrap()).unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Unmount anything the snapshotter may have left before the folder goes.
        let _ = Command::new("umount").arg("-R").arg(self.root()).output();
    }
}

#[test]
fn run_env_workdir_cmd_make_a_runnable_image() {
    let env = Env::new("basic");
    let df = "FROM kiln-test/busybox\nRUN echo hello > /greeting && echo step-out\nENV GREETING=hi\nWORKDIR /app\nCMD [\"cat\", \"/greeting\"]\n";
    let mut req = env.request(df);
    req.tags = vec!["built:1".into()];
    let (built, logs) = env.build(req);
    let built = built.unwrap_or_else(|e| panic!("build failed: {e}"));
    assert!(logs.contains("step-out"), "logs: {logs}");
    let doc = env.config(&built);
    let config = &doc["config"];
    assert!(
        config["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hi"),
        "{config}"
    );
    assert_eq!(config["WorkingDir"], "/app");
    assert_eq!(config["Cmd"], serde_json::json!(["cat", "/greeting"]));
    // busybox has one layer; RUN and WORKDIR add one each.
    let diff_ids = doc["rootfs"]["diff_ids"].as_array().unwrap();
    assert_eq!(diff_ids.len(), 3, "{doc}");
    let history = doc["history"].as_array().unwrap();
    let created_by: Vec<&str> = history
        .iter()
        .map(|h| h["created_by"].as_str().unwrap_or(""))
        .collect();
    assert!(
        created_by
            .iter()
            .any(|c| c.contains("RUN") && c.contains("echo hello")),
        "{created_by:?}"
    );
    let layers = history.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(
        layers,
        diff_ids.len(),
        "one non-empty history entry per layer: {doc}"
    );
    let entries = built_layer_entries(&env, &built, 1);
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e.trim_start_matches("./").trim_end_matches('/'))
        .collect();
    assert_eq!(
        names,
        ["greeting", "app"],
        "only what the steps made: {entries:?}"
    );
    // The step's full output is on disk too.
    let logged: String = std::fs::read_dir(&built.log_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(logged.contains("step-out"));
    // The image runs with kiln.
    let out = ok(kiln(&env.root(), &["run", "--rm", "built:1"]));
    assert_eq!(out, "hello\n");
    let out = ok(kiln(
        &env.root(),
        &["run", "--rm", "built:1", "sh", "-c", "pwd; echo $GREETING"],
    ));
    assert_eq!(out, "/app\nhi\n");
}

#[test]
fn a_failing_run_names_its_line_and_output() {
    let env = Env::new("fail");
    let df = "FROM kiln-test/busybox\nRUN echo fine\nRUN echo about-to-fail >&2 && exit 3\nRUN echo never\n";
    let (result, logs) = env.build(env.request(df));
    let err = result.expect_err("the build must fail");
    let BuildError::Solve(SolveError::Failed {
        span,
        error,
        output_tail,
        ..
    }) = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(span.unwrap().start.line, 3);
    assert!(error.to_string().contains("exit code: 3"), "{error}");
    assert!(output_tail.contains("about-to-fail"), "{output_tail}");
    let message = err.to_string();
    assert!(message.starts_with("Dockerfile:3:"), "{message}");
    assert!(message.contains("about-to-fail"), "{message}");
    assert!(!logs.contains("never"));
}

#[test]
fn a_second_build_is_fully_cached_and_identical() {
    let env = Env::new("cached");
    std::fs::write(env.scratch.0.join("ctx/ignored.txt"), "x").unwrap();
    let df =
        "FROM kiln-test/busybox\nRUN echo one > /one\nWORKDIR /w\nRUN echo two > two\nLABEL a=b\n";
    let mut req = env.request(df);
    req.source_date_epoch = Some(1_700_000_000);
    let (first, logs1) = env.build(req.clone());
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.cached, 0, "a fresh root has no cache");
    let (second, logs2) = env.build(req.clone());
    let second = second.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.cached, second.vertices, "every vertex cached");
    assert_eq!(second.config, first.config, "same image ID");
    assert_eq!(second.manifest, first.manifest);
    assert!(logs2.is_empty(), "nothing ran: {logs2} (first: {logs1})");
    // --no-cache runs everything again.
    req.options.no_cache = true;
    let (third, _) = env.build(req);
    assert_eq!(third.unwrap().cached, 0);
}

#[test]
fn cache_mounts_persist_and_stay_out_of_the_image() {
    let env = Env::new("cachemount");
    let df = "FROM kiln-test/busybox\nRUN --mount=type=cache,target=/var/cache/kt,sharing=locked echo x >> /var/cache/kt/count && echo count=$(wc -l < /var/cache/kt/count)\n";
    let mut req = env.request(df);
    req.tags = vec!["cm:1".into()];
    let (first, logs) = env.build(req.clone());
    first.unwrap_or_else(|e| panic!("{e}"));
    assert!(logs.contains("count=1"), "{logs}");
    req.options.no_cache = true;
    let (second, logs) = env.build(req);
    second.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        logs.contains("count=2"),
        "the cache mount kept its content: {logs}"
    );
    let out = ok(kiln(
        &env.root(),
        &[
            "run",
            "--rm",
            "cm:1",
            "sh",
            "-c",
            "test -z \"$(ls -A /var/cache/kt)\" && echo empty-mountpoint",
        ],
    ));
    // The cache's content never reaches the image; the mount point stays as
    // an empty directory, as BuildKit leaves it.
    assert!(out.contains("empty-mountpoint"), "{out}");
}

#[test]
fn secrets_are_readable_and_never_in_the_image() {
    let env = Env::new("secret");
    let df = "FROM kiln-test/busybox\nRUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = s3cret && echo secret-ok\nRUN test ! -e /run/secrets/tok && echo secret-gone\n";
    let mut req = env.request(df);
    req.tags = vec!["sec:1".into()];
    req.secrets.insert("tok".into(), b"s3cret".to_vec());
    let (built, logs) = env.build(req);
    let built = built.unwrap_or_else(|e| panic!("{e}"));
    assert!(logs.contains("secret-ok"), "{logs}");
    assert!(logs.contains("secret-gone"), "{logs}");
    // No layer holds the secret's bytes.
    let content = ContentStore::new(&env.root()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&content.read_bytes(&built.manifest).unwrap()).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        let digest: kiln_image::Digest = layer["digest"].as_str().unwrap().parse().unwrap();
        let mut bytes = Vec::new();
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(content.open(&digest).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"s3cret"),
            "a layer holds the secret"
        );
    }
}

#[test]
fn bind_and_tmpfs_mounts_work_and_leave_no_mount_points() {
    let env = Env::new("mounts");
    std::fs::write(env.scratch.0.join("ctx/data.txt"), "from-context\n").unwrap();
    let df = "\
FROM kiln-test/busybox AS tools
RUN echo from-stage > /tool.txt
FROM kiln-test/busybox
RUN --mount=type=bind,source=data.txt,target=/mnt/data cat /mnt/data
RUN test -e /etc/resolv.conf && echo resolv-ok
RUN --mount=type=bind,from=tools,source=/tool.txt,target=/opt/tool cat /opt/tool
RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/new.txt && cat /ctx/new.txt
RUN --mount=type=tmpfs,target=/scratchpad echo t > /scratchpad/f && grep -c ' /scratchpad tmpfs' /proc/mounts
RUN <<EOT
#!/bin/sh
echo inline-script-ran
EOT
USER nobody
WORKDIR /srv/owned
RUN echo owner=$(stat -c %u:%g /srv/owned) user=$(id -u) pwd=$(pwd)
USER root
RUN --network=none echo ifaces=$(ls /sys/class/net)
RUN for p in /mnt /opt /ctx /scratchpad; do ls -A $p 2>/dev/null | grep -q . && echo left-$p; done; echo checked
WORKDIR /tmp
";
    let (built, logs) = env.build(env.request(df));
    let built = built.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    assert!(
        logs.contains("nameserver") || logs.contains("resolv-ok"),
        "{logs}"
    );
    assert!(logs.contains("from-context"), "{logs}");
    assert!(logs.contains("from-stage"), "{logs}");
    assert!(logs.contains("scribble"), "{logs}");
    assert!(logs.contains("checked"), "{logs}");
    assert!(logs.contains("inline-script-ran"), "{logs}");
    assert!(
        logs.contains("owner=65534:65534 user=65534 pwd=/srv/owned"),
        "{logs}"
    );
    assert!(
        logs.contains("ifaces=lo\n"),
        "--network=none has only lo: {logs}"
    );
    assert!(
        !logs.contains("left-"),
        "mounted content stayed in a layer (the empty mount-point dirs stay, as in BuildKit): {logs}"
    );
    assert!(
        !env.scratch.0.join("ctx/new.txt").exists(),
        "a rw bind of the context must not write to it"
    );
    // What stays of the steps: the WORKDIR and the (empty) mount-point
    // directories BuildKit leaves; never mounted content, /etc files or the
    // tmpfs's files.
    let doc = env.config(&built);
    let mut entries = built_layer_entries(&env, &built, 1);
    entries.sort();
    entries.dedup();
    assert_eq!(
        entries,
        ["ctx/", "mnt/", "opt/", "scratchpad/", "srv/", "srv/owned/"],
        "{entries:?}"
    );
    // Every step makes a layer, even one that changed nothing (BuildKit).
    let history = doc["history"].as_array().unwrap();
    let layers = history.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(doc["rootfs"]["diff_ids"].as_array().unwrap().len(), layers);
    let last = history.last().unwrap().clone();
    assert_eq!(last["created_by"], "WORKDIR /tmp");
    assert_ne!(last["empty_layer"], true, "{doc}");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(env.scratch.0.to_str().unwrap()),
        "a mount was left behind"
    );
}

#[test]
fn a_failure_stops_running_steps_and_missing_bases_are_clear() {
    let env = Env::new("cancel");
    let df = "\
FROM kiln-test/busybox AS slow
RUN sleep 60
FROM kiln-test/busybox AS bad
RUN sleep 1; exit 5
FROM kiln-test/busybox
RUN --mount=type=bind,from=slow,target=/a --mount=type=bind,from=bad,target=/b true
";
    let started = std::time::Instant::now();
    let (result, _) = env.build(env.request(df));
    let err = result.expect_err("must fail");
    assert!(err.to_string().contains("exit code: 5"), "{err}");
    assert!(
        started.elapsed().as_secs() < 30,
        "the sleeping step was not stopped"
    );
    // The killed step's processes go within moments (the kernel reaps a
    // killed PID namespace asynchronously; a loaded machine takes longer).
    let sleeping = || {
        let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
        String::from_utf8_lossy(&ps.stdout)
            .lines()
            .any(|l| l == "sleep 60")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sleeping() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!sleeping(), "sleep 60 still runs");
    let cgroups = kiln_runtime::cgroups::leftover_dirs_under("kiln-build");
    let ours = format!("kiln_build_{}_", std::process::id());
    assert!(
        !cgroups.iter().any(|d| d.to_string_lossy().contains(&ours)),
        "cgroups left: {cgroups:?}"
    );
    assert_eq!(
        std::fs::read_dir(env.root().join("builder/run"))
            .unwrap()
            .count(),
        0,
        "step folders left"
    );

    let (result, _) = env.build(env.request("FROM nosuch/image:1\nRUN true\n"));
    let message = result.expect_err("must fail").to_string();
    assert!(
        message.contains("not found locally (kiln does not pull yet)"),
        "{message}"
    );
}

/// The entries of the layers `built` added on top of its first `base` ones.
fn built_layer_entries(env: &Env, built: &Built, base: usize) -> Vec<String> {
    let content = ContentStore::new(&env.root()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&content.read_bytes(&built.manifest).unwrap()).unwrap();
    let mut entries = Vec::new();
    for layer in &manifest["layers"].as_array().unwrap()[base..] {
        let digest: kiln_image::Digest = layer["digest"].as_str().unwrap().parse().unwrap();
        let out = Command::new("tar")
            .arg("-tzf")
            .arg(content.blob_path(&digest))
            .output()
            .unwrap();
        assert!(out.status.success());
        entries.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    entries
}

#[test]
fn multi_stage_copy_from_runs_and_caches_by_content() {
    let env = Env::new("multistage");
    std::fs::write(env.scratch.0.join("ctx/hello.txt"), "hi-ctx\n").unwrap();
    let df = |extra: &str| {
        format!(
            "\
FROM kiln-test/busybox AS build
RUN mkdir -p /out && echo compiled > /out/app && echo {extra} > /out/other
FROM kiln-test/busybox
COPY hello.txt /srv/
COPY --from=build /out/app /usr/local/bin/app
CMD [\"cat\", \"/usr/local/bin/app\", \"/srv/hello.txt\"]
"
        )
    };
    let mut req = env.request(&df("one"));
    req.tags = vec!["ms:1".into()];
    let (built, logs) = env.build(req.clone());
    let built = built.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    assert_eq!(
        ok(kiln(&env.root(), &["run", "--rm", "ms:1"])),
        "compiled\nhi-ctx\n"
    );
    let entries = built_layer_entries(&env, &built, 1);
    assert!(!entries.iter().any(|e| e.contains("other")), "{entries:?}");

    // Changing the build stage re-runs its RUN only: the COPY --from is
    // keyed by the content it copies, which is the same (BuildKit's
    // content-based checksums); the COPY from the context, whose file was
    // rewritten with the same bytes, stays cached too.
    let hello = env.scratch.0.join("ctx/hello.txt");
    std::fs::write(&hello, "hi-ctx\n").unwrap();
    req.dockerfile = df("two");
    let (again, logs) = env.build(req);
    let again = again.unwrap_or_else(|e| panic!("{e}\n{logs}"));
    assert_eq!(again.vertices - again.cached, 1, "only the changed RUN ran");
    let (old, new) = (env.config(&built), env.config(&again));
    assert_eq!(
        old["rootfs"]["diff_ids"][1], new["rootfs"]["diff_ids"][1],
        "COPY hello.txt cached"
    );
    assert_eq!(
        ok(kiln(&env.root(), &["run", "--rm", "ms:1"])),
        "compiled\nhi-ctx\n"
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(env.scratch.0.to_str().unwrap()),
        "a mount was left behind"
    );
}
