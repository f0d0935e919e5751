//! `kill -9` at any point of a build or of a first `run` (which unpacks the
//! image) leaves nothing mounted on the host: every kiln command works in a
//! private mount namespace of its own (see `cli::private_mounts`), so its
//! mounts vanish with it. After each kill the host's mount table must hold
//! nothing under the root or kiln's temp folders, a later build must work,
//! and the root must be removable. A RUN step whose build is killed is killed
//! too (its `kiln oneshot-run` watches a lifeline pipe from the build).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

mod support;
use support::{kiln, kiln_cmd, load_busybox_local, ok_as, Scratch};

/// Mount points in the host's (this test's) mount table under `root` or
/// named like kiln's temp folders.
fn kiln_mounts(root: &Path) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = root.display().to_string();
    table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&root) || m.contains("kiln-extract"))
        .map(str::to_string)
        .collect()
}

/// Starts `kiln ARGS`, kills it with SIGKILL after `delay`, waits for it.
fn kill_after(root: &Path, args: &[&str], delay: Duration) {
    let mut child = kiln_cmd(root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

fn big_file(path: &Path, mib: usize) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut bytes = vec![0u8; mib << 20];
    for chunk in bytes.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(path, bytes).unwrap();
}

/// A root with `busybox:local` and a context holding a 64 MiB file and
/// `dockerfile`: `(root, context)`.
fn root_and_context(scratch: &Scratch, dockerfile: &str) -> (PathBuf, PathBuf) {
    let root = scratch.0.join("root");
    load_busybox_local(&root);
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    big_file(&ctx.join("big.bin"), 64);
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    (root, ctx)
}

#[test]
fn killed_builds_leave_no_mount() {
    let scratch = Scratch::new("crash-build");
    let (root, ctx) = root_and_context(
        &scratch,
        "FROM busybox:local\nCOPY big.bin /big.bin\nRUN --mount=type=bind,target=/ctx sleep 0.3\nRUN sleep 0.3\n",
    );
    let ctx_arg = ctx.to_str().unwrap();
    for ms in [200u64, 600, 1200] {
        kill_after(
            &root,
            &["build", "--no-cache", "-q", ctx_arg],
            Duration::from_millis(ms),
        );
        let left = kiln_mounts(&root);
        assert!(
            left.is_empty(),
            "kill -9 after {ms} ms left mounts: {left:#?}"
        );
    }
    ok_as(
        kiln(&root, &["build", "-q", "-t", "after:1", ctx_arg]),
        "build after the kills",
    );
    assert!(kiln_mounts(&root).is_empty());
}

#[test]
fn killed_first_runs_leave_no_mount() {
    let scratch = Scratch::new("crash-run");
    let (root, ctx) = root_and_context(&scratch, "FROM busybox:local\nCOPY big.bin /big.bin\n");
    ok_as(
        kiln(
            &root,
            &["build", "-q", "-t", "big:1", ctx.to_str().unwrap()],
        ),
        "build big:1",
    );
    let archive = scratch.0.join("big.tar");
    ok_as(
        kiln(&root, &["save", "-o", archive.to_str().unwrap(), "big:1"]),
        "save big:1",
    );
    for ms in [150u64, 500] {
        // A fresh root each time, so the run has to unpack the image first.
        let fresh = scratch.0.join(format!("root-{ms}"));
        ok_as(
            kiln(&fresh, &["load", "-i", archive.to_str().unwrap()]),
            "load",
        );
        kill_after(
            &fresh,
            &["run", "--rm", "big:1", "true"],
            Duration::from_millis(ms),
        );
        let left = kiln_mounts(&fresh);
        assert!(
            left.is_empty(),
            "kill -9 after {ms} ms left mounts: {left:#?}"
        );
        ok_as(
            kiln(&fresh, &["run", "--rm", "big:1", "true"]),
            "run after the kill",
        );
        // The root goes before the scratch folder does: its networking
        // state (the default bridge the runs made) goes first.
        kiln_runtime::network::manage::reset(&fresh).expect("reset the root's networks");
        std::fs::remove_dir_all(&fresh).expect("the root is removable");
    }
}

/// Processes whose command line is exactly `words`.
fn processes_running(words: &[&str]) -> Vec<i32> {
    let want = words.join("\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).trim_end_matches('\0') == want {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_killed_build_leaves_no_run_step_running() {
    let scratch = Scratch::new("crash-step");
    let root = scratch.0.join("root");
    load_busybox_local(&root);
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    // A sleep nobody else on the machine runs, so it can be found by its
    // command line.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:local\nRUN sleep 4711\n",
    )
    .unwrap();
    let mut child = kiln_cmd(&root)
        .args(["build", "--no-cache", "-q", ctx.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while processes_running(&["sleep", "4711"]).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while !processes_running(&["sleep", "4711"]).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the RUN step outlived its build by 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let wait = Duration::from_secs(10);
    let gone = std::time::Instant::now();
    while !kiln_mounts(&root).is_empty() {
        assert!(
            gone.elapsed() < wait,
            "mounts left: {:?}",
            kiln_mounts(&root)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
