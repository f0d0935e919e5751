//! cgroup discovery and per-container cgroup reading and cleanup.
//!
//! Linux exposes control groups in one of three layouts, and every runtime has to
//! know which one the host uses ([`detect`]):
//!
//! - **v1** (legacy): `/sys/fs/cgroup` is a tmpfs holding one `cgroup` mount per
//!   controller (or group of controllers: `cpu`, `cpuacct`, `memory`, `pids`,
//!   `freezer`, …) plus the controller-less `name=systemd` hierarchy. A container
//!   has one directory per hierarchy, all at the same relative path.
//! - **v2** (unified): `/sys/fs/cgroup` itself is a `cgroup2` mount; a container
//!   has exactly one directory, and controllers are enabled per subtree.
//! - **hybrid**: v1 as above, plus a `cgroup2` mount at `/sys/fs/cgroup/unified`.
//!   Controllers bound to v1 hierarchies cannot be used in the unified one, so
//!   resource control happens through v1; some runtimes (Debian's crun 1.8) refuse
//!   this layout outright, runc and libcontainer use the v1 side.
//!
//! [`ContainerCgroup`] reads a container's statistics ([`Usage`]) and state (for `kiln stats`,
//! `kiln pause`) and removes what runtimes leave behind. Hierarchies are found in
//! `/proc/self/mountinfo`, so combined mounts (`cpu,cpuacct`) and unusual mount
//! points are handled the same way.

mod container;
mod mounts;
mod usage;

use std::path::{Path, PathBuf};

pub use container::ContainerCgroup;
pub use mounts::{hierarchies, Hierarchy};
pub use usage::{host_total_memory, Usage};

/// Errors from reading or removing cgroup files.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file or directory could not be read, parsed or removed.
    #[error("cgroup {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The controller needed for a statistic is not mounted on this host.
    #[error("cgroup controller {0:?} is not available on this host")]
    NoController(&'static str),
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, CgroupError>;

/// The host's cgroup layout (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Legacy: one hierarchy per controller under a tmpfs `/sys/fs/cgroup`.
    V1,
    /// Unified: `/sys/fs/cgroup` is a single `cgroup2` hierarchy.
    V2,
    /// v1 controllers plus a `cgroup2` hierarchy at `/sys/fs/cgroup/unified`.
    Hybrid,
}

/// `statfs(2)` magic of a cgroup2 filesystem.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// `statfs(2)` magic of tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// The root under which the kernel's cgroup hierarchies are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Detects the host's layout from the filesystem types of `/sys/fs/cgroup` and
/// `/sys/fs/cgroup/unified` (what runc, crun and libcgroups do too).
pub fn detect() -> CgroupMode {
    let root = Path::new(CGROUP_ROOT);
    match fs_magic(root) {
        Some(CGROUP2_SUPER_MAGIC) => CgroupMode::V2,
        Some(TMPFS_MAGIC) if fs_magic(&root.join("unified")) == Some(CGROUP2_SUPER_MAGIC) => {
            CgroupMode::Hybrid
        }
        _ => CgroupMode::V1,
    }
}

/// The `f_type` of the filesystem holding `path`, `None` if it cannot be stat'ed.
fn fs_magic(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs only writes into the zeroed struct we pass.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string, buf a valid out pointer.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut buf) };
    (rc == 0).then_some(buf.f_type as i64)
}

/// Every cgroup directory directly under a `kiln` directory in any hierarchy
/// (`<hierarchy>/kiln/*`): containers' cgroups still present. Empty when kiln has
/// left nothing behind; used by leak tests and `kiln system` checks.
pub fn leftover_dirs() -> Vec<PathBuf> {
    leftover_dirs_under("kiln")
}

/// Like [`leftover_dirs`] for another parent (a relative cgroup path such as
/// `kiln-test`): every directory `<hierarchy>/<parent>/*`.
pub fn leftover_dirs_under(parent: &str) -> Vec<PathBuf> {
    let parent = parent.trim_matches('/');
    let mut found = Vec::new();
    for hierarchy in hierarchies() {
        let Ok(entries) = std::fs::read_dir(hierarchy.mount_point.join(parent)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}
