//! One container's cgroup: statistics, freezer state, processes, removal.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{detect, hierarchies, CgroupError, CgroupMode, Hierarchy, Result};

/// v1 reports "no limit" as a page-aligned `i64::MAX`; anything this large is
/// treated as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

/// How long [`ContainerCgroup::remove`] retries a busy directory (processes that
/// were just killed leave their cgroup a moment after they die).
const REMOVE_PATIENCE: Duration = Duration::from_secs(2);

/// A container's cgroup, named by the spec's `linux.cgroupsPath` (`/kiln/<id>`),
/// which is relative to the root of every hierarchy.
#[derive(Debug, Clone)]
pub struct ContainerCgroup {
    relative: PathBuf,
    mode: CgroupMode,
    hierarchies: Vec<Hierarchy>,
}

impl ContainerCgroup {
    /// The cgroup at `cgroups_path` (leading `/` optional) on this host.
    pub fn new(cgroups_path: &str) -> Self {
        Self {
            relative: PathBuf::from(cgroups_path.trim_start_matches('/')),
            mode: detect(),
            hierarchies: hierarchies(),
        }
    }

    /// The path relative to each hierarchy's root (no leading `/`).
    pub fn relative_path(&self) -> &Path {
        &self.relative
    }

    /// Every directory of this cgroup that currently exists, one per hierarchy.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.hierarchies
            .iter()
            .map(|h| h.mount_point.join(&self.relative))
            .filter(|d| d.is_dir())
            .collect()
    }

    /// The directory to read `controller`'s files from: the unified hierarchy on
    /// v2 hosts, the v1 hierarchy carrying the controller otherwise.
    fn dir_for(&self, controller: &'static str) -> Result<PathBuf> {
        let hierarchy = match self.mode {
            CgroupMode::V2 => self.hierarchies.iter().find(|h| h.unified),
            CgroupMode::V1 | CgroupMode::Hybrid => self
                .hierarchies
                .iter()
                .find(|h| !h.unified && h.has(controller)),
        };
        hierarchy
            .map(|h| h.mount_point.join(&self.relative))
            .ok_or(CgroupError::NoController(controller))
    }

    /// Host PIDs of every process in the cgroup (and its sub-cgroups). v1 reads
    /// the `pids`, `memory` or `freezer` hierarchy, whichever is mounted.
    pub fn pids(&self) -> Result<Vec<u32>> {
        let dir = ["pids", "memory", "freezer", "name=systemd"]
            .into_iter()
            .find_map(|c| self.dir_for(c).ok())
            .ok_or(CgroupError::NoController("pids"))?;
        let mut pids = Vec::new();
        collect_procs(&dir, &mut pids)?;
        pids.sort_unstable();
        Ok(pids)
    }

    /// Memory in use, in bytes (`memory.usage_in_bytes` / `memory.current`).
    pub fn memory_usage(&self) -> Result<u64> {
        match self.mode {
            CgroupMode::V2 => read_u64(&self.dir_for("memory")?.join("memory.current")),
            _ => read_u64(&self.dir_for("memory")?.join("memory.usage_in_bytes")),
        }
    }

    /// The memory limit in bytes, `None` when unlimited.
    pub fn memory_limit(&self) -> Result<Option<u64>> {
        let (file, dir) = match self.mode {
            CgroupMode::V2 => ("memory.max", self.dir_for("memory")?),
            _ => ("memory.limit_in_bytes", self.dir_for("memory")?),
        };
        let text = read_text(&dir.join(file))?;
        if text == "max" {
            return Ok(None);
        }
        let value = parse_u64(&dir.join(file), &text)?;
        Ok((value < V1_UNLIMITED).then_some(value))
    }

    /// Number of processes (tasks) counted by the pids controller.
    pub fn pids_current(&self) -> Result<u64> {
        read_u64(&self.dir_for("pids")?.join("pids.current"))
    }

    /// CPU time used by all processes, in nanoseconds (v1 `cpuacct.usage`, v2
    /// `cpu.stat` `usage_usec` × 1000).
    pub fn cpu_usage_ns(&self) -> Result<u64> {
        if self.mode != CgroupMode::V2 {
            return read_u64(&self.dir_for("cpuacct")?.join("cpuacct.usage"));
        }
        let path = self.dir_for("cpu")?.join("cpu.stat");
        let text = read_text(&path)?;
        let usec = text
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .ok_or_else(|| invalid(&path, "no usage_usec line"))?;
        Ok(parse_u64(&path, usec)?.saturating_mul(1000))
    }

    /// Whether the cgroup is frozen (v1 `freezer.state` is `FROZEN`, v2
    /// `cgroup.events` says `frozen 1`). `false` when it does not exist.
    pub fn frozen(&self) -> bool {
        match self.mode {
            CgroupMode::V2 => self
                .dir_for("freezer")
                .and_then(|d| read_text(&d.join("cgroup.events")))
                .is_ok_and(|t| t.lines().any(|l| l == "frozen 1")),
            _ => self
                .dir_for("freezer")
                .and_then(|d| read_text(&d.join("freezer.state")))
                .is_ok_and(|t| t == "FROZEN"),
        }
    }

    /// Removes the cgroup's directory (and any sub-cgroups) in every hierarchy
    /// where it exists. Idempotent: nothing to remove is success. A directory
    /// still holding processes is retried briefly, then reported as busy.
    pub fn remove(&self) -> Result<()> {
        let mut first_error = None;
        for dir in self.dirs() {
            if let Err(err) = remove_tree(&dir) {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Appends the PIDs in `dir/cgroup.procs` and in every sub-cgroup's.
fn collect_procs(dir: &Path, pids: &mut Vec<u32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    for line in read_text(&procs)?.lines() {
        pids.push(parse_u64(&procs, line)? as u32);
    }
    for sub in sub_dirs(dir)? {
        collect_procs(&sub, pids)?;
    }
    Ok(())
}

/// The sub-cgroups of `dir`; none if `dir` has gone.
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io(dir, source)),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect())
}

/// rmdir()s `dir` after its sub-cgroups, retrying while it is busy.
fn remove_tree(dir: &Path) -> Result<()> {
    for sub in sub_dirs(dir)? {
        remove_tree(&sub)?;
    }
    let deadline = Instant::now() + REMOVE_PATIENCE;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
            Err(err) if err.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(source) => return Err(io(dir, source)),
        }
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_owned())
        .map_err(|source| io(path, source))
}

fn read_u64(path: &Path) -> Result<u64> {
    parse_u64(path, &read_text(path)?)
}

fn parse_u64(path: &Path, text: &str) -> Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| invalid(path, &format!("not a number: {text:?}")))
}

fn io(path: &Path, source: std::io::Error) -> CgroupError {
    CgroupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(path: &Path, what: &str) -> CgroupError {
    io(
        path,
        std::io::Error::new(ErrorKind::InvalidData, what.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup made by hand in every hierarchy, with this test's own child in it.
    #[test]
    fn reads_and_removes_a_real_cgroup() {
        let cg = ContainerCgroup::new(&format!("/kiln-unit/{}", std::process::id()));
        for h in &cg.hierarchies {
            let dir = h.mount_point.join(&cg.relative);
            std::fs::create_dir_all(&dir).unwrap();
            if h.has("cpuset") {
                // cpuset children start empty; copy the parent's to allow tasks.
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let v = std::fs::read_to_string(h.mount_point.join(f)).unwrap();
                    std::fs::write(dir.parent().unwrap().join(f), &v).unwrap();
                    std::fs::write(dir.join(f), &v).unwrap();
                }
            }
        }
        assert_eq!(cg.dirs().len(), cg.hierarchies.len());
        /// Kills the child and removes the cgroup even when an assertion fails.
        struct Guard(std::process::Child, ContainerCgroup);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
                let _ = self.1.remove();
                for h in &self.1.hierarchies {
                    let _ = std::fs::remove_dir(h.mount_point.join("kiln-unit"));
                }
            }
        }
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut guard = Guard(child, cg.clone());
        for dir in cg.dirs() {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
        }
        assert_eq!(cg.pids().unwrap(), vec![pid]);
        // v1 does not move a task's existing memory charge with it: 0 is fine here.
        cg.memory_usage().unwrap();
        assert_eq!(cg.memory_limit().unwrap(), None);
        assert!(!cg.frozen());
        if cg.mode != CgroupMode::V2 {
            assert_eq!(cg.pids_current().unwrap(), 1);
        }
        cg.cpu_usage_ns().unwrap();
        guard.0.kill().unwrap();
        guard.0.wait().unwrap();
        cg.remove().unwrap();
        assert!(cg.dirs().is_empty());
        cg.remove().unwrap();
    }
}
