//! Host-facing run flags: `--ulimit` (go-units' `ParseUlimit`), `--device`
//! (the Docker CLI's `parseLinuxDevice`), `--sysctl` (moby's namespaced
//! allow-list, `opts.ValidateSysctl`) and `--add-host` (`ValidateExtraHost`).

use std::net::IpAddr;

use super::ValueError;

/// A resource limit: `nofile=1024:2048`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// The name without `RLIMIT_` (`nofile`, `nproc`, ...).
    pub name: String,
    /// Soft limit (-1: unlimited).
    pub soft: i64,
    /// Hard limit (-1: unlimited).
    pub hard: i64,
}

/// The names go-units knows.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Parses `NAME=SOFT[:HARD]` (HARD defaults to SOFT).
pub fn parse_ulimit(value: &str) -> Result<Ulimit, ValueError> {
    let fail = |reason: String| ValueError::InvalidUlimit {
        value: value.to_string(),
        reason,
    };
    let (name, limits) = value
        .split_once('=')
        .ok_or_else(|| fail(format!("invalid ulimit argument: {value}")))?;
    if !ULIMITS.contains(&name) {
        return Err(fail(format!("invalid ulimit type: {name}")));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    if parts.len() > 2 {
        return Err(fail(format!(
            "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
        )));
    }
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| fail(format!("invalid ulimit value: {text:?}")))
    };
    let soft = number(parts[0])?;
    let hard = parts.get(1).map(|h| number(h)).transpose()?.unwrap_or(soft);
    // -1 is unlimited: above every finite hard limit.
    if hard != -1 && (soft == -1 || soft > hard) {
        return Err(fail(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// A host device given to the container: `--device /dev/x[:/dev/y][:rwm]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    /// The host's device path.
    pub host_path: String,
    /// Its path inside the container (default: the same).
    pub container_path: String,
    /// Cgroup permissions, a subset of `rwm` (default `rwm`).
    pub permissions: String,
}

/// Parses `SRC[:DST][:PERMS]`.
pub fn parse_device(value: &str) -> Result<DeviceMapping, ValueError> {
    let fail = |reason: String| ValueError::InvalidDevice {
        value: value.to_string(),
        reason,
    };
    let parts: Vec<&str> = value.split(':').collect();
    let (src, dst, perms) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, mode] if valid_device_mode(mode) => (*src, *src, *mode),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(fail("invalid device specification".into())),
    };
    for path in [src, dst] {
        if !path.starts_with('/') {
            return Err(fail(format!("bad format for path: {path}")));
        }
    }
    if !valid_device_mode(perms) {
        return Err(fail(format!("invalid device mode: {perms}")));
    }
    Ok(DeviceMapping {
        host_path: src.to_string(),
        container_path: dst.to_string(),
        permissions: perms.to_string(),
    })
}

/// Docker's `validDeviceMode`: 1-3 of `r`, `w`, `m`, each at most once.
fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.len() <= 3
        && mode.chars().all(|c| "rwm".contains(c))
        && mode.chars().all(|c| mode.matches(c).count() == 1)
}

/// Parses `--sysctl NAME=VALUE`: only namespaced sysctls (IPC and network)
/// are allowed, as Docker allows them.
pub fn parse_sysctl(value: &str) -> Result<(String, String), ValueError> {
    let fail = |reason: String| ValueError::InvalidSysctl {
        value: value.to_string(),
        reason,
    };
    let (name, setting) = value
        .split_once('=')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| fail("must be NAME=VALUE".into()))?;
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let allowed = IPC.contains(&name) || name.starts_with("fs.mqueue.") || name.starts_with("net.");
    if !allowed {
        return Err(fail(format!("sysctl '{name}' is not allowed")));
    }
    Ok((name.to_string(), setting.to_string()))
}

/// The address of an `--add-host` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAddress {
    /// A literal address.
    Ip(IpAddr),
    /// `host-gateway`: the host's address on the container's network.
    HostGateway,
}

/// Parses `--add-host NAME:IP` or `NAME=IP` (IPv6 optionally in brackets).
pub fn parse_extra_host(value: &str) -> Result<(String, HostAddress), ValueError> {
    let fail = |reason: String| ValueError::InvalidExtraHost {
        value: value.to_string(),
        reason,
    };
    let (name, address) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| fail(format!("bad format for add-host: {value:?}")))?;
    if address == "host-gateway" {
        return Ok((name.to_string(), HostAddress::HostGateway));
    }
    let bare = address
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(address);
    let ip = bare
        .parse()
        .map_err(|_| fail(format!("invalid IP address in add-host: {bare:?}")))?;
    Ok((name.to_string(), HostAddress::Ip(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits() {
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 1024, 2048));
        assert_eq!(parse_ulimit("nproc=64").unwrap().hard, 64);
        assert_eq!(parse_ulimit("core=-1").unwrap().hard, -1);
        assert_eq!(parse_ulimit("memlock=1:-1").unwrap().hard, -1);
        let err = |v: &str| parse_ulimit(v).unwrap_err().to_string();
        assert_eq!(
            err("nofile"),
            "invalid --ulimit \"nofile\": invalid ulimit argument: nofile"
        );
        assert!(err("bogus=1").contains("invalid ulimit type: bogus"));
        assert!(err("nofile=1:2:3").contains("too many limit value arguments"));
        assert!(err("nofile=2048:1024").contains("2048 > 1024"));
        assert!(err("nofile=x").contains("invalid ulimit value"));
    }

    #[test]
    fn devices() {
        let d = parse_device("/dev/fuse").unwrap();
        assert_eq!(
            (
                d.host_path.as_str(),
                d.container_path.as_str(),
                d.permissions.as_str()
            ),
            ("/dev/fuse", "/dev/fuse", "rwm")
        );
        let d = parse_device("/dev/sda:/dev/xvda:r").unwrap();
        assert_eq!(
            (d.container_path.as_str(), d.permissions.as_str()),
            ("/dev/xvda", "r")
        );
        assert_eq!(parse_device("/dev/null:rw").unwrap().permissions, "rw");
        let err = |v: &str| parse_device(v).unwrap_err().to_string();
        assert!(err("/a:/b:/c:/d").contains("invalid device specification"));
        assert!(err("/dev/x:/dev/y:rwx").contains("invalid device mode: rwx"));
        assert!(err("/dev/x:/dev/y:rr").contains("invalid device mode"));
        assert!(err("dev/x").contains("bad format for path: dev/x"));
    }

    #[test]
    fn sysctls_and_hosts() {
        assert_eq!(
            parse_sysctl("net.ipv4.ip_forward=1").unwrap(),
            ("net.ipv4.ip_forward".into(), "1".into())
        );
        assert!(parse_sysctl("kernel.shmmax=1").is_ok());
        assert!(parse_sysctl("kernel.hostname=x")
            .unwrap_err()
            .to_string()
            .contains("sysctl 'kernel.hostname' is not allowed"));
        assert!(parse_sysctl("net.x").is_err());
        let (name, ip) = parse_extra_host("db:10.0.0.2").unwrap();
        assert_eq!(
            (name.as_str(), ip),
            ("db", HostAddress::Ip("10.0.0.2".parse().unwrap()))
        );
        let (_, ip) = parse_extra_host("v6=[::1]").unwrap();
        assert_eq!(ip, HostAddress::Ip("::1".parse().unwrap()));
        assert_eq!(
            parse_extra_host("gw:host-gateway").unwrap().1,
            HostAddress::HostGateway
        );
        assert!(parse_extra_host("db:999.1.1.1")
            .unwrap_err()
            .to_string()
            .contains("invalid IP address in add-host"));
        assert!(parse_extra_host(":1.2.3.4")
            .unwrap_err()
            .to_string()
            .contains("bad format"));
    }
}
