//! What could leak from containers, counted: mounts naming a `--root` (in
//! this process's and PID 1's mount tables), processes running from it, files
//! under it, and kiln's cgroup directories. Shared by the leak and
//! concurrency tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{kiln, ok_as, Scratch};

/// The busybox image [`root_with_image`] imports.
pub const IMAGE: &str = "kiln-test/busybox";

/// A fresh `--root` holding the busybox image.
pub fn root_with_image(name: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(name);
    let root = scratch.0.join("root");
    let tar = scratch.0.join("busybox.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&tar)
        .output()
        .unwrap();
    ok_as(out, "make-rootfs.sh");
    ok_as(
        kiln(&root, &["import", tar.to_str().unwrap(), IMAGE]),
        "kiln import",
    );
    (scratch, root)
}

/// Everything that could leak, as comparable text lines.
#[derive(Debug, PartialEq)]
pub struct Census {
    /// Mount table lines (this process's and PID 1's) naming the root.
    pub mounts: Vec<String>,
    /// Processes whose command line or root directory names the root.
    pub processes: Vec<String>,
    /// Paths under the root.
    pub files: BTreeSet<String>,
    /// `kiln/*` cgroup directories.
    pub cgroups: BTreeSet<PathBuf>,
}

pub fn census(root: &Path) -> Census {
    let needle = root.to_str().unwrap();
    let mut mounts = Vec::new();
    for table in ["/proc/self/mountinfo", "/proc/1/mountinfo"] {
        let text = std::fs::read_to_string(table).unwrap();
        mounts.extend(
            text.lines()
                .filter(|l| l.contains(needle))
                .map(|l| format!("{table}: {l}")),
        );
    }
    Census {
        mounts,
        processes: root_processes(root),
        files: tree(root),
        cgroups: kiln_runtime::cgroups::leftover_dirs().into_iter().collect(),
    }
}

/// Processes (other than this test) whose command line mentions `root` or
/// whose root directory lies under it.
fn root_processes(root: &Path) -> Vec<String> {
    let me = std::process::id().to_string();
    let needle = root.to_str().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let proc_root = std::fs::read_link(entry.path().join("root")).unwrap_or_default();
        if cmdline.contains(needle) || proc_root.starts_with(root) {
            found.push(format!(
                "{pid}: {} (root {})",
                cmdline.trim(),
                proc_root.display()
            ));
        }
    }
    found
}

/// Paths under `root`, not descending into blobs or snapshot contents
/// (`content/`, `fs/`, `work/`).
fn tree(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let name = entry.file_name();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !matches!(name.to_str(), Some("content" | "fs" | "work")) {
                todo.push(path);
            }
            found.insert(rel);
        }
    }
    found
}

/// True when a cgroup directory that appeared during a test belongs to it:
/// empty (nobody else's live container) or holding a process from `root`.
fn cgroup_is_ours(dir: &Path, root: &Path) -> bool {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let pids: Vec<&str> = procs.split_whitespace().collect();
    pids.is_empty()
        || pids.iter().any(|pid| {
            std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|r| r.starts_with(root))
        })
}

/// Asserts that nothing was added since `before`.
pub fn assert_no_leftovers(root: &Path, before: &Census, what: &str) {
    let mut after = census(root);
    // A directory another kiln on the host is creating right now is briefly
    // empty: only count directories that are still ours a moment later.
    let mut cgroups: BTreeSet<PathBuf> = after
        .cgroups
        .difference(&before.cgroups)
        .filter(|d| cgroup_is_ours(d, root))
        .cloned()
        .collect();
    if !cgroups.is_empty() {
        std::thread::sleep(Duration::from_millis(500));
        cgroups.retain(|d| d.exists() && cgroup_is_ours(d, root));
    }
    let files: Vec<_> = after.files.difference(&before.files).collect();
    let gone: Vec<_> = before.files.difference(&after.files).collect();
    after.mounts.retain(|m| !before.mounts.contains(m));
    let leaks = after.mounts.len() + after.processes.len() + files.len() + cgroups.len();
    assert_eq!(
        leaks, 0,
        "{what}: leftovers:\n mounts {:#?}\n processes {:#?}\n files {files:#?}\n \
         cgroups {cgroups:#?}\n (files gone: {gone:?})",
        after.mounts, after.processes
    );
    assert!(gone.is_empty(), "{what}: files disappeared: {gone:?}");
}
