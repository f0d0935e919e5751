//! Escape attempts from a default container, on every runtime (embedded
//! `kiln`, `crun`, `runc`), driving the real `kiln` binary.
//!
//! The attempts live in `testdata/security/escapes.tsv` (format in its header):
//! each runs as `kiln run --rm --runtime R [ARGS] kiln-test/busybox sh -c CMD`
//! and its output is checked against the expectation. `escape` rows must be
//! refused; `control` rows must succeed, so that a check that can never see a
//! success does not pass by accident. A test fails with the full list of the
//! attempts that escaped (and controls that failed), not just the first.
//!
//! Around all attempts the host's hostname, `kernel.core_pattern` and
//! `/sys/kernel/rcu_expedited` must be unchanged.

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;
use support::{kiln, ok_as, Scratch};

const IMAGE: &str = "kiln-test/busybox";

/// One line of `escapes.tsv`.
struct Attempt {
    name: String,
    control: bool,
    args: Vec<String>,
    command: String,
    expect: String,
}

fn attempts() -> Vec<Attempt> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/security/escapes.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            cols.len(),
            5,
            "{}:{}: want 5 columns",
            path.display(),
            n + 1
        );
        assert!(matches!(cols[1], "escape" | "control"), "line {}", n + 1);
        found.push(Attempt {
            name: cols[0].to_string(),
            control: cols[1] == "control",
            args: match cols[2] {
                "-" => Vec::new(),
                a => a.split(' ').map(str::to_string).collect(),
            },
            command: cols[3].to_string(),
            expect: cols[4].to_string(),
        });
    }
    assert!(found.len() >= 20, "only {} attempts", found.len());
    found
}

/// One `--root` with the busybox image, a host marker file; removed on drop.
struct Fixture {
    _scratch: Scratch,
    root: PathBuf,
    marker: PathBuf,
}

fn fixture(runtime: &str) -> Fixture {
    let scratch = Scratch::new(&format!("security-{runtime}"));
    let root = scratch.0.join("root");
    let tar = scratch.0.join("busybox.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&tar)
        .output()
        .unwrap();
    ok_as(out, "make-rootfs.sh");
    ok_as(
        kiln(&root, &["import", tar.to_str().unwrap(), IMAGE]),
        "kiln import",
    );
    let marker = scratch.0.join("host-marker");
    std::fs::write(&marker, "host\n").unwrap();
    Fixture {
        _scratch: scratch,
        root,
        marker,
    }
}

/// "MAJOR MINOR" of the block device holding the host's `/`.
fn host_disk() -> String {
    let dev = std::fs::metadata("/").unwrap().dev();
    format!("{} {}", libc::major(dev), libc::minor(dev))
}

/// Host facts an escape could change.
fn host_state() -> Vec<(String, String)> {
    let hostname = std::process::Command::new("hostname").output().unwrap();
    let mut state = vec![(
        "hostname".to_string(),
        String::from_utf8_lossy(&hostname.stdout).trim().to_string(),
    )];
    for file in ["/proc/sys/kernel/core_pattern", "/sys/kernel/rcu_expedited"] {
        let value = std::fs::read_to_string(file).unwrap_or_else(|e| format!("<{e}>"));
        state.push((file.to_string(), value.trim().to_string()));
    }
    state
}

/// Why the output does not meet `expect`, or `None` when it does.
fn unmet(expect: &str, out: &Output) -> Option<String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let code = out.status.code();
    let mut why = Vec::new();
    for pred in expect.split(';') {
        let met = if let Some(n) = pred.strip_prefix("exit=") {
            code == Some(n.parse().unwrap())
        } else if pred == "exit!=0" {
            code != Some(0)
        } else if let Some(t) = pred.strip_prefix("out=") {
            stdout.trim() == t
        } else if let Some(n) = pred.strip_prefix("le=") {
            stdout
                .trim()
                .parse::<u64>()
                .is_ok_and(|v| v <= n.parse().unwrap())
        } else if let Some(t) = pred.strip_prefix("has=") {
            all.contains(t)
        } else if let Some(t) = pred.strip_prefix("lacks=") {
            !all.contains(t)
        } else {
            panic!("unknown predicate {pred:?}")
        };
        if !met {
            why.push(pred);
        }
    }
    (!why.is_empty()).then(|| {
        format!(
            "unmet [{}]; exit {code:?}; output {:?}",
            why.join("; "),
            all.trim()
        )
    })
}

/// Runs every attempt on `runtime`; panics listing escapes and failed controls.
fn run_attempts(runtime: &str) {
    let fx = fixture(runtime);
    let before = host_state();
    let disk = host_disk();
    let marker = fx.marker.to_str().unwrap();
    let list = attempts();
    let mut report = String::new();
    for a in &list {
        let cmd = a
            .command
            .replace("{disk}", &disk)
            .replace("{marker}", marker);
        let mut args = vec!["run", "--rm", "--runtime", runtime];
        args.extend(a.args.iter().map(String::as_str));
        args.extend([IMAGE, "sh", "-c", &cmd]);
        let out = kiln(&fx.root, &args);
        if let Some(why) = unmet(&a.expect, &out) {
            let what = if a.control {
                "CONTROL FAILED"
            } else {
                "ESCAPED"
            };
            let extra = a.args.join(" ");
            writeln!(report, "  {what} {} ({extra}) `{cmd}`: {why}", a.name).unwrap();
        }
    }
    let after = host_state();
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        if b != a {
            writeln!(report, "  HOST CHANGED {name}: {b:?} -> {a:?}").unwrap();
        }
    }
    assert!(
        report.is_empty(),
        "runtime {runtime}: of {} attempts:\n{report}",
        list.len()
    );
}

#[test]
fn escapes_fail_on_embedded_runtime() {
    run_attempts("kiln");
}

#[test]
fn escapes_fail_on_crun() {
    run_attempts("crun");
}

#[test]
fn escapes_fail_on_runc() {
    run_attempts("runc");
}
