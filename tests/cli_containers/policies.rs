//! Restart policies and healthchecks, run by the container's monitor.

use std::time::{Duration, Instant};

use crate::fixture::{in_parallel, Root, IMG};

#[test]
fn restart_policies() {
    let r = Root::new("restart");
    in_parallel(vec!["on-failure", "always", "no"], |policy| match policy {
        "on-failure" => {
            r.detach(&[
                "--name",
                "flaky",
                "--restart",
                "on-failure:2",
                IMG,
                "sh",
                "-c",
                "echo try; exit 1",
            ]);
            // Two restarts after the first run, then it stays Exited (1).
            r.wait_inspect(
                "{{.RestartCount}} {{.State.Status}}",
                "flaky",
                "2 exited",
                Duration::from_secs(20),
            );
            std::thread::sleep(Duration::from_millis(700));
            assert_eq!(
                r.inspect(
                    "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
                    "flaky"
                ),
                "2 exited 1"
            );
            assert_eq!(r.ok(&["logs", "flaky"]), "try\ntry\ntry\n");
            let ps = r.ok(&[
                "ps",
                "-a",
                "--filter",
                "name=flaky",
                "--format",
                "{{.Status}}",
            ]);
            assert!(ps.starts_with("Exited (1) "), "{ps}");
        }
        "always" => {
            r.detach(&[
                "--name",
                "loop",
                "--restart",
                "always",
                IMG,
                "sh",
                "-c",
                "echo go",
            ]);
            let end = Instant::now() + Duration::from_secs(20);
            loop {
                let count: u32 = r.inspect("{{.RestartCount}}", "loop").parse().unwrap();
                if count >= 2 {
                    break;
                }
                assert!(
                    Instant::now() < end,
                    "--restart always restarted {count} times"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            assert_eq!(r.ok(&["stop", "loop"]), "loop\n");
            let after_stop = r.inspect("{{.RestartCount}}", "loop");
            assert_eq!(r.inspect("{{.State.Status}}", "loop"), "exited");
            // Stopped for good: no more restarts.
            std::thread::sleep(Duration::from_millis(1500));
            assert_eq!(
                r.inspect("{{.State.Status}} {{.RestartCount}}", "loop"),
                format!("exited {after_stop}")
            );
            let runs = r.ok(&["logs", "loop"]).lines().count();
            std::thread::sleep(Duration::from_millis(500));
            assert_eq!(r.ok(&["logs", "loop"]).lines().count(), runs);
        }
        _ => {
            r.detach(&[
                "--name",
                "once",
                "--restart",
                "no",
                IMG,
                "sh",
                "-c",
                "echo go; exit 0",
            ]);
            r.ok(&["wait", "once"]);
            std::thread::sleep(Duration::from_millis(1500));
            assert_eq!(
                r.inspect(
                    "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
                    "once"
                ),
                "0 exited 0"
            );
            assert_eq!(r.ok(&["logs", "once"]), "go\n");
        }
    });
}

#[test]
fn healthchecks() {
    let r = Root::new("health");
    r.detach(&[
        "--name",
        "good",
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        IMG,
        "sleep",
        "60",
    ]);
    r.detach(&[
        "--name",
        "bad",
        "--health-cmd",
        "echo failing; false",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        IMG,
        "sleep",
        "60",
    ]);
    r.wait_inspect(
        "{{.State.Health.Status}}",
        "good",
        "healthy",
        Duration::from_secs(10),
    );
    r.wait_inspect(
        "{{.State.Health.Status}}",
        "bad",
        "unhealthy",
        Duration::from_secs(10),
    );

    let good = r.inspect_json("good");
    assert_eq!(good["State"]["Health"]["FailingStreak"], 0);
    let log = good["State"]["Health"]["Log"].as_array().unwrap();
    assert!(!log.is_empty() && log.len() <= 5, "{log:?}");
    assert!(log.iter().all(|e| e["ExitCode"] == 0), "{log:?}");
    assert_eq!(
        good["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );

    let bad = r.inspect_json("bad");
    let health = &bad["State"]["Health"];
    assert!(health["FailingStreak"].as_u64().unwrap() >= 2, "{health}");
    let log = health["Log"].as_array().unwrap();
    assert!(log.len() >= 2 && log.len() <= 5, "{log:?}");
    for entry in log {
        assert_eq!(entry["ExitCode"], 1, "{entry}");
        assert_eq!(entry["Output"], "failing\n", "{entry}");
        assert!(entry["End"].as_str().unwrap() >= entry["Start"].as_str().unwrap());
    }
    // Unhealthy does not stop the container.
    assert_eq!(bad["State"]["Status"], "running");

    let ps = r.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    let mut lines: Vec<&str> = ps.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{ps}");
    assert!(
        lines[0].starts_with("bad Up ") && lines[0].ends_with(" (unhealthy)"),
        "{ps}"
    );
    assert!(
        lines[1].starts_with("good Up ") && lines[1].ends_with(" (healthy)"),
        "{ps}"
    );
}
