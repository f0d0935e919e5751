//! stop / kill / wait / start / restart / pause / rm / prune / names.

use std::time::{Duration, Instant};

use crate::fixture::{in_parallel, parts, Root, IMG};

/// A shell loop that stays responsive to signals (sh runs traps between
/// commands, so each sleep is short).
const LOOP: &str = "while true; do sleep 0.1; done";

#[test]
fn stop_and_kill_deliver_the_right_signals() {
    let r = Root::new("stop");
    let trap_term = format!("trap 'echo got TERM; exit 7' TERM; echo ready; {LOOP}");
    let ignore_term = format!("trap '' TERM; echo ready; {LOOP}");
    let trap_usr1 = format!("trap 'echo got USR1; exit 0' USR1; echo ready; {LOOP}");
    let trap_hup = format!("trap 'echo got HUP' HUP; echo ready; {LOOP}");
    r.detach(&["--name", "term", IMG, "sh", "-c", &trap_term]);
    r.detach(&["--name", "stubborn", IMG, "sh", "-c", &ignore_term]);
    r.detach(&[
        "--name",
        "usr1",
        "--stop-signal",
        "USR1",
        IMG,
        "sh",
        "-c",
        &trap_usr1,
    ]);
    r.detach(&["--name", "hup", IMG, "sh", "-c", &trap_hup]);
    for name in ["term", "stubborn", "usr1", "hup"] {
        r.wait_log(name, "ready", Duration::from_secs(5));
    }
    in_parallel(vec!["term", "stubborn", "usr1", "hup"], |name| match name {
        "term" => {
            let t = Instant::now();
            assert_eq!(r.ok(&["stop", "term"]), "term\n");
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
            assert_eq!(
                r.inspect("{{.State.Status}} {{.State.ExitCode}}", "term"),
                "exited 7"
            );
            assert_eq!(r.ok(&["logs", "term"]), "ready\ngot TERM\n");
        }
        "stubborn" => {
            let t = Instant::now();
            assert_eq!(r.ok(&["stop", "-t", "1", "stubborn"]), "stubborn\n");
            let took = t.elapsed();
            assert!(
                took >= Duration::from_millis(900) && took < Duration::from_secs(4),
                "stop -t 1 took {took:?}"
            );
            assert_eq!(
                r.inspect("{{.State.Status}} {{.State.ExitCode}}", "stubborn"),
                "exited 137"
            );
        }
        "usr1" => {
            assert_eq!(r.inspect("{{.Config.StopSignal}}", "usr1"), "USR1");
            r.ok(&["stop", "usr1"]);
            assert_eq!(r.ok(&["logs", "usr1"]), "ready\ngot USR1\n");
            assert_eq!(r.inspect("{{.State.ExitCode}}", "usr1"), "0");
        }
        _ => {
            assert_eq!(r.ok(&["kill", "-s", "HUP", "hup"]), "hup\n");
            r.wait_log("hup", "got HUP", Duration::from_secs(5));
            // HUP is trapped: the container keeps running.
            assert_eq!(r.inspect("{{.State.Status}}", "hup"), "running");
            assert_eq!(r.ok(&["kill", "hup"]), "hup\n");
            assert_eq!(r.ok(&["wait", "hup"]), "137\n");
        }
    });
}

#[test]
fn wait_start_again_and_restart() {
    let r = Root::new("start");
    let out = r.run(&[
        "run",
        "--name",
        "twice",
        IMG,
        "sh",
        "-c",
        "echo run; exit 4",
    ]);
    assert_eq!(parts(&out), ("run\n".into(), String::new(), Some(4)));
    assert_eq!(r.ok(&["wait", "twice"]), "4\n");
    let first_start = r.inspect("{{.State.StartedAt}}", "twice");
    // start runs the same container (same id, same writable layer) again.
    assert_eq!(r.ok(&["start", "twice"]), "twice\n");
    assert_eq!(r.ok(&["wait", "twice"]), "4\n");
    assert_eq!(r.ok(&["logs", "twice"]), "run\nrun\n");
    assert_ne!(r.inspect("{{.State.StartedAt}}", "twice"), first_start);
    // `docker start` does not count as a restart.
    assert_eq!(r.inspect("{{.RestartCount}}", "twice"), "0");

    // The writable layer survives: a second run sees the first run's file.
    r.ok(&[
        "create",
        "--name",
        "layer",
        IMG,
        "sh",
        "-c",
        "cat /mark 2>/dev/null; echo x >> /mark",
    ]);
    assert_eq!(r.inspect("{{.State.Status}}", "layer"), "created");
    r.ok(&["start", "layer"]);
    r.ok(&["wait", "layer"]);
    r.ok(&["start", "layer"]);
    r.ok(&["wait", "layer"]);
    assert_eq!(r.ok(&["logs", "layer"]), "x\n");

    let script = format!("echo start; trap 'exit 0' TERM; {LOOP}");
    r.detach(&["--name", "again", IMG, "sh", "-c", &script]);
    r.wait_log("again", "start", Duration::from_secs(5));
    let pid1 = r.inspect("{{.State.Pid}}", "again");
    assert_eq!(r.ok(&["restart", "-t", "2", "again"]), "again\n");
    r.wait_inspect(
        "{{.State.Status}}",
        "again",
        "running",
        Duration::from_secs(5),
    );
    let pid2 = r.inspect("{{.State.Pid}}", "again");
    assert_ne!(pid1, pid2);
    let logs = r.wait_log("again", "start\nstart\n", Duration::from_secs(5));
    assert_eq!(logs, "start\nstart\n");
    // wait on several containers prints one code per line, in order.
    r.ok(&["kill", "again"]);
    assert_eq!(r.ok(&["wait", "again", "twice"]), "137\n4\n");
}

#[test]
fn pause_and_unpause() {
    let r = Root::new("pause");
    let script = format!(
        "i=0; {}",
        "while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done"
    );
    r.detach(&["--name", "pz", IMG, "sh", "-c", &script]);
    assert_eq!(r.ok(&["pause", "pz"]), "pz\n");
    assert_eq!(
        r.inspect(
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}",
            "pz"
        ),
        "paused true true"
    );
    let status = r.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(
        status.starts_with("Up ") && status.trim_end().ends_with("(Paused)"),
        "{status}"
    );
    // The container's cgroup really is frozen.
    let pid = r.inspect("{{.State.Pid}}", "pz");
    assert_eq!(frozen(&pid), Some(true));
    // A paused container cannot be paused again, nor stopped by `rm`.
    assert_eq!(r.run(&["pause", "pz"]).status.code(), Some(1));
    assert_eq!(r.ok(&["unpause", "pz"]), "pz\n");
    assert_eq!(
        r.inspect("{{.State.Status}} {{.State.Paused}}", "pz"),
        "running false"
    );
    assert_eq!(frozen(&pid), Some(false));
    assert!(!r.ok(&["ps", "--format", "{{.Status}}"]).contains("Paused"));
    // rm -f of a paused container works (Docker unpauses then kills).
    r.ok(&["pause", "pz"]);
    r.ok(&["rm", "-f", "pz"]);
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn rm_needs_force_for_running_containers() {
    let r = Root::new("rm");
    r.detach(&["--name", "busy", IMG, "sh", "-c", LOOP]);
    let out = r.run(&["rm", "busy"]);
    let (_, stderr, code) = parts(&out);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("force"), "{stderr}");
    assert_eq!(r.inspect("{{.State.Status}}", "busy"), "running");
    // rm -f kills and removes. Several at once, a few rounds: a shell loop
    // with short-lived children makes the kill race with exiting processes.
    for round in 0..3 {
        let names: Vec<String> = (0..6).map(|i| format!("busy{round}-{i}")).collect();
        for name in &names {
            r.detach(&["--name", name, IMG, "sh", "-c", LOOP]);
        }
        std::thread::sleep(Duration::from_millis(200));
        in_parallel(names, |name| {
            let (stdout, stderr, code) = parts(&r.run(&["rm", "-f", &name]));
            assert_eq!(
                (stdout.as_str(), code),
                (format!("{name}\n").as_str(), Some(0)),
                "rm -f {name}: {stderr}"
            );
        });
    }
    assert_eq!(r.ok(&["rm", "-f", "busy"]), "busy\n");
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
    let (_, stderr, code) = parts(&r.run(&["rm", "busy"]));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("No such container: busy"), "{stderr}");
}

#[test]
fn prune_names_and_auto_remove() {
    let r = Root::new("prune");
    let up = r.detach(&["--name", "web", IMG, "sleep", "60"]);
    // A second container cannot take the name.
    let out = r.run(&["run", "-d", "--name", "web", IMG, "true"]);
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(125));
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("The container name \"/web\" is already in use") && stderr.contains(&up),
        "{stderr}"
    );
    let (_, stderr, code) = parts(&r.run(&["create", "--name", "web", IMG, "true"]));
    assert_eq!(code, Some(125));
    assert!(stderr.contains("already in use"), "{stderr}");

    let exited = r.detach(&["--name", "gone", IMG, "true"]);
    r.ok(&["wait", "gone"]);
    r.ok(&["create", "--name", "made", IMG, "true"]);
    let made = r.inspect("{{.Id}}", "made");
    let out = r.ok(&["container", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert!(out.contains(&exited), "{out}");
    assert!(!out.contains(&up), "{out}");
    // Docker's prune removes every container that is not running: the
    // exited one and the created one.
    assert!(out.contains(&made), "{out}");
    assert_eq!(r.ok(&["ps", "-a", "-q", "--no-trunc"]), format!("{up}\n"));

    // --rm -d: gone on its own once it exits, name free again.
    let id = r.detach(&["--rm", "--name", "brief", IMG, "sh", "-c", "sleep 0.3"]);
    let end = Instant::now() + Duration::from_secs(10);
    while r.ok(&["ps", "-a", "-q", "--no-trunc"]).contains(&id) {
        assert!(Instant::now() < end, "--rm container {id} still listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!r.root.join("containers").join(&id).exists());
    r.ok(&["run", "--rm", "--name", "brief", IMG, "true"]);
}

/// Whether the freezer of `pid`'s cgroup has it frozen (cgroup v1 freezer
/// or v2 `cgroup.events`); None when neither can be read.
fn frozen(pid: &str) -> Option<bool> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "freezer") {
            let state =
                std::fs::read_to_string(format!("/sys/fs/cgroup/freezer{path}/freezer.state"))
                    .ok()?;
            return Some(state.trim() == "FROZEN");
        }
    }
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if let Ok(events) = std::fs::read_to_string(format!("{base}{path}/cgroup.events")) {
            return Some(events.lines().any(|l| l == "frozen 1"));
        }
    }
    None
}

#[test]
fn verbs_on_the_wrong_state() {
    let r = Root::new("states");
    r.detach(&["--name", "ex", IMG, "true"]);
    r.ok(&["wait", "ex"]);
    r.detach(&["--name", "up", IMG, "sleep", "60"]);
    let fails = |args: &[&str], needle: &str| {
        let (stdout, stderr, code) = parts(&r.run(args));
        assert_eq!(code, Some(1), "{args:?}: {stdout} {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        stdout
    };
    fails(&["kill", "ex"], "is not running");
    fails(&["unpause", "up"], "is not paused");
    fails(&["wait", "nosuch"], "No such container: nosuch");
    // Docker: stopping a stopped container and starting a running one are
    // no-ops that succeed.
    assert_eq!(r.ok(&["stop", "ex"]), "ex\n");
    assert_eq!(r.ok(&["start", "up"]), "up\n");
    // Several names: the good ones are acted on, the bad one fails the run.
    assert_eq!(
        fails(
            &["stop", "-t", "0", "nosuch", "up"],
            "No such container: nosuch"
        ),
        "up\n"
    );
    assert_eq!(r.inspect("{{.State.Status}}", "up"), "exited");
}
