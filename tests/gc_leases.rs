//! Leases and snapshot garbage collection, end to end on the real kernel
//! (redteam C5 and H7): a build holds its base image against `rmi`, and
//! `rmi`/`image prune`/`builder prune` free every snapshot nothing uses while
//! keeping those of images, containers, cache records and running builds.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{kiln, kiln_cmd, load_busybox_local, ok, ok_as, one_line_error, Scratch};

/// The snapshot keys of every snapshotter of `root`.
fn snapshot_keys(root: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    for name in ["overlay", "native"] {
        let meta = root.join("snapshots").join(name).join("metadata.json");
        let Ok(bytes) = std::fs::read(&meta) else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        keys.extend(doc["snapshots"].as_object().unwrap().keys().cloned());
    }
    keys
}

/// Bytes allocated under `dir` (as `du`), hard links once.
fn du(dir: &Path) -> u64 {
    let out = Command::new("du")
        .arg("-s")
        .arg("-B1")
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// A context folder with `dockerfile` as its Dockerfile.
fn context(s: &Scratch, name: &str, dockerfile: &str) -> PathBuf {
    let dir = s.0.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn build(root: &Path, ctx: &Path, tag: &str) {
    let args = ["build", "-q", "-t", tag, ctx.to_str().unwrap()];
    ok_as(kiln(root, &args), "kiln build");
}

/// `kiln system df`'s rows as (type, size column).
fn df_sizes(root: &Path) -> Vec<(String, String)> {
    let out = ok(kiln(root, &["system", "df"]));
    out.lines()
        .skip(1)
        .map(|l| {
            let (name, rest) = l.split_at(16);
            let cols: Vec<&str> = rest.split_whitespace().collect();
            (name.trim().to_string(), cols[2].to_string())
        })
        .collect()
}

/// Waits (bounded) until `root` has a snapshot whose key starts with `prefix`.
fn wait_for_snapshot(root: &Path, prefix: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !snapshot_keys(root).iter().any(|k| k.starts_with(prefix)) {
        assert!(child.try_wait().unwrap().is_none(), "the build ended early");
        assert!(Instant::now() < deadline, "no {prefix} snapshot appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn c5_rmi_of_the_base_during_a_build_never_tags_an_incomplete_image() {
    let s = Scratch::new("gc-c5");
    let root = s.0.join("root");
    let ctx = context(
        &s,
        "ctx",
        "FROM busybox:local\nRUN sleep 1; echo hi > /hi\n",
    );
    let mut built = 0;
    // The delays only vary where the rmi lands; what is asserted holds for all.
    for ms in (0..=1300).step_by(100) {
        load_busybox_local(&root);
        let mut build = kiln_cmd(&root)
            .args(["build", "--no-cache", "-q", "-t", "out:x"])
            .arg(&ctx)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        ok_as(kiln(&root, &["rmi", "busybox:local"]), "rmi busybox:local");
        let status = build.wait().unwrap();
        if status.success() {
            built += 1;
            // Into the scratch folder: never the host's /dev/null, which an
            // older kiln replaced with a regular file.
            let archive = s.0.join("out.tar");
            let save = ["save", "-o", archive.to_str().unwrap(), "out:x"];
            ok_as(kiln(&root, &save), &format!("save after rmi at {ms} ms"));
            ok(kiln(&root, &["rmi", "out:x"]));
        } else {
            let out = build.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            // Only an rmi before the FROM line was resolved may fail the
            // build, and then at that line (not after running every step).
            assert!(
                err.contains("resolving base image") && err.contains("not found locally"),
                "at {ms} ms: {err}"
            );
        }
    }
    assert!(built > 0, "no build got past resolving its base image");
    let leases = std::fs::read_dir(root.join("leases")).unwrap().count();
    assert_eq!(leases, 0, "every build released its lease");
}

#[test]
fn h7_rmi_and_prunes_free_every_snapshot_and_df_says_so() {
    let s = Scratch::new("gc-h7");
    let root = s.0.join("root");
    load_busybox_local(&root);
    ok_as(
        kiln(&root, &["run", "--rm", "busybox:local", "true"]),
        "run",
    );
    let ctx = context(
        &s,
        "ctx",
        "FROM busybox:local\nRUN dd if=/dev/zero of=/big bs=1k count=2048 2>/dev/null\n",
    );
    build(&root, &ctx, "t");
    let snapshots = root.join("snapshots");
    assert!(du(&snapshots) > 2 << 20, "the build's snapshots are there");
    let before = df_sizes(&root);
    assert_ne!(before[0].1, "0B", "{before:?}");
    assert_ne!(before[3].1, "0B", "build cache: {before:?}");

    ok(kiln(&root, &["rmi", "busybox:local", "t"]));
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    let out = ok(kiln(&root, &["builder", "prune", "-a", "-f"]));
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert!(
        snapshot_keys(&root).is_empty(),
        "{:?}",
        snapshot_keys(&root)
    );
    assert!(du(&snapshots) < 256 << 10, "{} bytes left", du(&snapshots));
    for (row, size) in df_sizes(&root) {
        assert_eq!(size, "0B", "{row}");
    }
}

#[test]
fn a_containers_snapshots_survive_image_prune_all() {
    let s = Scratch::new("gc-container");
    let root = s.0.join("root");
    load_busybox_local(&root);
    let id = ok(kiln(
        &root,
        &["create", "busybox:local", "cat", "/etc/hostname"],
    ));
    let id = id.trim().to_string();
    let before = snapshot_keys(&root);
    assert!(before.len() >= 2, "{before:?}");

    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    ok(kiln(&root, &["builder", "prune", "-a", "-f"]));
    assert_eq!(snapshot_keys(&root), before, "the image is in use");
    // Forced rmi drops the name only; the container's snapshots stay.
    ok(kiln(&root, &["rmi", "-f", "busybox:local"]));
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    assert_eq!(snapshot_keys(&root), before);
    ok_as(kiln(&root, &["start", &id]), "start after the prunes");
    assert_eq!(ok(kiln(&root, &["wait", &id])).trim(), "0");
    assert!(!ok(kiln(&root, &["logs", &id])).trim().is_empty());

    ok(kiln(&root, &["rm", &id]));
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    assert!(
        snapshot_keys(&root).is_empty(),
        "{:?}",
        snapshot_keys(&root)
    );
}

#[test]
fn cache_records_keep_their_snapshots_until_builder_prune() {
    let s = Scratch::new("gc-cache");
    let root = s.0.join("root");
    load_busybox_local(&root);
    let ctx = context(&s, "ctx", "FROM busybox:local\nRUN echo cached > /c\n");
    build(&root, &ctx, "t");
    ok(kiln(&root, &["rmi", "t", "busybox:local"]));
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    let kept = snapshot_keys(&root);
    assert!(kept.iter().any(|k| k.starts_with("build-")), "{kept:?}");
    assert!(kept.iter().any(|k| k.starts_with("sha256:")), "{kept:?}");

    // Filters that select nothing keep everything.
    let out = ok(kiln(
        &root,
        &["builder", "prune", "-f", "--filter", "until=1h"],
    ));
    assert!(
        out.starts_with("Deleted build cache objects: 0 records"),
        "{out}"
    );
    ok(kiln(
        &root,
        &["builder", "prune", "-f", "--keep-storage", "1g"],
    ));
    assert_eq!(snapshot_keys(&root), kept);
    // Keeping no storage removes every record, then their snapshots.
    let out = ok(kiln(
        &root,
        &["builder", "prune", "-f", "--keep-storage", "0"],
    ));
    assert!(
        out.starts_with("Deleted build cache objects: 2 records"),
        "{out}"
    );
    assert!(
        snapshot_keys(&root).is_empty(),
        "{:?}",
        snapshot_keys(&root)
    );
}

#[test]
fn builder_prune_rejects_bad_filters_in_one_line() {
    let s = Scratch::new("gc-flags");
    let root = s.0.join("root");
    let e = one_line_error(kiln(&root, &["builder", "prune", "--filter", "until=soon"]));
    assert!(e.contains("--filter until=soon"), "{e}");
    let e = one_line_error(kiln(&root, &["builder", "prune", "--filter", "type=x"]));
    assert!(e.contains("unsupported filter"), "{e}");
    let e = one_line_error(kiln(&root, &["builder", "prune", "--keep-storage", "lots"]));
    assert!(e.contains("--keep-storage"), "{e}");
}

/// The processes below `pid` (children first found, then theirs).
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1));
            if ppid == Some(&parent.to_string()) {
                all.push(child);
                parents.push(child);
            }
        }
    }
    all
}

/// SIGKILLs `pid` and waits (bounded) until it has exited (gone or a
/// zombie: its files are closed).
fn sigkill(pid: u32) {
    // Only processes this test started (the build and what it started).
    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if matches!(state, None | Some("Z") | Some("X")) {
            return;
        }
        assert!(Instant::now() < deadline, "{pid} survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_builds_snapshots_and_lease_go_with_the_next_gc() {
    let s = Scratch::new("gc-killed");
    let root = s.0.join("root");
    load_busybox_local(&root);
    let ctx = context(&s, "ctx", "FROM busybox:local\nRUN sleep 600\n");
    let mut build = kiln_cmd(&root)
        .args(["build", "-q", "-t", "never"])
        .arg(&ctx)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_snapshot(&root, "build-active-", &mut build);
    // A GC while the build runs keeps its snapshots and its lease.
    ok(kiln(&root, &["rmi", "busybox:local"]));
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    assert!(snapshot_keys(&root)
        .iter()
        .any(|k| k.starts_with("build-active-")));
    assert_eq!(std::fs::read_dir(root.join("leases")).unwrap().count(), 1);

    // SIGKILL: nothing of the build cleans up. Its RUN step's processes
    // outlive it (they are not the collector's business), so they go too.
    let below = descendants(build.id());
    build.kill().unwrap();
    build.wait().unwrap();
    below.into_iter().for_each(sigkill);
    ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    let keys = snapshot_keys(&root);
    assert!(
        !keys.iter().any(|k| k.starts_with("build-active-")),
        "{keys:?}"
    );
    assert_eq!(std::fs::read_dir(root.join("leases")).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(root.join("builder/run")).unwrap().count(),
        0
    );
    // The base image's snapshot stays for the FROM step's cache record.
    assert!(keys.iter().any(|k| k.starts_with("sha256:")), "{keys:?}");
    ok(kiln(&root, &["builder", "prune", "-a", "-f"]));
    assert!(
        snapshot_keys(&root).is_empty(),
        "{:?}",
        snapshot_keys(&root)
    );
}

/// A tmpfs of `mib` MiB mounted on `dir` for the test's duration.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u32) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs on {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }

    /// Free bytes (statvfs via `df`).
    fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&self.0)
            .output();
        let text = String::from_utf8_lossy(&out.unwrap().stdout).into_owned();
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_disk_filled_by_a_killed_build_is_recovered_by_builder_prune() {
    let s = Scratch::new("gc-enospc");
    let disk = Tmpfs::mount(&s.0.join("root"), 64);
    let root = disk.0.clone();
    load_busybox_local(&root);
    let ctx = context(
        &s,
        "ctx",
        "FROM busybox:local\nRUN dd if=/dev/zero of=/big bs=1M count=100; sleep 600\n",
    );
    let mut build = kiln_cmd(&root)
        .args(["build", "-q", "-t", "full"])
        .arg(&ctx)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while disk.free() > 64 << 10 {
        assert!(build.try_wait().unwrap().is_none(), "the build ended early");
        assert!(Instant::now() < deadline, "the disk did not fill up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let below = descendants(build.id());
    build.kill().unwrap();
    build.wait().unwrap();
    below.into_iter().for_each(sigkill);

    ok_as(
        kiln(&root, &["builder", "prune", "-a", "-f"]),
        "builder prune on a full disk",
    );
    assert!(disk.free() > 48 << 20, "{} bytes free", disk.free());
    ok_as(
        kiln(&root, &["run", "--rm", "busybox:local", "true"]),
        "run after the prune",
    );
}
