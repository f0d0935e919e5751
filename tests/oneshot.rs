//! `kiln oneshot-run JOB`: one process over a given root filesystem, the way
//! a build's RUN step runs (see `kiln_runtime::oneshot`), on every runtime.

mod support;

use std::path::Path;
use std::process::Command;

use support::Scratch;

/// Extracts the busybox test rootfs into `dir`.
fn busybox_rootfs(dir: &Path) {
    let tar = dir.with_extension("tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let made = Command::new("bash")
        .arg(&script)
        .arg(&tar)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::create_dir_all(dir).unwrap();
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(untar.success());
}

/// Writes a job and runs it; (exit code, stdout, stderr).
fn run_job(
    scratch: &Path,
    rootfs: &Path,
    runtime: &str,
    args: &[&str],
    network: &str,
) -> (i32, String, String) {
    let id = format!("oneshot-{}-{runtime}-{}", std::process::id(), args.len());
    let work = scratch.join(format!("work-{runtime}-{}", args.len()));
    let job = serde_json::json!({
        "id": id,
        "rootfs": [{"kind": "bind", "source": rootfs, "target": null, "options": ["rbind", "rw"]}],
        "spec": {
            "args": args, "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/", "user": "",
            "hostname": "buildkitsandbox", "tty": false, "privileged": false, "cap_add": [], "cap_drop": [],
            "no_new_privileges": false, "seccomp": "Default", "read_only": false, "memory": null,
            "cpus": null, "pids_limit": null, "mounts": [], "network": network, "cgroups_path": "",
            "rootfs": "/", "annotations": {}
        },
        "runtime": runtime,
        "work_dir": work,
    });
    let file = scratch.join(format!("job-{runtime}-{}.json", args.len()));
    std::fs::write(&file, serde_json::to_vec(&job).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("oneshot-run")
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runs_a_step_over_a_root_filesystem_on_every_runtime() {
    let scratch = Scratch::new("oneshot");
    let rootfs = scratch.0.join("rootfs");
    busybox_rootfs(&rootfs);
    for runtime in ["kiln", "crun", "runc"] {
        let (code, out, err) = run_job(
            &scratch.0,
            &rootfs,
            runtime,
            &["sh", "-c", &format!("echo built > /made-by-{runtime}; hostname; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up; echo oops >&2; exit 4")],
            "None",
        );
        assert_eq!(code, 4, "{runtime}: {err}");
        assert_eq!(out, "buildkitsandbox\nlo-up\n", "{runtime}");
        assert_eq!(err, "oops\n", "{runtime}");
        // The step's writes land in the root filesystem it was given.
        let made = std::fs::read_to_string(rootfs.join(format!("made-by-{runtime}"))).unwrap();
        assert_eq!(made, "built\n");
        // A program that is not there: 127 and one line.
        let (code, _, err) = run_job(&scratch.0, &rootfs, runtime, &["no-such-program"], "None");
        assert_eq!(code, 127, "{runtime}: {err}");
    }
    // Nothing stays mounted or in a cgroup.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(scratch.0.to_str().unwrap()),
        "a mount was left behind"
    );
    let leftovers = kiln_runtime::cgroups::leftover_dirs_under("kiln-build")
        .into_iter()
        .filter(|d| {
            d.to_string_lossy()
                .contains(&format!("oneshot-{}-", std::process::id()))
        })
        .collect::<Vec<_>>();
    assert!(leftovers.is_empty(), "cgroups left: {leftovers:?}");
}
