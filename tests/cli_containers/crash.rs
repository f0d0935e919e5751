//! kiln's own processes die: the container is then recorded as Exited (255)
//! and can be removed, with no mount left behind.

use std::time::{Duration, Instant};

use crate::fixture::{Root, IMG};

fn alive(pid: i32) -> bool {
    // A zombie has no mounts or cgroup left to worry about: count it dead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn kill9(pid: i32) {
    // SAFETY: kill(2) of a process this test started through kiln.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

#[test]
fn killed_monitor_and_init_leave_an_exited_container() {
    let r = Root::new("crash");
    let id = r.detach(&[
        "--name", "victim", "-v", "vol:/v", "--tmpfs", "/t", IMG, "sleep", "300",
    ]);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(r.root.join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let monitor = state["MonitorPid"].as_i64().unwrap() as i32;
    let cmdline = std::fs::read_to_string(format!("/proc/{monitor}/cmdline")).unwrap();
    assert!(
        cmdline
            .replace('\0', " ")
            .contains(&format!("container-monitor {id}")),
        "MonitorPid {monitor} is {cmdline:?}"
    );
    let init: i32 = r.inspect("{{.State.Pid}}", "victim").parse().unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{init}/comm"))
            .unwrap()
            .trim(),
        "sleep"
    );

    kill9(monitor);
    kill9(init);
    let end = Instant::now() + Duration::from_secs(5);
    while alive(init) || alive(monitor) {
        assert!(Instant::now() < end, "processes survived kill -9");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = r.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(status.starts_with("victim Exited (255) "), "{status}");
    assert_eq!(
        r.inspect(
            "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}",
            "victim"
        ),
        "exited false 255"
    );
    assert_eq!(r.ok(&["ps", "-q"]), "", "nothing is running");
    let root = r.root.to_str().unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let stuck: Vec<&str> = mounts.lines().filter(|l| l.contains(root)).collect();
    assert!(stuck.is_empty(), "mounts left under the root: {stuck:#?}");
    assert_eq!(r.ok(&["rm", "victim"]), "victim\n");
    assert!(!r.root.join("containers").join(&id).exists());
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
    // The name is free again and the image still runs.
    assert_eq!(
        r.ok(&["run", "--rm", "--name", "victim", IMG, "echo", "ok"]),
        "ok\n"
    );
}
