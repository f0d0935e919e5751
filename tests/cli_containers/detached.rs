//! `run -d`, `ps` (filters, format), `logs` and `inspect`.

use std::time::{Duration, Instant};

use crate::fixture::{is_full_id, parts, Root, IMG};

fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn ps_lists_filters_and_formats() {
    let r = Root::new("ps");
    let web = r.detach(&[
        "--name",
        "web",
        "-l",
        "app=web",
        "-l",
        "tier=front",
        IMG,
        "sleep",
        "60",
    ]);
    let done = r.detach(&[
        "--name",
        "done",
        "-l",
        "app=batch",
        IMG,
        "sh",
        "-c",
        "exit 2",
    ]);
    r.ok(&["wait", "done"]);
    r.ok(&["create", "--name", "fresh", IMG, "true"]);
    let fresh = r.inspect("{{.Id}}", "fresh");
    assert!(is_full_id(&fresh), "{fresh}");
    let short = |id: &str| id[..12].to_string();

    // Default: running only, Docker's columns, Up status.
    let table = r.ok(&["ps"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].starts_with(&short(&web)), "{table}");
    assert!(lines[1].contains(" Up "), "{table}");
    assert!(lines[1].ends_with("web"), "{table}");
    assert!(lines[1].contains(IMG), "{table}");

    // -a -q: every id, short, newest first.
    assert_eq!(
        r.ok(&["ps", "-a", "-q"]),
        format!("{}\n{}\n{}\n", short(&fresh), short(&done), short(&web))
    );
    assert_eq!(
        r.ok(&["ps", "-a", "-q", "--no-trunc"]),
        format!("{fresh}\n{done}\n{web}\n")
    );
    let names = |args: &[&str]| {
        let mut all = vec!["ps", "-a", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        sorted_lines(&r.ok(&all))
    };
    assert_eq!(names(&["--filter", "status=exited"]), ["done"]);
    assert_eq!(names(&["--filter", "status=created"]), ["fresh"]);
    assert_eq!(names(&["--filter", "status=running"]), ["web"]);
    assert_eq!(names(&["--filter", "name=web"]), ["web"]);
    assert_eq!(names(&["--filter", "label=app"]), ["done", "web"]);
    assert_eq!(names(&["--filter", "label=app=web"]), ["web"]);
    assert_eq!(
        names(&["--filter", "label=tier=front", "--filter", "label=app=web"]),
        ["web"]
    );
    assert_eq!(
        names(&["--filter", &format!("ancestor={IMG}")]),
        ["done", "fresh", "web"]
    );
    assert_eq!(
        names(&["--filter", "ancestor=other/image"]),
        Vec::<String>::new()
    );
    // Filters on different keys AND together; same key ORs.
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "status=running"]),
        ["done", "web"]
    );
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "name=web"]),
        Vec::<String>::new()
    );

    let formatted = sorted_lines(&r.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]));
    assert_eq!(formatted.len(), 3, "{formatted:?}");
    assert!(
        formatted[0].starts_with("done Exited (2) "),
        "{formatted:?}"
    );
    assert_eq!(formatted[1], "fresh Created");
    assert!(formatted[2].starts_with("web Up "), "{formatted:?}");
    assert_eq!(
        r.ok(&[
            "ps",
            "--format",
            "{{.ID}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.State}}"
        ]),
        format!(
            "{}|{IMG}|\"sleep 60\"|app=web,tier=front|running\n",
            short(&web)
        )
    );
}

#[test]
fn logs_split_tail_timestamps_and_follow() {
    let r = Root::new("logs");
    let id = r.detach(&[
        "--name",
        "talker",
        IMG,
        "sh",
        "-c",
        "echo out1; echo err1 >&2; echo out2; sleep 1; echo out3",
    ]);
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    let logs = r.run(&["logs", "talker"]);
    assert_eq!(
        parts(&logs),
        ("out1\nout2\nout3\n".into(), "err1\n".into(), Some(0))
    );
    // --tail counts lines of both streams together, in order.
    let tail = r.run(&["logs", "--tail", "1", "talker"]);
    assert_eq!(parts(&tail), ("out3\n".into(), String::new(), Some(0)));
    let tail = r.run(&["logs", "-n", "3", "talker"]);
    assert_eq!(
        parts(&tail),
        ("out2\nout3\n".into(), "err1\n".into(), Some(0))
    );
    // -t: an RFC 3339 nanosecond timestamp, a space, the line.
    let stamped = r.ok(&["logs", "-t", "talker"]);
    let lines: Vec<&str> = stamped.lines().collect();
    assert_eq!(lines.len(), 3, "{stamped}");
    for (line, want) in lines.iter().zip(["out1", "out2", "out3"]) {
        let (stamp, text) = line.split_once(' ').unwrap();
        assert_eq!(text, want);
        assert!(
            stamp.len() > 20
                && stamp.starts_with("20")
                && stamp.ends_with('Z')
                && stamp.contains('T'),
            "{stamp}"
        );
    }
    // The log file itself is Docker's json-file format.
    let path = r.inspect("{{.LogPath}}", "talker");
    assert!(path.ends_with(&format!("{id}/{id}-json.log")), "{path}");
    let file = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(file.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "out1\n");
    assert_eq!(first["stream"], "stdout");

    // -f prints what comes and returns when the container exits.
    let id = r.detach(&[IMG, "sh", "-c", "echo a; sleep 1.5; echo b; exit 5"]);
    let started = Instant::now();
    let follow = r.run(&["logs", "-f", &id]);
    let took = started.elapsed();
    assert_eq!(parts(&follow), ("a\nb\n".into(), String::new(), Some(0)));
    assert!(
        took >= Duration::from_millis(900),
        "-f returned early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "-f hung: {took:?}");
    assert_eq!(r.inspect("{{.State.ExitCode}}", &id), "5");
}

#[test]
fn inspect_shows_docker_fields() {
    let r = Root::new("inspect");
    let host = r.dir.join("bind");
    std::fs::create_dir(&host).unwrap();
    let bind = format!("{}:/b", host.display());
    let id = r.detach(&[
        "--name",
        "insp",
        "-e",
        "K=V",
        "--restart",
        "on-failure:3",
        "-v",
        &bind,
        "-l",
        "x=y",
        IMG,
        "sleep",
        "60",
    ]);
    let c = r.inspect_json("insp");
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/insp");
    assert_eq!(c["State"]["Status"], "running");
    assert_eq!(c["State"]["Running"], true);
    assert_eq!(c["State"]["ExitCode"], 0);
    let pid = c["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 1, "{pid}");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep", "State.Pid is the container's init");
    assert!(c["State"]["StartedAt"].as_str().unwrap().starts_with("20"));
    assert_eq!(c["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    let env: Vec<&str> = c["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env.contains(&"K=V"), "{env:?}");
    assert!(env.iter().any(|e| e.starts_with("PATH=")), "{env:?}");
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["sleep", "60"]));
    assert_eq!(c["Config"]["Image"], IMG);
    assert_eq!(c["Config"]["Labels"]["x"], "y");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
    assert_eq!(c["Mounts"][0]["Source"], host.to_str().unwrap());
    assert_eq!(c["Mounts"][0]["Destination"], "/b");
    assert_eq!(c["Mounts"][0]["RW"], true);
    assert_eq!(r.inspect("{{.State.Status}}", "insp"), "running");
    assert_eq!(
        r.inspect("{{.Name}} {{.State.Running}}", &id[..12]),
        "/insp true"
    );

    r.ok(&["kill", "insp"]);
    assert_eq!(r.ok(&["wait", "insp"]).trim(), "137");
    let c = r.inspect_json("insp");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["Running"], false);
    assert_eq!(c["State"]["ExitCode"], 137);
    assert_eq!(c["State"]["Pid"], 0);
    let (started, finished) = (
        c["State"]["StartedAt"].as_str().unwrap(),
        c["State"]["FinishedAt"].as_str().unwrap(),
    );
    assert!(
        finished.starts_with("20") && finished > started,
        "{started} {finished}"
    );
    // A killed container does not restart under on-failure (Docker: the
    // user stopped it).
    assert_eq!(c["RestartCount"], 0);

    let missing = r.run(&["inspect", "nosuchcontainer"]);
    let (stdout, stderr, code) = parts(&missing);
    assert_eq!(code, Some(1));
    assert_eq!(stdout.trim(), "[]");
    assert!(stderr.contains("No such"), "{stderr}");
}
