//! The cgroup hierarchies mounted on this host, from `/proc/self/mountinfo`.

use std::path::PathBuf;

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup`, …).
    pub mount_point: PathBuf,
    /// `true` for a `cgroup2` (unified) hierarchy.
    pub unified: bool,
    /// v1 only: the controllers bound to it (`cpu`, `cpuacct`, …) and its
    /// `name=…` if it is a named hierarchy such as `name=systemd`.
    pub controllers: Vec<String>,
}

impl Hierarchy {
    /// Whether this v1 hierarchy carries `controller` (e.g. `memory`, `name=systemd`).
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// Every cgroup hierarchy mounted under `/sys/fs/cgroup`, in mount order, each
/// mount point once. Empty if mountinfo cannot be read.
pub fn hierarchies() -> Vec<Hierarchy> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<Hierarchy> = Vec::new();
    for hierarchy in text.lines().filter_map(parse_line) {
        if hierarchy.mount_point.starts_with(super::CGROUP_ROOT)
            && !found.iter().any(|h| h.mount_point == hierarchy.mount_point)
        {
            found.push(hierarchy);
        }
    }
    found
}

/// Parses one mountinfo line (`id parent maj:min root mountpoint opts [optional…]
/// - fstype source superopts`) if it is a cgroup mount.
fn parse_line(line: &str) -> Option<Hierarchy> {
    let (left, right) = line.split_once(" - ")?;
    let mount_point = unescape(left.split(' ').nth(4)?);
    let mut right = right.split(' ');
    let fstype = right.next()?;
    let super_opts = right.nth(1).unwrap_or("");
    let unified = match fstype {
        "cgroup2" => true,
        "cgroup" => false,
        _ => return None,
    };
    let controllers = if unified {
        Vec::new()
    } else {
        super_opts
            .split(',')
            .filter(|o| !matches!(*o, "rw" | "ro" | "xattr" | "noprefix" | "clone_children"))
            .filter(|o| !o.starts_with("release_agent="))
            .map(str::to_owned)
            .collect()
    };
    Some(Hierarchy {
        mount_point: PathBuf::from(mount_point),
        unified,
        controllers,
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_and_v2_lines() {
        let v1 = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct";
        let h = parse_line(v1).unwrap();
        assert_eq!(h.mount_point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(!h.unified && h.has("cpu") && h.has("cpuacct") && !h.has("rw"));
        let sd =
            "31 25 0:27 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,xattr,name=systemd";
        assert!(parse_line(sd).unwrap().has("name=systemd"));
        let v2 = "40 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate";
        let h = parse_line(v2).unwrap();
        assert!(h.unified && h.controllers.is_empty());
        assert!(parse_line("1 0 0:1 / / rw - ext4 /dev/sda rw").is_none());
    }

    #[test]
    fn unescapes_spaces() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }

    #[test]
    fn finds_this_hosts_hierarchies() {
        let all = hierarchies();
        assert!(
            !all.is_empty(),
            "no cgroup hierarchy in /proc/self/mountinfo"
        );
        match super::super::detect() {
            super::super::CgroupMode::V2 => assert!(all.iter().any(|h| h.unified)),
            super::super::CgroupMode::Hybrid => {
                assert!(all.iter().any(|h| h.unified) && all.iter().any(|h| !h.unified))
            }
            super::super::CgroupMode::V1 => assert!(all.iter().all(|h| !h.unified)),
        }
    }
}
