//! Linux capabilities: Docker's default set and its `--cap-add`/`--cap-drop`
//! rules (moby's `caps.TweakCapabilities`).

use oci_spec::runtime::{Capabilities, Capability};

use super::SpecError;

/// Every capability name in kernel numbering order (index = capability
/// number), up to CAP_CHECKPOINT_RESTORE (40).
const KNOWN_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capabilities Docker grants an unprivileged container, in Docker's order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// All capabilities the running kernel knows (0..=/proc/sys/kernel/cap_last_cap),
/// limited to the names kiln knows and to kiln's own bounding set: a process
/// cannot give a capability it may never hold, and runtimes fail to start a
/// container that asks for one (measured here: this host's bounding set lacks
/// CAP_SYS_RESOURCE, and crun, runc and libcontainer all refused
/// `--privileged` until it was clamped, as podman does). The whole table
/// when the files are unreadable.
pub fn all_capabilities() -> Vec<String> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(KNOWN_CAPS.len() - 1);
    let bounding = bounding_set();
    KNOWN_CAPS
        .iter()
        .enumerate()
        .take(last.saturating_add(1))
        .filter(|(bit, _)| bounding.is_none_or(|set| set & (1u64 << bit) != 0))
        .map(|(_, s)| (*s).to_owned())
        .collect()
}

/// This process's capability bounding set (`CapBnd` of /proc/self/status),
/// read once.
fn bounding_set() -> Option<u64> {
    static SET: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *SET.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("CapBnd:"))?;
        u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
    })
}

/// Whether capability `name` (normalised) is in kiln's bounding set.
fn available(name: &str) -> bool {
    let Some(bit) = KNOWN_CAPS.iter().position(|c| *c == name) else {
        return false;
    };
    bounding_set().is_none_or(|set| set & (1u64 << bit) != 0)
}

/// Normalises a user-given name: case-insensitive, `CAP_` prefix optional;
/// "ALL" stays "ALL". Unknown names are [`SpecError::UnknownCapability`].
pub fn normalize_capability(name: &str) -> Result<String, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if KNOWN_CAPS.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(SpecError::UnknownCapability(name.to_owned()))
    }
}

/// The final capability list (Docker's `TweakCapabilities`): privileged gets
/// every capability; `--cap-add ALL` gives all but the dropped ones;
/// `--cap-drop ALL` gives only the added ones; otherwise the defaults minus
/// drops plus adds.
pub fn effective_capabilities(
    adds: &[String],
    drops: &[String],
    privileged: bool,
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(all_capabilities());
    }
    let adds = normalize_all(adds)?;
    let drops = normalize_all(drops)?;
    let has_all = |v: &[String]| v.iter().any(|c| c == "ALL");
    let mut caps: Vec<String> = if has_all(&adds) {
        all_capabilities()
            .into_iter()
            .filter(|c| !drops.contains(c))
            .collect()
    } else if has_all(&drops) {
        adds.into_iter().filter(|c| c != "ALL").collect()
    } else {
        let mut caps: Vec<String> = DEFAULT_CAPABILITIES
            .iter()
            .map(|c| (*c).to_owned())
            .filter(|c| !drops.contains(c))
            .collect();
        caps.extend(adds);
        caps
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| seen.insert(c.clone()));
    if let Some(missing) = caps.iter().find(|c| !available(c)) {
        return Err(SpecError::CapabilityUnavailable(missing.clone()));
    }
    Ok(caps)
}

fn normalize_all(names: &[String]) -> Result<Vec<String>, SpecError> {
    names.iter().map(|n| normalize_capability(n)).collect()
}

/// Converts normalised names into oci-spec's capability set.
pub fn to_oci(names: &[String]) -> Result<Capabilities, SpecError> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::String(n.clone()))
                .map_err(|_| SpecError::UnknownCapability(n.clone()))
        })
        .collect()
}
