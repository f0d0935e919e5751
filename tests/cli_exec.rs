//! End-to-end tests of `kiln exec`, `top`, `stats` and `cp` against a temp
//! root with the busybox test image, on the real kernel (run as root).

#[allow(dead_code)]
#[path = "cli_containers/fixture.rs"]
mod fixture;
mod support;

use fixture::{Root, IMG};
use support::kiln_stdin;

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exec_runs_in_the_container_with_dockers_exit_codes() {
    let r = Root::new("exec-basics");
    let id = r.detach(&["--name", "web", "--hostname", "box1", IMG, "sleep", "4242"]);
    assert_eq!(r.ok(&["exec", "web", "echo", "hi"]), "hi\n");
    assert_eq!(
        code(&r.run(&["exec", "web", "sh", "-c", "exit 3"])),
        Some(3)
    );
    assert_eq!(code(&r.run(&["exec", "web", "no-such-program"])), Some(127));
    assert_eq!(
        r.ok(&["exec", "-u", "nobody", "web", "id", "-u"]).trim(),
        "65534"
    );
    assert_eq!(r.ok(&["exec", "-w", "/etc", "web", "pwd"]).trim(), "/etc");
    assert_eq!(
        r.ok(&[
            "exec",
            "-e",
            "GREETING=hello",
            "web",
            "sh",
            "-c",
            "echo $GREETING"
        ])
        .trim(),
        "hello"
    );
    let env_file = r.dir.join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n").unwrap();
    let out = r.ok(&[
        "exec",
        "--env-file",
        env_file.to_str().unwrap(),
        "web",
        "sh",
        "-c",
        "echo $FROM_FILE",
    ]);
    assert_eq!(out.trim(), "yes");
    // Same UTS and PID namespaces as the container's init.
    assert_eq!(r.ok(&["exec", "web", "hostname"]).trim(), "box1");
    // The exec'd process joins the container's cgroup (every hierarchy).
    let own = r.ok(&["exec", "web", "cat", "/proc/self/cgroup"]);
    let init = r.ok(&["exec", "web", "cat", "/proc/1/cgroup"]);
    assert_eq!(own, init);
    assert!(own.contains("/kiln/"), "{own}");
    let ps = r.ok(&["exec", "web", "ps"]);
    let first = ps.lines().nth(1).unwrap_or_default();
    assert!(
        first.split_whitespace().next() == Some("1") && first.ends_with("sleep 4242"),
        "{ps}"
    );
    // -i passes our stdin.
    let out = kiln_stdin(&r.root, &["exec", "-i", "web", "cat"], "piped in\n");
    assert_eq!(stdout(&out), "piped in\n");
    // -t gives the process a terminal (our stdin need not be one).
    let out = r.ok(&["exec", "-t", "web", "tty"]);
    assert!(out.starts_with("/dev/pts/"), "{out}");
    // -d returns at once; the process keeps running in the container.
    assert_eq!(r.ok(&["exec", "-d", "web", "sleep", "4343"]), "");
    let ps = r.ok(&["exec", "web", "ps"]);
    assert!(ps.contains("sleep 4343"), "{ps}");
    assert_eq!(r.inspect("{{.State.Status}}", &id), "running");
}

#[test]
fn exec_needs_a_running_container() {
    let r = Root::new("exec-stopped");
    r.ok(&["create", "--name", "idle", IMG, "true"]);
    let out = r.run(&["exec", "idle", "true"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(matches!(code(&out), Some(1) | Some(125)), "{out:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not running"), "{stderr}");
    let out = r.run(&["exec", "missing", "true"]);
    assert_eq!(code(&out), Some(1));
    r.detach(&["--name", "frozen", IMG, "sleep", "4242"]);
    r.ok(&["pause", "frozen"]);
    let out = r.run(&["exec", "frozen", "true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is paused, unpause the container before exec"),
        "{stderr}"
    );
    r.ok(&["unpause", "frozen"]);
}

#[test]
fn exec_with_crun_and_runc() {
    let r = Root::new("exec-runtimes");
    for runtime in ["crun", "runc"] {
        r.detach(&[
            "--name",
            runtime,
            "--runtime",
            runtime,
            IMG,
            "sleep",
            "4242",
        ]);
        assert_eq!(r.ok(&["exec", runtime, "echo", runtime]).trim(), runtime);
        assert_eq!(
            code(&r.run(&["exec", runtime, "sh", "-c", "exit 3"])),
            Some(3),
            "{runtime}"
        );
        assert_eq!(
            code(&r.run(&["exec", runtime, "no-such-program"])),
            Some(127),
            "{runtime}"
        );
        assert_eq!(
            r.ok(&["exec", "-u", "nobody", runtime, "id", "-u"]).trim(),
            "65534"
        );
        let ps = r.ok(&["exec", runtime, "ps"]);
        assert!(
            ps.lines()
                .nth(1)
                .unwrap_or_default()
                .ends_with("sleep 4242"),
            "{runtime}: {ps}"
        );
    }
}

#[test]
fn top_and_stats_show_the_containers_processes() {
    let r = Root::new("top-stats");
    let id = r.detach(&["--name", "web", IMG, "sleep", "4242"]);
    let top = r.ok(&["top", "web"]);
    let mut lines = top.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{top}");
    assert!(rows[0].ends_with("sleep 4242"), "{top}");
    let pid = r.inspect("{{.State.Pid}}", "web");
    assert_eq!(rows[0].split_whitespace().nth(1), Some(pid.as_str()));
    let top = r.ok(&["top", "web", "-o", "pid,comm"]);
    assert_eq!(
        top.lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [pid.as_str(), "sleep"]
    );

    let stats = r.ok(&["stats", "--no-stream"]);
    let mut lines = stats.lines();
    let header = lines.next().unwrap();
    for column in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(row.starts_with(&id[..12]) && row.contains("web"), "{stats}");
    assert_eq!(row.split_whitespace().last(), Some("1"), "{stats}");
    let custom = r.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "web",
    ]);
    assert_eq!(custom, "web 1\n");
}

#[test]
fn cp_both_ways_with_a_running_container() {
    let r = Root::new("cp-running");
    r.detach(&["--name", "web", IMG, "sleep", "4242"]);
    r.ok(&["exec", "web", "sh", "-c", "ln -s / /escape && ln -s ../../../../.. /up && mkdir -p /d/sub && echo deep > /d/sub/f && ln -s /etc/passwd /d/link"]);
    let host = r.dir.join("host");
    std::fs::create_dir(&host).unwrap();
    let h = |p: &str| host.join(p).to_str().unwrap().to_string();

    // Out: symlinks inside the container resolve inside its root.
    let inside = r.ok(&["exec", "web", "cat", "/etc/hostname"]);
    for src in ["web:/escape/etc/hostname", "web:/up/etc/hostname"] {
        r.ok(&["cp", "-q", src, &h("hostname")]);
        assert_eq!(
            std::fs::read_to_string(host.join("hostname")).unwrap(),
            inside,
            "{src}"
        );
    }
    assert_ne!(
        std::fs::read_to_string("/etc/hostname").unwrap_or_default(),
        inside
    );
    // A directory, its content with `/.`, a symlink as a symlink, -L.
    r.ok(&["cp", "-q", "web:/d", &h("")]);
    assert_eq!(
        std::fs::read_to_string(host.join("d/sub/f")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        std::fs::read_link(host.join("d/link")).unwrap().to_str(),
        Some("/etc/passwd")
    );
    r.ok(&["cp", "-q", "web:/d/.", &h("content")]);
    assert!(host.join("content/sub/f").is_file());
    r.ok(&["cp", "-q", "-L", "web:/d/link", &h("passwd")]);
    assert!(std::fs::read_to_string(host.join("passwd"))
        .unwrap()
        .starts_with("root:"));
    let out = r.run(&["cp", "web:/nope", &h("x")]);
    assert_eq!(code(&out), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Could not find the file /nope in container web"));

    // In: root-owned by default, -a keeps the owner; escapes stay inside.
    std::fs::write(host.join("in.txt"), "from host\n").unwrap();
    std::os::unix::fs::chown(host.join("in.txt"), Some(1234), Some(1234)).unwrap();
    r.ok(&["cp", "-q", &h("in.txt"), "web:/tmp/"]);
    assert_eq!(
        r.ok(&["exec", "web", "stat", "-c", "%u:%g %s", "/tmp/in.txt"])
            .trim(),
        "0:0 10"
    );
    r.ok(&["cp", "-q", "-a", &h("in.txt"), "web:/tmp/kept"]);
    assert_eq!(
        r.ok(&["exec", "web", "stat", "-c", "%u:%g", "/tmp/kept"])
            .trim(),
        "1234:1234"
    );
    let marker = format!("kiln-cp-escape-{}", std::process::id());
    r.ok(&[
        "cp",
        "-q",
        &h("in.txt"),
        &format!("web:/escape/tmp/{marker}"),
    ]);
    r.ok(&[
        "cp",
        "-q",
        &h("in.txt"),
        &format!("web:/up/tmp/{marker}-up"),
    ]);
    assert!(!std::path::Path::new(&format!("/tmp/{marker}")).exists());
    assert!(!std::path::Path::new(&format!("/tmp/{marker}-up")).exists());
    assert_eq!(
        r.ok(&["exec", "web", "cat", &format!("/tmp/{marker}")]),
        "from host\n"
    );
    r.ok(&["cp", "-q", &h("d"), "web:/newdir"]);
    assert_eq!(r.ok(&["exec", "web", "cat", "/newdir/sub/f"]), "deep\n");
    let out = r.run(&["cp", &h("d"), "web:/etc/passwd"]);
    assert_eq!(code(&out), Some(1));
}

#[test]
fn cp_with_a_stopped_container() {
    let r = Root::new("cp-stopped");
    r.ok(&[
        "run",
        "--name",
        "st",
        IMG,
        "sh",
        "-c",
        "ln -s / /escape && echo mine > /etc/marker",
    ]);
    assert_eq!(r.inspect("{{.State.Status}}", "st"), "exited");
    let host = r.dir.join("host");
    std::fs::create_dir(&host).unwrap();
    let out = host.join("marker");
    r.ok(&["cp", "-q", "st:/escape/etc/marker", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine\n");
    std::fs::write(host.join("new"), "added\n").unwrap();
    let marker = format!("kiln-cp-stopped-{}", std::process::id());
    r.ok(&[
        "cp",
        "-q",
        host.join("new").to_str().unwrap(),
        &format!("st:/escape/tmp/{marker}"),
    ]);
    assert!(!std::path::Path::new(&format!("/tmp/{marker}")).exists());
    // The file is in the container's own filesystem: a later run sees it.
    let back = host.join("back");
    r.ok(&[
        "cp",
        "-q",
        &format!("st:/tmp/{marker}"),
        back.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "added\n");
    r.ok(&[
        "create",
        "--name",
        "fresh",
        IMG,
        "cat",
        &format!("/tmp/{marker}"),
    ]);
    r.ok(&[
        "cp",
        "-q",
        host.join("new").to_str().unwrap(),
        &format!("fresh:/tmp/{marker}"),
    ]);
    r.ok(&["start", "fresh"]);
    r.wait_inspect(
        "{{.State.Status}}",
        "fresh",
        "exited",
        std::time::Duration::from_secs(10),
    );
    assert_eq!(r.ok(&["logs", "fresh"]), "added\n");
}

#[test]
fn exec_refuses_bad_env_and_files_without_an_executable_format() {
    let r = Root::new("exec-env-format");
    r.detach(&["--name", "box", IMG, "sleep", "4242"]);
    let out = r.run(&["exec", "-e", "=x", "box", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), Some(1), "{err}");
    assert!(
        err.contains("environment variable name can't be empty: \"=x\""),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    r.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "echo 'echo SHELL-RAN' > /app && chmod 755 /app",
    ]);
    let out = r.run(&["exec", "box", "/app"]);
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("SHELL-RAN"), "{all}");
    assert!(all.contains("exec format error"), "{all}");
    assert_ne!(code(&out), Some(0));
}
