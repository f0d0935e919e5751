//! The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf that
//! Docker bind-mounts over the image's own.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{MountSpec, NetworkMode, SpecError};

/// Docker's fallback nameservers when the host has only loopback ones.
const FALLBACK_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// Writes `hostname`, `hosts` and `resolv.conf` into `dir` and returns the
/// bind mounts (read-write, as Docker) onto /etc/hostname, /etc/hosts and
/// /etc/resolv.conf.
///
/// hosts: the localhost lines plus `127.0.1.1 <hostname>` for private
/// networks; with [`NetworkMode::Host`] a copy of the host's /etc/hosts.
/// resolv.conf: Host gets the host's file verbatim; Join gets it without
/// loopback nameservers (unreachable from another netns), falling back to
/// Docker's 8.8.8.8/8.8.4.4; None keeps only search/options lines.
pub fn etc_files(
    dir: &Path,
    hostname: &str,
    network: &NetworkMode,
) -> Result<Vec<MountSpec>, SpecError> {
    etc_files_from(dir, hostname, network, Path::new("/etc"))
}

/// [`etc_files`] with the host's /etc taken from `host_etc` (for tests).
pub(crate) fn etc_files_from(
    dir: &Path,
    hostname: &str,
    network: &NetworkMode,
    host_etc: &Path,
) -> Result<Vec<MountSpec>, SpecError> {
    super::validate_hostname(hostname)?;
    std::fs::create_dir_all(dir).map_err(|e| SpecError::io(dir, e))?;
    let hosts = match network {
        NetworkMode::Host => read_or_empty(&host_etc.join("hosts"))?,
        _ => private_hosts(hostname),
    };
    let resolv = resolv_conf(&read_or_empty(&host_etc.join("resolv.conf"))?, network);
    let files = [
        ("hostname", format!("{hostname}\n"), "/etc/hostname"),
        ("hosts", hosts, "/etc/hosts"),
        ("resolv.conf", resolv, "/etc/resolv.conf"),
    ];
    let mut mounts = Vec::new();
    for (name, content, destination) in files {
        let path = dir.join(name);
        write_atomic(&path, content.as_bytes())?;
        mounts.push(MountSpec::Bind {
            source: path,
            destination: destination.to_owned(),
            read_only: false,
        });
    }
    Ok(mounts)
}

fn private_hosts(hostname: &str) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    if !hostname.is_empty() {
        s.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    s
}

fn resolv_conf(host: &str, network: &NetworkMode) -> String {
    match network {
        NetworkMode::Host => host.to_owned(),
        NetworkMode::None => host
            .lines()
            .filter(|l| !is_nameserver(l))
            .map(|l| format!("{l}\n"))
            .collect(),
        NetworkMode::Join(_) => {
            let mut out = String::new();
            let mut servers = 0;
            for line in host.lines() {
                if is_nameserver(line) {
                    if is_loopback_nameserver(line) {
                        continue;
                    }
                    servers += 1;
                }
                out.push_str(line);
                out.push('\n');
            }
            if servers == 0 {
                for ns in FALLBACK_NAMESERVERS {
                    out.push_str(&format!("nameserver {ns}\n"));
                }
            }
            out
        }
    }
}

fn is_nameserver(line: &str) -> bool {
    line.split_whitespace().next() == Some("nameserver")
}

fn is_loopback_nameserver(line: &str) -> bool {
    match line.split_whitespace().nth(1) {
        Some(addr) => addr.starts_with("127.") || addr == "::1",
        None => true,
    }
}

fn read_or_empty(path: &Path) -> Result<String, SpecError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(SpecError::io(path, e)),
    }
}

/// Temp file in the same directory, then rename (not fsync'd: these files
/// are only read by the container's processes, which a power loss ends).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SpecError> {
    let tmp: PathBuf = path.with_extension("kiln-tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| SpecError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| SpecError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SpecError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_etc() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("hosts"), "10.0.0.1 hosty\n").unwrap();
        std::fs::write(
            d.path().join("resolv.conf"),
            "search example.com\nnameserver 127.0.0.53\noptions edns0\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn host_mode_copies_the_host_files() {
        let etc = host_etc();
        let out = tempfile::tempdir().unwrap();
        etc_files_from(out.path(), "h", &NetworkMode::Host, etc.path()).unwrap();
        let hosts = std::fs::read_to_string(out.path().join("hosts")).unwrap();
        assert_eq!(hosts, "10.0.0.1 hosty\n");
        let resolv = std::fs::read_to_string(out.path().join("resolv.conf")).unwrap();
        assert!(resolv.contains("nameserver 127.0.0.53"));
    }

    #[test]
    fn private_netns_drops_loopback_dns_and_falls_back() {
        let etc = host_etc();
        let out = tempfile::tempdir().unwrap();
        let net = NetworkMode::Join("/run/netns/x".into());
        etc_files_from(out.path(), "h", &net, etc.path()).unwrap();
        let resolv = std::fs::read_to_string(out.path().join("resolv.conf")).unwrap();
        assert_eq!(
            resolv,
            "search example.com\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }

    #[test]
    fn no_network_has_no_nameservers() {
        let etc = host_etc();
        let out = tempfile::tempdir().unwrap();
        etc_files_from(out.path(), "h", &NetworkMode::None, etc.path()).unwrap();
        let resolv = std::fs::read_to_string(out.path().join("resolv.conf")).unwrap();
        assert_eq!(resolv, "search example.com\noptions edns0\n");
    }
}
