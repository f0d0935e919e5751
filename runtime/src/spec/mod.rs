//! OCI runtime-spec `config.json` for a container, with Docker's defaults.
//!
//! Callers first turn an image config into [`ImageDefaults`], pick the argv
//! with [`resolve_args`] and the environment with [`merge_env`], write the
//! container's /etc files with [`etc_files`], then call [`build_spec`] with
//! everything in [`SpecOptions`]. Nothing here starts processes or mounts.
//!
//! Choices where Docker is unclear or does not apply:
//! - privileged containers get every capability the kernel knows, no
//!   seccomp, no masked/read-only paths, rw /sys and /sys/fs/cgroup and an
//!   allow-all device cgroup, but host devices are NOT copied into /dev;
//! - RLIMIT_NOFILE is Docker's 1024/524288 clamped to kiln's own hard limit;
//! - a cgroup namespace is added only on cgroup v2 hosts (Docker's default);
//! - `--pids-limit` <= 0 means unlimited (no pids section);
//! - a `--ulimit` of -1 is RLIM_INFINITY, as in Docker.

mod caps;
mod error;
mod etc_files;
mod image;
mod linux;
mod mount_checks;
mod mounts;
mod process;
mod process_args;
mod rootfs_path;
mod seccomp;
mod user;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxBuilder, RootBuilder, Spec, SpecBuilder};

pub use caps::{
    all_capabilities, effective_capabilities, normalize_capability, DEFAULT_CAPABILITIES,
};
pub use error::SpecError;
pub use etc_files::etc_files;
pub use image::ImageDefaults;
pub use linux::{CPU_PERIOD, MASKED_PATHS, READONLY_PATHS};
pub use mount_checks::resolve_destinations;
pub use mounts::tmpfs_options;
pub use process::{current_nofile_hard, NOFILE_LIMITS};
pub use process_args::{check_env, env_entry_error, merge_env, resolve_args, DEFAULT_PATH};
pub use rootfs_path::{read_rootfs_file, resolve_in_rootfs};
pub use seccomp::{default_seccomp, seccomp_from_file};
pub use user::{resolve_user, ResolvedUser};

/// The OCI runtime-spec version kiln writes (the one Docker writes).
pub const OCI_VERSION: &str = "1.0.2-dev";

/// Which seccomp profile a container runs under (`--security-opt seccomp=`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SeccompChoice {
    /// Docker's default profile, conditioned on the final capabilities.
    #[default]
    Default,
    /// No seccomp filter (`seccomp=unconfined`).
    Unconfined,
    /// A Docker-format profile JSON file.
    File(PathBuf),
}

/// The container's network namespace.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum NetworkMode {
    /// A new, empty network namespace (loopback only): `--network none`.
    #[default]
    None,
    /// The host's network namespace (no netns): `--network host`.
    Host,
    /// Join an existing netns by path (bridge networks set one up first).
    Join(PathBuf),
}

/// A user-requested mount (`-v`, `--mount`, `--tmpfs`, or kiln's /etc files).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MountSpec {
    /// Bind-mount a host path (recursively, private propagation).
    Bind {
        /// Absolute host path.
        source: PathBuf,
        /// Absolute path inside the container.
        destination: String,
        /// Mount read-only.
        read_only: bool,
    },
    /// A tmpfs; `options` are merged over Docker's `rw,nosuid,nodev,noexec`.
    Tmpfs {
        /// Absolute path inside the container.
        destination: String,
        /// Extra mount options, e.g. "size=64m", "mode=1777", "exec".
        options: Vec<String>,
    },
}

impl MountSpec {
    /// Where the mount appears inside the container.
    pub fn destination(&self) -> &str {
        match self {
            MountSpec::Bind { destination, .. } | MountSpec::Tmpfs { destination, .. } => {
                destination
            }
        }
    }
}

/// A process resource limit (`--ulimit`): `RLIMIT_<NAME>`, -1 is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rlimit {
    /// The name without `RLIMIT_`, lower case (`nofile`, `nproc`…).
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// A host device node given to the container (`--device`), as found on
/// the host: it is created at `path` inside the container and allowed in
/// the device cgroup with `access`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceNode {
    /// Path inside the container.
    pub path: String,
    /// A block device (else a character device).
    pub block: bool,
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// Permission bits of the host's node.
    pub file_mode: u32,
    /// Owner of the host's node.
    pub uid: u32,
    /// Group of the host's node.
    pub gid: u32,
    /// Cgroup access: a subset of `rwm`.
    pub access: String,
}

/// Everything [`build_spec`] needs: the resolved run options of one container.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SpecOptions {
    /// The argv, usually from [`resolve_args`]; must not be empty.
    pub args: Vec<String>,
    /// The environment, usually from [`merge_env`]; HOME is added when absent.
    pub env: Vec<String>,
    /// Working directory; "" means "/"; must be absolute otherwise.
    pub cwd: String,
    /// `-u` or image USER: `name|uid[:group|gid]`; "" means root.
    pub user: String,
    /// The UTS hostname ("" leaves it unset).
    pub hostname: String,
    /// Allocate a terminal (`-t`).
    pub tty: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add` names (case-insensitive, `CAP_` optional, "ALL").
    pub cap_add: Vec<String>,
    /// `--cap-drop` names (same forms).
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// Seccomp profile choice (ignored when privileged).
    pub seccomp: SeccompChoice,
    /// `--read-only` root filesystem.
    pub read_only: bool,
    /// `--memory` in bytes (at least 6 MiB).
    pub memory: Option<i64>,
    /// `--cpus` (at least 0.01).
    pub cpus: Option<f64>,
    /// `--pids-limit`; <= 0 means unlimited.
    pub pids_limit: Option<i64>,
    /// User mounts, applied after (and replacing) the defaults by destination.
    pub mounts: Vec<MountSpec>,
    /// Network namespace choice.
    pub network: NetworkMode,
    /// cgroup path, e.g. "/kiln/<id>"; must not be empty.
    pub cgroups_path: String,
    /// Absolute path of the mounted root filesystem.
    pub rootfs: PathBuf,
    /// OCI annotations.
    pub annotations: BTreeMap<String, String>,
    /// `--ulimit`s; one named `nofile` replaces Docker's default NOFILE.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// `--sysctl`s (the caller keeps to namespaced ones).
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// `--device`s, after Docker's default nodes (replacing one at the same path).
    #[serde(default)]
    pub devices: Vec<DeviceNode>,
}

/// Docker's read-only paths plus this host's cgroup mount points: the spec
/// asks for `/sys/fs/cgroup` read-only, but libcontainer mounts each v1
/// hierarchy inside it read-write (measured: a default container could raise
/// its own `pids.max` and memory limit), so each one is also listed here and
/// remounted read-only; runtimes ignore paths missing in the container.
fn readonly_paths() -> Vec<String> {
    let mut paths = to_strings(&READONLY_PATHS);
    paths.push(crate::cgroups::CGROUP_ROOT.to_string());
    for hierarchy in crate::cgroups::hierarchies() {
        let path = hierarchy.mount_point.to_string_lossy().into_owned();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// Builds the OCI runtime spec for a container (see the module docs for
/// the defaults). The user is resolved inside `rootfs` (never escaping it);
/// bad input is an error, never a panic.
pub fn build_spec(options: &SpecOptions) -> Result<Spec, SpecError> {
    let o = options;
    if !o.rootfs.is_absolute() {
        return Err(SpecError::RelativeRootfs(o.rootfs.clone()));
    }
    if o.cgroups_path.is_empty() {
        return Err(SpecError::EmptyCgroupsPath);
    }
    validate_hostname(&o.hostname)?;
    let caps = effective_capabilities(&o.cap_add, &o.cap_drop, o.privileged)?;
    let user = resolve_user(&o.rootfs, &o.user)?;
    let process = process::build_process(o, &user, &caps)?;
    let mut linux = LinuxBuilder::default()
        .sysctl(o.sysctls.clone().into_iter().collect::<HashMap<_, _>>())
        .namespaces(linux::namespaces(&o.network)?)
        .cgroups_path(PathBuf::from(&o.cgroups_path))
        .resources(linux::resources(o)?)
        .devices(linux::devices(&o.devices)?);
    if !o.privileged {
        linux = linux
            .masked_paths(to_strings(&MASKED_PATHS))
            .readonly_paths(readonly_paths());
        match &o.seccomp {
            SeccompChoice::Default => linux = linux.seccomp(default_seccomp(&caps)?),
            SeccompChoice::File(path) => linux = linux.seccomp(seccomp_from_file(path, &caps)?),
            SeccompChoice::Unconfined => {}
        }
    }
    let root = RootBuilder::default()
        .path(o.rootfs.clone())
        .readonly(o.read_only)
        .build()?;
    let mut linux = linux.build()?;
    if o.privileged {
        // The builder fills these with oci-spec's defaults; privileged has none.
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    }
    let mut spec: Spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(root)
        .process(process)
        .mounts(mounts::build_mounts(&o.mounts, o.privileged)?)
        .linux(linux)
        .build()?;
    // Unset builder fields take oci-spec's defaults (hostname "youki"): set all.
    spec.set_hostname(Some(o.hostname.clone()).filter(|h| !h.is_empty()));
    let annotations: HashMap<String, String> = o.annotations.clone().into_iter().collect();
    spec.set_annotations(Some(annotations).filter(|a| !a.is_empty()));
    Ok(spec)
}

/// Hostnames go into /etc/hosts and sethostname(2): at most 64 bytes, no
/// whitespace or control characters, no '/'.
pub(crate) fn validate_hostname(hostname: &str) -> Result<(), SpecError> {
    let bad = hostname.len() > 64
        || hostname
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
    if bad {
        return Err(SpecError::InvalidHostname(hostname.to_owned()));
    }
    Ok(())
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
