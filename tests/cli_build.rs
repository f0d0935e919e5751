//! End-to-end tests of the `kiln build` command line: progress output with
//! step names (plain, rawjson, tty), `-f -`, `--iidfile`, `--metadata-file`,
//! `--output` (oci, docker, tar, local, compression), `--debug-cache`, tar
//! contexts on stdin, git contexts, `--logs` and `--ssh` with a key file
//! (the rest of `--ssh`: tests/cli_build_ssh.rs).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use support::{kiln_cmd, ok_as, one_line_error, Scratch};

const BASE: &str = "kiln-test/busybox";

/// A two-stage Dockerfile: a RUN in the base stage, a build arg and a RUN
/// in the final stage, and a COPY of `app` last.
const DOCKERFILE: &str = "FROM kiln-test/busybox AS base\n\
RUN echo hello-from-base\n\
FROM base\n\
ARG VERSION=1\n\
RUN echo version-$VERSION\n\
COPY app /app\n";

/// The busybox rootfs tar, made once per test binary.
fn rootfs_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = Scratch::new("cli-build-rootfs");
        let out = dir.0.join("bb.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
        let run = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap();
        ok_as(run, "make-rootfs.sh");
        std::fs::read(&out).unwrap()
    })
}

/// A temp root with the busybox image imported and a context folder `ctx`
/// holding [`DOCKERFILE`] and `app/main.go`.
struct Env {
    scratch: Scratch,
}

impl Env {
    fn new(name: &str) -> Env {
        let scratch = Scratch::new(&format!("cli-build-{name}"));
        let env = Env { scratch };
        let tar = env.path("bb.tar");
        std::fs::write(&tar, rootfs_tar()).unwrap();
        env.ok(&["import", tar.to_str().unwrap(), BASE]);
        std::fs::create_dir_all(env.ctx().join("app")).unwrap();
        std::fs::write(env.ctx().join("Dockerfile"), DOCKERFILE).unwrap();
        std::fs::write(env.ctx().join("app/main.go"), "package main // v1\n").unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.0.join(name)
    }

    fn ctx(&self) -> PathBuf {
        self.path("ctx")
    }

    fn ctx_str(&self) -> String {
        self.ctx().to_str().unwrap().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        kiln_cmd(&self.path("root")).args(args).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = kiln_cmd(&self.path("root"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Standard output of a run that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        ok_as(self.run(args), &format!("kiln {args:?}"))
    }

    /// Standard error of a run that must succeed.
    fn ok_err(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        ok_as(out, &format!("kiln {args:?}"));
        err
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.path("root"))
            .output();
    }
}

/// The `#N` of the line in `text` that starts a step named `name`.
fn step_number(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| {
            let (n, rest) = l.split_once(' ')?;
            (n.starts_with('#') && rest == name).then(|| n.to_string())
        })
        .unwrap_or_else(|| panic!("no step line {name:?} in:\n{text}"))
}

#[test]
fn plain_progress_names_steps_times_output_and_shows_cached() {
    let env = Env::new("plain");
    let first = env.ok_err(&["build", "--progress", "plain", &env.ctx_str()]);
    let run = step_number(&first, "[stage-1 3/4] RUN echo version-$VERSION");
    let output_line = first
        .lines()
        .find(|l| l.starts_with(&format!("{run} ")) && l.ends_with(" version-1"))
        .unwrap_or_else(|| panic!("no output line of {run}:\n{first}"));
    let time = output_line.split(' ').nth(1).unwrap();
    assert!(time.parse::<f64>().is_ok(), "{output_line}");
    assert!(
        first
            .lines()
            .any(|l| l.starts_with(&format!("{run} DONE ")) && l.ends_with('s')),
        "{first}"
    );
    let again = env.ok_err(&["build", "--progress", "plain", &env.ctx_str()]);
    let copy = step_number(&again, "[stage-1 4/4] COPY app /app");
    assert!(again.contains(&format!("{copy} CACHED\n")), "{again}");
    assert!(
        !again.contains(" DONE "),
        "nothing should run again:\n{again}"
    );
}

#[test]
fn rawjson_is_one_object_per_line_and_tty_draws_a_view() {
    let env = Env::new("rawjson");
    let err = env.ok_err(&["build", "--progress", "rawjson", &env.ctx_str()]);
    let objects: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let log = objects
        .iter()
        .find(|o| o["event"] == "log" && o["line"] == "hello-from-base")
        .unwrap_or_else(|| panic!("no log object: {err}"));
    assert_eq!(log["name"], "[base 2/2] RUN echo hello-from-base");
    assert!(objects
        .iter()
        .any(|o| o["event"] == "done" && o["seconds"].is_f64()));
    let tty = env.ok_err(&["build", "--progress", "tty", &env.ctx_str()]);
    assert!(tty.contains("[+] Building"), "{tty}");
    assert!(tty.contains("[stage-1 4/4] COPY app /app CACHED"), "{tty}");
    let bad = one_line_error(env.run(&["build", "--progress", "fancy", &env.ctx_str()]));
    assert!(bad.contains("--progress"), "{bad}");
}

#[test]
fn dockerfile_from_stdin_with_iidfile_and_metadata_file() {
    let env = Env::new("stdin-df");
    let (iid, meta) = (env.path("iid"), env.path("meta.json"));
    let out = env.run_stdin(
        &[
            "build",
            "-q",
            "-f",
            "-",
            "-t",
            "stdin-df:1",
            "--iidfile",
            iid.to_str().unwrap(),
            "--metadata-file",
            meta.to_str().unwrap(),
            &env.ctx_str(),
        ],
        b"FROM kiln-test/busybox\nLABEL from=stdin\n",
    );
    let id = ok_as(out, "build -f -").trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(meta["containerimage.config.digest"], id.as_str());
    assert_eq!(meta["image.name"], "stdin-df:1");
    let manifest = meta["containerimage.digest"].as_str().unwrap();
    assert!(manifest.starts_with("sha256:") && manifest != id, "{meta}");
    // The label came from the stdin Dockerfile, not the context's.
    let inspect = env.ok(&["image", "inspect", "stdin-df:1"]);
    assert!(inspect.contains("\"from\": \"stdin\""), "{inspect}");
}

#[test]
fn outputs_write_archives_root_filesystems_and_honour_compression() {
    let env = Env::new("outputs");
    let ctx = env.ctx_str();
    let tar = env.path("rootfs.tar");
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=tar,dest={}", tar.display()),
        &ctx,
    ]);
    let listing = Command::new("tar").arg("-tf").arg(&tar).output().unwrap();
    let listing = ok_as(listing, "tar -tf");
    assert!(
        listing
            .lines()
            .any(|l| l.trim_start_matches("./") == "app/main.go"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.trim_start_matches("./") == "bin/busybox"),
        "{listing}"
    );

    let local = env.path("local");
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=local,dest={}", local.display()),
        &ctx,
    ]);
    assert_eq!(
        std::fs::read_to_string(local.join("app/main.go")).unwrap(),
        "package main // v1\n"
    );

    let oci = env.path("image-oci.tar");
    let dest = format!("type=oci,dest={},compression=zstd", oci.display());
    env.ok(&[
        "build",
        "-q",
        "--no-cache",
        "-t",
        "out:oci",
        "-o",
        &dest,
        &ctx,
    ]);
    let unpacked = env.path("oci");
    std::fs::create_dir_all(&unpacked).unwrap();
    ok_as(
        Command::new("tar")
            .arg("-xf")
            .arg(&oci)
            .arg("-C")
            .arg(&unpacked)
            .output()
            .unwrap(),
        "tar -xf",
    );
    let blob = |digest: &str| -> serde_json::Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&std::fs::read(unpacked.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("index.json")).unwrap()).unwrap();
    let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
    let types: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap())
        .collect();
    // The base layer keeps its gzip; the layers built with --no-cache are zstd.
    assert!(types.last().unwrap().ends_with("+zstd"), "{types:?}");

    let docker = env.path("image-docker.tar");
    env.ok(&[
        "build",
        "-q",
        "-t",
        "out:docker",
        "-o",
        &format!("type=docker,dest={}", docker.display()),
        &ctx,
    ]);
    let manifest = Command::new("tar")
        .arg("-xOf")
        .arg(&docker)
        .arg("manifest.json")
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&ok_as(manifest, "tar -xOf")).unwrap();
    assert_eq!(manifest[0]["RepoTags"][0], "out:docker", "{manifest}");

    let bad = one_line_error(env.run(&["build", "-o", "type=tar", &ctx]));
    assert!(bad.contains("dest="), "{bad}");
}

#[test]
fn debug_cache_names_the_changed_file_and_build_arg() {
    let env = Env::new("debug-cache");
    let ctx = env.ctx_str();
    env.ok_err(&["build", "--progress", "plain", &ctx]);
    std::fs::write(env.ctx().join("app/main.go"), "package main // v2\n").unwrap();
    let err = env.ok_err(&["build", "--progress", "plain", "--debug-cache", &ctx]);
    let run = step_number(&err, "[stage-1 3/4] RUN echo version-$VERSION");
    let base = step_number(&err, "[base 2/2] RUN echo hello-from-base");
    let copy = step_number(&err, "[stage-1 4/4] COPY app /app");
    assert!(err.contains(&format!("{run} CACHED\n")), "{err}");
    assert!(err.contains(&format!("{base} CACHED\n")), "{err}");
    let misses: Vec<&str> = err.lines().filter(|l| l.contains("cache miss")).collect();
    assert_eq!(misses.len(), 1, "{err}");
    assert!(
        misses[0].starts_with(&format!(
            "{copy} cache miss: content of COPY app /app sources changed: app/main.go (0644 0:0 sha256:"
        )),
        "{err}"
    );
    let err = env.ok_err(&[
        "build",
        "--progress",
        "plain",
        "--debug-cache",
        "--build-arg",
        "VERSION=2",
        &ctx,
    ]);
    let run = step_number(&err, "[stage-1 3/4] RUN echo version-$VERSION");
    assert!(
        err.contains(&format!("{run} cache miss: env VERSION: \"1\" -> \"2\"\n")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{copy} cache miss: input 0 changed: [stage-1 3/4] RUN echo version-$VERSION\n"
        )),
        "{err}"
    );
}

#[test]
fn tar_context_from_stdin_is_unpacked_and_built() {
    let env = Env::new("tar-context");
    std::fs::write(env.ctx().join("app/main.go"), "from the tar\n").unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(env.ctx())
        .arg("-cf")
        .arg("-")
        .arg(".")
        .output()
        .unwrap();
    let tar = tar.stdout;
    let local = env.path("local");
    let out = env.run_stdin(
        &[
            "build",
            "-q",
            "-o",
            &format!("type=local,dest={}", local.display()),
            "-",
        ],
        &tar,
    );
    ok_as(out, "build -");
    assert_eq!(
        std::fs::read_to_string(local.join("app/main.go")).unwrap(),
        "from the tar\n"
    );
    let bad = one_line_error(env.run_stdin(&["build", "-f", "-", "-"], b""));
    assert!(bad.contains("stdin"), "{bad}");
}

#[test]
fn git_context_clones_ref_and_subdirectory() {
    let env = Env::new("git-context");
    let src = env.path("src");
    std::fs::create_dir_all(src.join("sub/app")).unwrap();
    std::fs::write(src.join("sub/Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(src.join("sub/app/main.go"), "from git v1\n").unwrap();
    let git = |args: &[&str], dir: &Path| {
        let out = Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        ok_as(out, &format!("git {args:?}"));
    };
    git(&["init", "-q", "-b", "main"], &src);
    git(&["add", "."], &src);
    git(&["commit", "-qm", "v1"], &src);
    git(&["tag", "v1"], &src);
    std::fs::write(src.join("sub/app/main.go"), "from git v2\n").unwrap();
    git(&["commit", "-qam", "v2"], &src);
    let bare = env.path("repo.git");
    git(
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        &env.scratch.0,
    );

    let local = env.path("local");
    let url = format!("file://{}#v1:sub", bare.display());
    env.ok(&[
        "build",
        "-q",
        "-o",
        &format!("type=local,dest={}", local.display()),
        &url,
    ]);
    assert_eq!(
        std::fs::read_to_string(local.join("app/main.go")).unwrap(),
        "from git v1\n"
    );
    let bad = one_line_error(env.run(&["build", &format!("file://{}#main:nope", bare.display())]));
    assert!(bad.contains("nope"), "{bad}");
}

#[test]
fn logs_print_every_step_of_the_last_build_unclipped() {
    let env = Env::new("logs");
    std::fs::write(
        env.ctx().join("Dockerfile"),
        "FROM kiln-test/busybox\nRUN seq 1 20000\nRUN echo second-step\n",
    )
    .unwrap();
    env.ok(&["build", "-q", &env.ctx_str()]);
    let logs = env.ok(&["build", "--logs"]);
    let lines: Vec<&str> = logs.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.ends_with(" 2/3] RUN seq 1 20000"))
        .unwrap_or_else(|| panic!("{logs:.2000}"));
    assert_eq!(lines[first + 1], "1");
    assert_eq!(lines[first + 20000], "20000");
    assert!(
        lines[first + 20001].ends_with(" 3/3] RUN echo second-step"),
        "{}",
        lines[first + 20001]
    );
    assert_eq!(lines[first + 20002], "second-step");
}

#[test]
fn ssh_with_a_key_file_is_a_one_line_error() {
    let env = Env::new("ssh");
    let key = env.ctx().join("Dockerfile");
    let spec = format!("default={}", key.display());
    let err = one_line_error(env.run(&["build", "--ssh", &spec, &env.ctx_str()]));
    assert!(
        err.contains(&spec) && err.contains("only SSH agent sockets are supported"),
        "{err}"
    );
}

#[test]
fn a_relative_root_builds_and_runs_steps() {
    let env = Env::new("relative-root");
    // The same root, named relative to the working directory.
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(&env.scratch.0)
        .args(["--root", "root", "build", "-q", "-t", "rel:1", "ctx"])
        .env_remove("KILN_ROOT")
        .output()
        .unwrap();
    let id = ok_as(out, "kiln --root root build ctx");
    assert!(id.trim().starts_with("sha256:"), "{id}");
}
