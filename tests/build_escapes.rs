//! The build escape suite: every attempt in `testdata/security/build-escapes/`
//! (format in its README) is built on each context kind (folder, tar on
//! stdin, git repository) and runtime (embedded, crun, runc) it names, against
//! a fresh host directory holding a secret. An attempt passes when the build
//! ends as its `expect` file says, its output never shows the secret, and the
//! host directory is byte-for-byte unchanged. `control` cases are legitimate
//! uses that must keep working, so a check that refuses everything cannot
//! pass. The test fails with the list of every attempt that went wrong.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;
use support::{kiln_cmd, load_busybox_local, tar_dir, Scratch};

const SECRET: &str = "HOSTSECRET-abc123";

/// One case folder, its `expect` file read.
struct Case {
    name: String,
    dir: PathBuf,
    contexts: Vec<String>,
    runtimes: Vec<String>,
    args: Vec<String>,
    /// What follows the git URL (`#REF:DIR`), for git contexts.
    git_fragment: String,
    /// The wanted exit status; `None` for `any`.
    build_ok: Option<bool>,
    has: Vec<String>,
    lacks: Vec<String>,
}

fn cases() -> Vec<Case> {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/security/build-escapes");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&top).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            found.push(read_case(&dir));
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        found.len() >= 20,
        "only {} cases in {}",
        found.len(),
        top.display()
    );
    found
}

fn read_case(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(dir.join("expect")).unwrap();
    let mut single = BTreeMap::new();
    let (mut has, mut lacks) = (Vec::new(), Vec::new());
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}/expect: bad line {line:?}"));
        let value = value.trim().to_string();
        match key {
            "has" => has.push(value),
            "lacks" => lacks.push(value),
            "kind" | "contexts" | "runtimes" | "args" | "build" | "git-fragment" => {
                single.insert(key.to_string(), value);
            }
            other => panic!("{name}/expect: unknown key {other:?}"),
        }
    }
    let words = |key: &str, default: &str| -> Vec<String> {
        let v = single.get(key).map(String::as_str).unwrap_or(default);
        v.split_whitespace().map(str::to_string).collect()
    };
    assert!(
        matches!(
            single.get("kind").map(String::as_str),
            Some("escape" | "control")
        ),
        "{name}/expect: kind must be escape or control"
    );
    let build_ok = match single.get("build").map(String::as_str) {
        Some("ok") => Some(true),
        Some("fail") => Some(false),
        Some("any") => None,
        other => panic!("{name}/expect: build must be ok or fail, not {other:?}"),
    };
    Case {
        contexts: words("contexts", "dir"),
        runtimes: words("runtimes", "kiln"),
        args: words("args", ""),
        git_fragment: single.get("git-fragment").cloned().unwrap_or_default(),
        build_ok,
        has,
        lacks,
        name,
        dir: dir.to_path_buf(),
    }
}

/// The host side of the suite: the secret directory and its expected state.
struct Host {
    scratch: PathBuf,
    hostdir: PathBuf,
}

impl Host {
    fn new(scratch: &Path) -> Host {
        let hostdir = scratch.join("host-victim");
        std::fs::create_dir_all(&hostdir).unwrap();
        std::fs::write(hostdir.join("secret"), SECRET).unwrap();
        std::fs::write(scratch.join("secretfile"), "secret-value").unwrap();
        Host {
            scratch: scratch.to_path_buf(),
            hostdir,
        }
    }

    /// Every name under the host directory with its content.
    fn state(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pending = vec![self.hostdir.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = path.symlink_metadata().unwrap();
                let content = if meta.is_file() {
                    std::fs::read(&path).unwrap()
                } else {
                    Vec::new()
                };
                if meta.is_dir() {
                    pending.push(path.clone());
                }
                out.push((path.display().to_string(), content));
            }
        }
        out.sort();
        out
    }

    fn fill(&self, text: &str) -> String {
        let hostdir = self.hostdir.display().to_string();
        text.replace("{hostdir_rel}", hostdir.trim_start_matches('/'))
            .replace("{hostdir}", &hostdir)
            .replace("{up}", &"../".repeat(30))
            .replace("{scratch}", &self.scratch.display().to_string())
    }
}

/// Makes the context of `case` in `at` for `kind`, returning the build's
/// context argument and its standard input (a tar for `tar`).
fn make_context(case: &Case, host: &Host, kind: &str, at: &Path) -> (String, Option<PathBuf>) {
    let ctx = at.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    if kind == "git" {
        sh(&ctx, "git init -q .", host);
    }
    let dockerfile = std::fs::read_to_string(case.dir.join("Dockerfile")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), host.fill(&dockerfile)).unwrap();
    let setup = case.dir.join("setup.sh");
    if setup.exists() {
        sh(&ctx, &format!("sh {}", setup.display()), host);
    }
    match kind {
        "dir" => (ctx.display().to_string(), None),
        "tar" => {
            let tar = at.join("ctx.tar");
            tar_dir(&ctx, &tar);
            ("-".to_string(), Some(tar))
        }
        "git" => {
            sh(
                &ctx,
                "git add -A && git -c user.email=t@t -c user.name=t commit -qm case",
                host,
            );
            (
                format!("file://{}{}", ctx.display(), case.git_fragment),
                None,
            )
        }
        other => panic!("{}: unknown context kind {other}", case.name),
    }
}

fn sh(dir: &Path, script: &str, host: &Host) {
    let hostdir = host.hostdir.display().to_string();
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("HOSTDIR", &hostdir)
        .env("HOSTDIR_REL", hostdir.trim_start_matches('/'))
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed in {}", dir.display());
}

/// Builds one case on one context kind and runtime; `Err` says what went wrong.
fn attempt(root: &Path, case: &Case, host: &Host, kind: &str, runtime: &str) -> Result<(), String> {
    let at = host.scratch.join(format!("{}-{kind}-{runtime}", case.name));
    let (context, stdin) = make_context(case, host, kind, &at);
    let before = host.state();
    let mut cmd = kiln_cmd(root);
    cmd.args([
        "build",
        "--no-cache",
        "--progress",
        "plain",
        "--runtime",
        runtime,
    ]);
    cmd.args(case.args.iter().map(|a| host.fill(a)));
    cmd.arg(&context);
    cmd.stdin(match &stdin {
        Some(tar) => Stdio::from(std::fs::File::open(tar).unwrap()),
        None => Stdio::null(),
    });
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&at);
    let mut wrong = Vec::new();
    if host.state() != before {
        wrong.push(format!("the host directory changed: {:?}", host.state()));
    }
    if text.to_lowercase().contains(&SECRET.to_lowercase()) {
        wrong.push("the output shows the host secret".to_string());
    }
    if case.build_ok.is_some_and(|ok| ok != out.status.success()) {
        wrong.push(format!("build exited {}", out.status));
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.lines().any(|l| l.starts_with("kiln: ")) {
            wrong.push("the failure prints no kiln: line".to_string());
        }
    }
    wrong.extend(
        case.has
            .iter()
            .map(|t| host.fill(t))
            .filter(|t| !text.contains(t.as_str()))
            .map(|t| format!("missing {t:?}")),
    );
    wrong.extend(
        case.lacks
            .iter()
            .map(|t| host.fill(t))
            .filter(|t| text.contains(t.as_str()))
            .map(|t| format!("shows {t:?}")),
    );
    if wrong.is_empty() {
        Ok(())
    } else {
        let tail: Vec<&str> = text.lines().rev().take(6).collect();
        Err(format!("{}; output ends: {:?}", wrong.join("; "), tail))
    }
}

#[test]
fn build_escape_suite() {
    let scratch = Scratch::new("build-escapes");
    let root = scratch.0.join("root");
    load_busybox_local(&root);
    let host = Host::new(&scratch.0);
    let mut failures = String::new();
    let mut ran = 0;
    for case in cases() {
        for kind in &case.contexts {
            for runtime in &case.runtimes {
                ran += 1;
                if let Err(why) = attempt(&root, &case, &host, kind, runtime) {
                    let _ = writeln!(failures, "{} [{kind}, {runtime}]: {why}", case.name);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{ran} attempts; these went wrong:\n{failures}"
    );
    assert!(ran >= 40, "only {ran} attempts ran");
}
