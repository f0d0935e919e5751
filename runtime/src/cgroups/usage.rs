//! A container's resource usage as `docker stats` reports it, read from its
//! cgroup: memory without the page cache Docker subtracts (`inactive_file`),
//! the limit capped at the host's memory, process count, and block I/O.

use super::ContainerCgroup;

/// One reading of a container's usage (zeros for what cannot be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory used, less `inactive_file` (Docker's "MEM USAGE").
    pub memory: u64,
    /// The memory limit, or the host's memory when lower or unlimited.
    pub memory_limit: u64,
    /// Processes in the cgroup.
    pub pids: u64,
    /// Bytes read from block devices.
    pub read_bytes: u64,
    /// Bytes written to block devices.
    pub write_bytes: u64,
}

impl ContainerCgroup {
    /// The container's usage now; `host_memory` is [`host_total_memory`].
    pub fn usage(&self, host_memory: u64) -> Usage {
        let memory = self
            .memory_usage()
            .unwrap_or(0)
            .saturating_sub(self.inactive_file());
        let memory_limit = self
            .memory_limit()
            .ok()
            .flatten()
            .unwrap_or(host_memory)
            .min(host_memory.max(1));
        let pids = self
            .pids_current()
            .unwrap_or_else(|_| self.pids().map_or(0, |p| p.len() as u64));
        let (read_bytes, write_bytes) = self.block_io();
        Usage {
            memory,
            memory_limit,
            pids,
            read_bytes,
            write_bytes,
        }
    }

    /// `inactive_file` (v2) / `total_inactive_file` (v1) of `memory.stat`.
    pub fn inactive_file(&self) -> u64 {
        self.dirs()
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("memory.stat")).ok())
            .find_map(|text| inactive_file_of(&text))
            .unwrap_or(0)
    }

    /// Bytes read and written: v2 `io.stat` (`rbytes=`, `wbytes=`) or v1
    /// `blkio.throttle.io_service_bytes` (`Read`, `Write`), summed over devices.
    pub fn block_io(&self) -> (u64, u64) {
        for dir in self.dirs() {
            if let Ok(text) = std::fs::read_to_string(dir.join("io.stat")) {
                return io_stat_v2(&text);
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("blkio.throttle.io_service_bytes")) {
                return io_service_bytes_v1(&text);
            }
        }
        (0, 0)
    }
}

fn inactive_file_of(memory_stat: &str) -> Option<u64> {
    memory_stat.lines().find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        matches!(key, "inactive_file" | "total_inactive_file").then(|| value.trim().parse().ok())?
    })
}

fn io_stat_v2(text: &str) -> (u64, u64) {
    let (mut read, mut write) = (0, 0);
    for field in text.split_whitespace() {
        if let Some(v) = field.strip_prefix("rbytes=") {
            read += v.parse::<u64>().unwrap_or(0);
        } else if let Some(v) = field.strip_prefix("wbytes=") {
            write += v.parse::<u64>().unwrap_or(0);
        }
    }
    (read, write)
}

fn io_service_bytes_v1(text: &str) -> (u64, u64) {
    let (mut read, mut write) = (0, 0);
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, value] = fields[..] {
            let value = value.parse::<u64>().unwrap_or(0);
            match op {
                "Read" => read += value,
                "Write" => write += value,
                _ => {}
            }
        }
    }
    (read, write)
}

/// `MemTotal` of `/proc/meminfo`, in bytes (0 when unreadable).
pub fn host_total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_files_of_both_versions_parse() {
        assert_eq!(inactive_file_of("anon 5\ninactive_file 4096\n"), Some(4096));
        assert_eq!(
            inactive_file_of("cache 1\ntotal_inactive_file 7\n"),
            Some(7)
        );
        assert_eq!(inactive_file_of("anon 5\n"), None);
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n";
        assert_eq!(io_stat_v2(v2), (101, 22));
        let v1 = "8:0 Read 10\n8:0 Write 3\n8:0 Sync 13\n8:16 Read 5\nTotal 31\n";
        assert_eq!(io_service_bytes_v1(v1), (15, 3));
        assert!(host_total_memory() > 0);
    }
}
