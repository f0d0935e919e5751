//! `kiln compose config` end to end: the global compose flags and
//! `COMPOSE_*` variables, discovery, the output modes, one-line errors with
//! exit 1, and `--resolve-image-digests` against a real image store.

mod support;

use serde_json::Value;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::{load_busybox_local, Scratch};

/// `kiln --root ROOT compose ARGS` in `cwd`, with only `env` set.
fn compose(root: &Path, cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    compose_stdin(root, cwd, env, args, "")
}

fn compose_stdin(
    root: &Path,
    cwd: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    input: &str,
) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(root)
        .arg("compose")
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: Output) -> String {
    assert!(
        out.status.success(),
        "kiln failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn one_line_error(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn json(out: Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap()
}

#[test]
fn discovery_from_a_subfolder_takes_the_override_and_names_the_project_after_the_folder() {
    let s = Scratch::new("compose-discovery");
    let proj = s.0.join("My_App");
    write(
        &proj,
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n",
    );
    write(
        &proj,
        "compose.override.yaml",
        "services:\n  web:\n    environment: [DEBUG=1]\n",
    );
    fs::create_dir_all(proj.join("src/deep")).unwrap();
    let model = json(compose(
        &s.0.join("root"),
        &proj.join("src/deep"),
        &[],
        &["config", "--format", "json"],
    ));
    assert_eq!(model["name"], "my_app");
    assert_eq!(model["services"]["web"]["environment"]["DEBUG"], "1");
    assert_eq!(model["services"]["web"]["ports"][0]["published"], "8080");
    assert_eq!(model["networks"]["default"]["name"], "my_app_default");
}

#[test]
fn files_from_stdin_flags_and_compose_file() {
    let s = Scratch::new("compose-files");
    let root = s.0.join("root");
    write(&s.0, "a.yml", "services:\n  a:\n    image: one\n");
    write(&s.0, "b.yml", "services:\n  b:\n    image: two\n");
    let services = |out: Output| stdout(out).lines().map(String::from).collect::<Vec<_>>();
    let via_flags = compose(
        &root,
        &s.0,
        &[],
        &["-f", "a.yml", "-f", "b.yml", "config", "--services"],
    );
    assert_eq!(services(via_flags), ["a", "b"]);
    let env = [
        ("COMPOSE_FILE", "a.yml,b.yml"),
        ("COMPOSE_PATH_SEPARATOR", ","),
    ];
    assert_eq!(
        services(compose(&root, &s.0, &env, &["config", "--services"])),
        ["a", "b"]
    );
    let piped = compose_stdin(
        &root,
        &s.0,
        &[],
        &["-f", "-", "-p", "piped", "config"],
        "services: {c: {image: three}}\n",
    );
    let text = stdout(piped);
    assert!(
        text.starts_with("name: piped\nservices:\n  c:\n    image: three\n"),
        "{text}"
    );
}

#[test]
fn project_name_flag_environment_and_refusal() {
    let s = Scratch::new("compose-name");
    let root = s.0.join("root");
    write(
        &s.0,
        "compose.yaml",
        "name: FromFile\nservices: {a: {image: x}}\n",
    );
    assert_eq!(
        json(compose(&root, &s.0, &[], &["config", "--format", "json"]))["name"],
        "fromfile"
    );
    let env = [("COMPOSE_PROJECT_NAME", "fromenv")];
    assert_eq!(
        json(compose(&root, &s.0, &env, &["config", "--format", "json"]))["name"],
        "fromenv"
    );
    let flag = compose(
        &root,
        &s.0,
        &env,
        &["-p", "flag", "config", "--format", "json"],
    );
    assert_eq!(json(flag)["name"], "flag");
    let err = one_line_error(compose(&root, &s.0, &[], &["-p", "Not Valid", "config"]));
    assert!(err.contains("invalid project name \"Not Valid\""), "{err}");
}

#[test]
fn env_files_profiles_and_the_environment_listing() {
    let s = Scratch::new("compose-env");
    let root = s.0.join("root");
    let text = "services:\n  a: {image: \"app:${TAG}\"}\n  dbg: {image: dbg, profiles: [debug]}\n  ops: {image: ops, profiles: [ops]}\n";
    write(&s.0, "compose.yaml", text);
    write(&s.0, ".env", "TAG=dot\nCOMPOSE_PROFILES=debug\n");
    write(&s.0, "one.env", "TAG=one\n");
    write(&s.0, "two.env", "TAG=two\n");
    let images = |out: Output| stdout(out).lines().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        images(compose(&root, &s.0, &[], &["config", "--images"])),
        ["app:dot", "dbg"]
    );
    let args = [
        "--env-file",
        "one.env",
        "--env-file",
        "two.env",
        "--profile",
        "ops",
        "config",
        "--images",
    ];
    assert_eq!(images(compose(&root, &s.0, &[], &args)), ["app:two", "ops"]);
    let env = [("COMPOSE_ENV_FILES", "two.env,one.env")];
    assert_eq!(
        images(compose(&root, &s.0, &env, &["config", "--images"])),
        ["app:one"]
    );
    let env = [("COMPOSE_ENV_FILES", "two.env,one.env"), ("TAG", "shell")];
    assert_eq!(
        images(compose(&root, &s.0, &env, &["config", "--images"])),
        ["app:shell"]
    );
    let listing = stdout(compose(
        &root,
        &s.0,
        &[("TAG", "shell")],
        &["config", "--environment"],
    ));
    assert!(listing.lines().any(|l| l == "TAG=shell"), "{listing}");
    assert!(
        listing.lines().any(|l| l == "COMPOSE_PROFILES=debug"),
        "{listing}"
    );
    assert_eq!(
        stdout(compose(&root, &s.0, &[], &["config", "--profiles"])),
        "debug\nops\n"
    );
}

#[test]
fn quiet_and_output_file() {
    let s = Scratch::new("compose-output");
    let root = s.0.join("root");
    write(&s.0, "compose.yaml", "services: {a: {image: x}}\n");
    assert_eq!(stdout(compose(&root, &s.0, &[], &["config", "-q"])), "");
    let target = s.0.join("out.yaml");
    assert_eq!(
        stdout(compose(
            &root,
            &s.0,
            &[],
            &["config", "-o", target.to_str().unwrap()]
        )),
        ""
    );
    let written = fs::read_to_string(&target).unwrap();
    assert!(
        written.contains("services:\n  a:\n    image: x\n"),
        "{written}"
    );
}

#[test]
fn refusals_are_one_line_with_file_line_column_and_key_path() {
    let s = Scratch::new("compose-errors");
    let root = s.0.join("root");
    let cases = [
        (
            "services:\n  web:\n    image: x\n    ports:\n      - \"80:abc\"\n",
            ":5:9: services.web.ports[0]: invalid port \"80:abc\"",
        ),
        (
            "services:\n  web:\n    image: ${NEED:?set NEED first}\n",
            ":3:12: services.web.image: required variable NEED is missing a value: set NEED first",
        ),
        (
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: y, depends_on: [a]}\n",
            "dependency cycle detected: a -> b -> a",
        ),
        (
            "services:\n  a: {image: x, depends_on: [nope]}\n",
            "service \"a\" depends on undefined service \"nope\"",
        ),
        (
            "services:\n  a:\n    image: x\n    imagee: y\n",
            ":4:5: services.a: additional properties 'imagee' not allowed",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let dir = s.0.join(format!("case{i}"));
        write(&dir, "compose.yaml", text);
        let err = one_line_error(compose(&root, &dir, &[], &["config"]));
        assert!(err.contains(want), "{text}: {err}");
    }
    let missing = one_line_error(compose(
        &root,
        &s.0,
        &[],
        &[
            "--env-file",
            "nope.env",
            "-f",
            "case0/compose.yaml",
            "config",
        ],
    ));
    assert!(
        missing.contains("nope.env: no such file or directory"),
        "{missing}"
    );
    let nothing = s.0.join("nothing");
    fs::create_dir_all(&nothing).unwrap();
    let err = one_line_error(compose(&root, &nothing, &[], &["config"]));
    assert!(
        err.contains("no configuration file provided: not found"),
        "{err}"
    );
}

#[test]
fn service_selection_keeps_dependencies_and_refuses_unknown_services() {
    let s = Scratch::new("compose-select");
    let root = s.0.join("root");
    write(
        &s.0,
        "compose.yaml",
        "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: y}\n  c: {image: z}\n",
    );
    assert_eq!(
        stdout(compose(&root, &s.0, &[], &["config", "--services", "a"])),
        "a\nb\n"
    );
    let err = one_line_error(compose(&root, &s.0, &[], &["config", "zzz"]));
    assert!(err.contains("no such service: zzz"), "{err}");
}

#[test]
fn resolve_image_digests_pins_images_from_the_store() {
    let s = Scratch::new("compose-digests");
    let root = s.0.join("root");
    load_busybox_local(&root);
    write(
        &s.0,
        "compose.yaml",
        "services:\n  a: {image: busybox:local}\n",
    );
    let model = json(compose(
        &root,
        &s.0,
        &[],
        &["config", "--resolve-image-digests", "--format", "json"],
    ));
    let image = model["services"]["a"]["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        image.starts_with("docker.io/library/busybox:local@sha256:"),
        "{image}"
    );
    write(&s.0, "compose.yaml", "services:\n  a: {image: absent:1}\n");
    let err = one_line_error(compose(
        &root,
        &s.0,
        &[],
        &["config", "--resolve-image-digests"],
    ));
    assert!(
        err.contains("image absent:1 is not in kiln's image store"),
        "{err}"
    );
}

#[test]
fn unset_variables_are_warned_about_on_stderr_and_default_to_blank() {
    let s = Scratch::new("compose-warnings");
    write(
        &s.0,
        "compose.yaml",
        "services:\n  web:\n    image: \"busybox${TAG}\"\n",
    );
    let out = compose(&s.0.join("root"), &s.0, &[], &["config", "--images"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stdout(out), "busybox\n");
    assert_eq!(
        err,
        "WARN[0000] The \"TAG\" variable is not set. Defaulting to a blank string.\n"
    );
}

#[test]
fn files_named_by_a_compose_file_must_be_regular_files() {
    let s = Scratch::new("compose-hostile-files");
    let fifo = s.0.join("fifo.env");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    write(
        &s.0,
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    env_file: fifo.env\n",
    );
    let err = one_line_error(compose(&s.0.join("root"), &s.0, &[], &["config"]));
    assert!(
        err.contains("fifo.env") && err.contains("not a regular file"),
        "{err}"
    );
    write(
        &s.0,
        "compose.yaml",
        "include:\n  - /dev/zero\nservices:\n  web:\n    image: busybox\n",
    );
    let err = one_line_error(compose(&s.0.join("root"), &s.0, &[], &["config"]));
    assert!(err.contains("/dev/zero") && err.contains("not a"), "{err}");
    let err = one_line_error(compose(
        &s.0.join("root"),
        &s.0,
        &[],
        &["-f", "/dev/zero", "config"],
    ));
    assert!(err.contains("not a regular file"), "{err}");
}
