//! The `linux` section: namespaces, cgroup resources and device rules,
//! device nodes, masked and read-only paths — Docker's defaults.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder,
    LinuxDeviceType, LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use super::{DeviceNode, NetworkMode, SpecError, SpecOptions};

/// Paths Docker hides from unprivileged containers (a tmpfs or /dev/null over them).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths Docker makes read-only in unprivileged containers.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// CPU period Docker uses for `--cpus` (microseconds).
pub const CPU_PERIOD: u64 = 100_000;

/// Docker's minimum `--memory`.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// pid, mount, uts, ipc and network (per [`NetworkMode`]); a cgroup
/// namespace only on cgroup v2 hosts (Docker's default `cgroupns=private`
/// there, `host` on v1). Never a user namespace.
pub fn namespaces(network: &NetworkMode) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut out = Vec::new();
    for typ in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
    ] {
        out.push(LinuxNamespaceBuilder::default().typ(typ).build()?);
    }
    match network {
        NetworkMode::None => out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .build()?,
        ),
        NetworkMode::Host => {}
        NetworkMode::Join(path) => out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(path.clone())
                .build()?,
        ),
    }
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Cgroup)
                .build()?,
        );
    }
    Ok(out)
}

/// Memory (limit, swap = 2 x limit as Docker does for `-m` alone), CPU
/// quota/period from `--cpus`, pids limit (<= 0 means unlimited) and the
/// device cgroup rules.
pub fn resources(o: &SpecOptions) -> Result<LinuxResources, SpecError> {
    let mut rules = device_rules(o.privileged)?;
    for d in o.devices.iter().filter(|_| !o.privileged) {
        let typ = if d.block {
            LinuxDeviceType::B
        } else {
            LinuxDeviceType::C
        };
        rules.push(rule(
            true,
            Some(typ),
            Some(d.major),
            Some(d.minor),
            &d.access,
        )?);
    }
    let mut b = LinuxResourcesBuilder::default().devices(rules);
    if let Some(mem) = o.memory {
        if mem < MIN_MEMORY {
            return Err(SpecError::InvalidResource(format!(
                "Minimum memory limit allowed is 6MB (got {mem} bytes)"
            )));
        }
        b = b.memory(
            LinuxMemoryBuilder::default()
                .limit(mem)
                .swap(mem.saturating_mul(2))
                .build()?,
        );
    }
    if let Some(cpus) = o.cpus {
        b = b.cpu(
            LinuxCpuBuilder::default()
                .period(CPU_PERIOD)
                .quota(cpu_quota(cpus)?)
                .build()?,
        );
    }
    if let Some(pids) = o.pids_limit.filter(|p| *p > 0) {
        b = b.pids(LinuxPidsBuilder::default().limit(pids).build()?);
    }
    Ok(b.build()?)
}

/// quota = cpus x period; Docker accepts 0.01 CPU (1000us) and up.
fn cpu_quota(cpus: f64) -> Result<i64, SpecError> {
    let quota = (cpus * CPU_PERIOD as f64).round();
    if !quota.is_finite() || quota < 1000.0 || quota > i64::MAX as f64 {
        return Err(SpecError::InvalidResource(format!(
            "--cpus {cpus}: range of CPUs starts at 0.01"
        )));
    }
    Ok(quota as i64)
}

/// Docker's device cgroup: deny everything, then allow mknod of any device
/// and use of the default set (null, zero, full, random, urandom, tty,
/// console, ptmx, pts/*, tun); privileged allows every device.
fn device_rules(privileged: bool) -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    if privileged {
        return Ok(vec![rule(true, None, None, None, "rwm")?]);
    }
    let c = Some(LinuxDeviceType::C);
    let b = Some(LinuxDeviceType::B);
    Ok(vec![
        rule(false, None, None, None, "rwm")?,
        rule(true, c, None, None, "m")?,
        rule(true, b, None, None, "m")?,
        rule(true, c, Some(1), Some(3), "rwm")?,
        rule(true, c, Some(1), Some(8), "rwm")?,
        rule(true, c, Some(1), Some(7), "rwm")?,
        rule(true, c, Some(5), Some(0), "rwm")?,
        rule(true, c, Some(1), Some(5), "rwm")?,
        rule(true, c, Some(1), Some(9), "rwm")?,
        rule(true, c, Some(5), Some(1), "rwm")?,
        rule(true, c, Some(136), None, "rwm")?,
        rule(true, c, Some(5), Some(2), "rwm")?,
        rule(true, c, Some(10), Some(200), "rwm")?,
    ])
}

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access(access);
    if let Some(t) = typ {
        b = b.typ(t);
    }
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// Docker's minimal /dev: null, zero, full, random, urandom, tty (0666,
/// root-owned), then the `--device` nodes (one at a default's path replaces
/// it). /dev/ptmx is the runtime's symlink to pts/ptmx; no /dev/fuse.
pub fn devices(extra: &[DeviceNode]) -> Result<Vec<LinuxDevice>, SpecError> {
    let mut out: Vec<LinuxDevice> = default_devices()?
        .into_iter()
        .filter(|d| {
            !extra
                .iter()
                .any(|e| d.path().as_os_str() == e.path.as_str())
        })
        .collect();
    for d in extra {
        out.push(
            LinuxDeviceBuilder::default()
                .path(d.path.as_str())
                .typ(if d.block {
                    LinuxDeviceType::B
                } else {
                    LinuxDeviceType::C
                })
                .major(d.major)
                .minor(d.minor)
                .file_mode(d.file_mode)
                .uid(d.uid)
                .gid(d.gid)
                .build()?,
        );
    }
    Ok(out)
}

fn default_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| {
        Ok(LinuxDeviceBuilder::default()
            .path(path)
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()?)
    })
    .collect()
}
