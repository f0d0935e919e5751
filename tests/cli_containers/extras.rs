//! `--init`, `-t` with a real pseudo-terminal, `logs --since`,
//! `--restart unless-stopped`, and containers under pure cgroup v1 and pure
//! cgroup v2 views of this (hybrid) host.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixture::{Root, IMG};

#[test]
fn init_is_pid_one_and_passes_signals_on() {
    let r = Root::new("init");
    let ps = r.ok(&["run", "--rm", "--init", IMG, "ps", "-o", "pid,args"]);
    let first = ps.lines().nth(1).unwrap_or_default();
    assert!(
        first.trim_start().starts_with("1 /sbin/docker-init -- ps"),
        "PID 1 must be the init: {ps}"
    );
    // Exit codes pass through the init.
    let out = r.run(&["run", "--rm", "--init", IMG, "sh", "-c", "exit 6"]);
    assert_eq!(out.status.code(), Some(6));
    // `sleep` as PID 1 would ignore SIGTERM; under the init it gets it.
    let id = r.detach(&["--init", IMG, "sleep", "300"]);
    let started = Instant::now();
    r.ok(&["stop", &id]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop waited for the timeout"
    );
    assert_eq!(r.inspect("{{.State.ExitCode}}", &id), "143");
}

#[test]
fn tty_gives_a_real_terminal() {
    let r = Root::new("tty");
    // `script` gives kiln a terminal of its own; the container gets a pty.
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let inner = format!(
        "{kiln} --root {} run --rm -t {IMG} sh -c 'tty; test -t 0 && echo stdin-is-tty'",
        r.root.display()
    );
    let out = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "script failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("/dev/pts/0"),
        "no pty in the container: {text:?}"
    );
    assert!(text.contains("stdin-is-tty"), "{text:?}");
    // Without -t there is no terminal.
    let plain = r.run(&["run", "--rm", IMG, "tty"]);
    assert_eq!(plain.status.code(), Some(1));
}

#[test]
fn logs_since_filters_by_time() {
    let r = Root::new("since");
    let id = r.detach(&[IMG, "sh", "-c", "echo early; sleep 2; echo late; sleep 300"]);
    r.wait_log(&id, "late", Duration::from_secs(10));
    assert_eq!(r.ok(&["logs", "--since", "10m", &id]), "early\nlate\n");
    assert_eq!(r.ok(&["logs", "--since", "1s", &id]), "late\n");
    assert_eq!(r.ok(&["logs", "--since", "2099-01-01T00:00:00Z", &id]), "");
    assert_eq!(r.ok(&["logs", "--until", "1s", &id]), "early\n");
    let bad = r.run(&["logs", "--since", "yesterday", &id]);
    assert_eq!(bad.status.code(), Some(1));
    r.ok(&["rm", "-f", &id]);
}

#[test]
fn unless_stopped_restarts_until_stopped() {
    let r = Root::new("unless");
    let id = r.detach(&[
        "--restart",
        "unless-stopped",
        IMG,
        "sh",
        "-c",
        "sleep 0.2; exit 0",
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.inspect("{{.RestartCount}}", &id) == "0" {
        assert!(Instant::now() < deadline, "never restarted");
        std::thread::sleep(Duration::from_millis(100));
    }
    r.ok(&["stop", "-t", "1", &id]);
    let count = r.inspect("{{.RestartCount}}", &id);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r.inspect("{{.State.Status}}", &id), "exited");
    assert_eq!(
        r.inspect("{{.RestartCount}}", &id),
        count,
        "restarted after stop"
    );
}

/// Runs `kiln ARGS` inside a private mount namespace prepared by `setup`
/// (shell commands), so the container sees another cgroup layout.
fn kiln_in_view(r: &Root, setup: &str, args: &str) -> std::process::Output {
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let script = format!("{setup} && exec {kiln} --root {} {args}", r.root.display());
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap()
}

#[test]
fn pure_cgroup_v1_and_v2_views() {
    let r = Root::new("cgroupviews");
    let hybrid = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" /sys/fs/cgroup/unified ");
    assert!(
        hybrid,
        "this test expects a cgroup-hybrid host, as this project's machines are"
    );
    for runtime in ["kiln", "crun", "runc"] {
        // Pure v1: the unified hierarchy unmounted. Limits still apply.
        let out = kiln_in_view(
            &r,
            "umount /sys/fs/cgroup/unified",
            &format!("run --rm --runtime {runtime} -m 64m --pids-limit 30 {IMG} cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes"),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "30\n67108864\n",
            "v1 view, {runtime}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Pure v2: a cgroup2 hierarchy mounted over /sys/fs/cgroup. On this host
    // the v1 hierarchies hold the memory/pids/cpu controllers, so no limits
    // can be asked for there; the container gets its own cgroup namespace.
    // (Debian's crun 1.8 fails in this view with "setrlimit (RLIM_MEMLOCK):
    // Operation not permitted", measured; it is not part of this check.)
    for runtime in ["kiln", "runc"] {
        let out = kiln_in_view(
            &r,
            "mount -t cgroup2 none /sys/fs/cgroup",
            &format!("run --rm --runtime {runtime} {IMG} sh -c 'cat /proc/self/cgroup; test -f /sys/fs/cgroup/cgroup.controllers && echo v2'"),
        );
        // /proc/self/cgroup still lists the kernel's v1 memberships; the
        // unified line shows the container's own cgroup namespace root.
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.ends_with("0::/\nv2\n"),
            "v2 view, {runtime}: {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn image_volumes_become_anonymous_volumes_filled_from_the_image() {
    let r = Root::new("anonvol");
    let ctx = r.dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {IMG}\nRUN mkdir /data && echo seeded > /data/seed\nVOLUME /data\n"),
    )
    .unwrap();
    r.ok(&[
        "build",
        "-q",
        "-t",
        "kiln-test/vol:1",
        ctx.to_str().unwrap(),
    ]);
    let id = r.detach(&[
        "kiln-test/vol:1",
        "sh",
        "-c",
        "cat /data/seed; echo more > /data/new; sleep 300",
    ]);
    r.wait_log(&id, "seeded", Duration::from_secs(10));
    let doc = r.inspect_json(&id);
    let mounts = doc["Mounts"].as_array().unwrap().clone();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["Type"], "volume");
    assert_eq!(mounts[0]["Destination"], "/data");
    let name = mounts[0]["Name"].as_str().unwrap().to_string();
    let source = std::path::PathBuf::from(mounts[0]["Source"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(source.join("seed")).unwrap(),
        "seeded\n"
    );
    let ls = r.ok(&["volume", "ls", "-q"]);
    assert!(ls.lines().any(|l| l == name), "{ls}");
    // rm -v removes the anonymous volume with its container.
    r.ok(&["rm", "-f", "-v", &id]);
    let ls = r.ok(&["volume", "ls", "-q"]);
    assert!(!ls.lines().any(|l| l == name), "{ls}");
}
