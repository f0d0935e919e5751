//! Nothing stays behind after containers, on the real kernel: no mounts, no
//! cgroup directories, no processes, no files under the `--root` (containers,
//! snapshots other than the image's, volumes), after
//!
//! - `run_rm_loops_leave_nothing`: 100 `kiln run --rm IMG true` on the embedded
//!   runtime, then 10 each with `--runtime crun` and `--runtime runc`;
//! - `detached_run_and_rm_f_leave_nothing`: 20 `run -d IMG sleep 600` + `rm -f`;
//! - `killed_monitor_then_killed_init`: SIGKILL of a detached container's monitor
//!   leaves the container running (its init is alive, `ps -a` says `Up`); SIGKILL
//!   of the init then makes `ps -a` say `Exited (255)` (nobody is left to reap
//!   it and learn the real status), and `rm` cleans everything;
//! - `killed_foreground_run`: the foreground `kiln run` is the container's
//!   monitor. SIGKILLed, its container is re-parented to PID 1 and keeps running
//!   unmonitored (`ps -a` says `Up`), no mount is left stuck; `rm -f` then kills
//!   and removes everything.
//!
//! Cgroup directories are shared by everything on the host that uses kiln, so
//! a leak is a `kiln/*` directory that appeared during the test and is either
//! empty or holds a process running from this test's `--root`.
//! The tests hold one mutex: they look at host-wide state.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod support;
use support::census::{assert_no_leftovers, census, root_with_image, IMAGE};
use support::{kiln, ok_as};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_rm_true(root: &Path, runtime: &str, n: usize) {
    for i in 0..n {
        let out = kiln(root, &["run", "--rm", "--runtime", runtime, IMAGE, "true"]);
        ok_as(out, &format!("run --rm --runtime {runtime} #{i}"));
    }
}

#[test]
fn run_rm_loops_leave_nothing() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("leaks-rm");
    // One run first, so that files kiln creates once (locks, indexes) exist.
    run_rm_true(&root, "kiln", 1);
    let before = census(&root);
    assert!(before.processes.is_empty(), "{:?}", before.processes);
    assert!(
        before.files.iter().any(|f| f.starts_with("snapshots/")),
        "the image's snapshot should be listed: {:?}",
        before.files
    );
    run_rm_true(&root, "kiln", 100);
    assert_no_leftovers(&root, &before, "100 run --rm (kiln)");
    run_rm_true(&root, "crun", 10);
    run_rm_true(&root, "runc", 10);
    assert_no_leftovers(&root, &before, "10 run --rm each on crun and runc");
}

#[test]
fn detached_run_and_rm_f_leave_nothing() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("leaks-detached");
    run_rm_true(&root, "kiln", 1);
    let before = census(&root);
    for i in 0..20 {
        let id = ok_as(kiln(&root, &["run", "-d", IMAGE, "sleep", "600"]), "run -d");
        let id = id.trim();
        assert_eq!(id.len(), 64, "run -d #{i} printed {id:?}");
        let ps = ok_as(kiln(&root, &["ps", "-q", "--no-trunc"]), "ps");
        assert_eq!(ps.trim(), id, "#{i}: ps -q shows the running container");
        ok_as(kiln(&root, &["rm", "-f", id]), "rm -f");
    }
    assert_no_leftovers(&root, &before, "20 run -d + rm -f");
}

/// `Pid` and `MonitorPid` from the container's state.json.
fn pids(root: &Path, id: &str) -> (i32, i32) {
    let path = root.join("containers").join(id).join("state.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let get = |k: &str| {
        state[k]
            .as_i64()
            .unwrap_or_else(|| panic!("{k} in {state}")) as i32
    };
    (get("Pid"), get("MonitorPid"))
}

fn status_of(state_json: &Path) -> String {
    let text = std::fs::read_to_string(state_json).unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    state["Status"].as_str().unwrap_or("").to_string()
}

fn sigkill(pid: i32) {
    // SAFETY: plain kill(2) on a PID this test started (directly or via kiln).
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

fn alive(pid: i32) -> bool {
    // A zombie still answers kill(0); only count processes that are not.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The STATUS column of `ps -a` for the only container.
fn ps_status(root: &Path) -> String {
    let out = ok_as(
        kiln(root, &["ps", "-a", "--format", "{{.Status}}"]),
        "ps -a",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "ps -a: {out}");
    lines[0].to_string()
}

#[test]
fn killed_monitor_then_killed_init() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("leaks-monitor");
    run_rm_true(&root, "kiln", 1);
    let before = census(&root);
    let id = ok_as(kiln(&root, &["run", "-d", IMAGE, "sleep", "600"]), "run -d");
    let id = id.trim();
    let (init, monitor) = pids(&root, id);
    assert!(init > 0 && monitor > 0 && init != monitor);

    sigkill(monitor);
    wait_until("monitor gone", || !alive(monitor));
    assert!(alive(init), "the init must survive its monitor");
    let status = ps_status(&root);
    assert!(
        status.starts_with("Up"),
        "init alive, ps -a says {status:?}"
    );

    sigkill(init);
    wait_until("init gone", || !alive(init));
    let status = ps_status(&root);
    assert!(status.starts_with("Exited (255)"), "ps -a says {status:?}");
    ok_as(kiln(&root, &["rm", id]), "rm");
    assert_no_leftovers(&root, &before, "kill -9 monitor, kill -9 init, rm");
}

#[test]
fn killed_foreground_run() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("leaks-foreground");
    run_rm_true(&root, "kiln", 1);
    let before = census(&root);
    let mut fg = support::kiln_cmd(&root)
        .args(["run", "--name", "fg", IMAGE, "sleep", "600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let containers = root.join("containers");
    let mut state_json = PathBuf::new();
    wait_until("state says running", || {
        let found = std::fs::read_dir(&containers)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("state.json"))
            .find(|p| status_of(p) == "running");
        found.map(|p| state_json = p).is_some()
    });
    let id = state_json.parent().unwrap().file_name().unwrap();
    let (init, monitor) = pids(&root, id.to_str().unwrap());
    assert_eq!(
        monitor as u32,
        fg.id(),
        "the foreground kiln is the monitor"
    );

    sigkill(fg.id() as i32);
    fg.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(init), "the container keeps running unmonitored");
    let status = ps_status(&root);
    assert!(status.starts_with("Up"), "ps -a says {status:?}");
    let stuck: Vec<_> = census(&root)
        .mounts
        .into_iter()
        .filter(|m| !before.mounts.contains(m))
        .collect();
    assert!(
        stuck.is_empty(),
        "mounts left by the killed run: {stuck:#?}"
    );

    ok_as(kiln(&root, &["rm", "-f", "fg"]), "rm -f");
    wait_until("init gone", || !alive(init));
    assert_no_leftovers(&root, &before, "kill -9 of a foreground run, rm -f");
}
