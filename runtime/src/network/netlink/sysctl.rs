//! Sysctls under `/proc/sys/`, written only when their value differs (a
//! write is not free: `route_localnet`, `forwarding` and friends walk
//! devices in the kernel) and never set back by kiln.

use std::io;
use std::path::PathBuf;

use super::error::NetlinkError;

/// Writes `value` to `/proc/sys/<key>` unless it already reads so. The key
/// is a `/`-separated path of plain components (no `..`, no empty one), so
/// it cannot leave `/proc/sys/`. `/proc/sys/net` is the calling thread's
/// network namespace's.
pub(super) fn set_sysctl(key: &str, value: &str) -> Result<(), NetlinkError> {
    let error = |source: io::Error| NetlinkError::Sysctl {
        key: key.to_string(),
        source,
    };
    let path = sysctl_path(key).map_err(error)?;
    let current = std::fs::read_to_string(&path).map_err(error)?;
    if current.trim() == value.trim() {
        return Ok(());
    }
    std::fs::write(&path, value.as_bytes()).map_err(error)
}

/// `/proc/sys/<key>` for a well-formed key.
fn sysctl_path(key: &str) -> io::Result<PathBuf> {
    let valid = !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\0'));
    if !valid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a sysctl key (a/b/c with no empty, '.' or '..' part)",
        ));
    }
    Ok(PathBuf::from("/proc/sys").join(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_proc_sys() {
        assert_eq!(
            sysctl_path("net/ipv4/ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        for bad in [
            "",
            "/net/ipv4",
            "net//x",
            "net/../../etc/passwd",
            "net/./x",
            "net/",
        ] {
            assert!(sysctl_path(bad).is_err(), "{bad:?} accepted");
        }
    }
}
