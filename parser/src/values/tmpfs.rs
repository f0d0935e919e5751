//! `--tmpfs DEST[:OPTIONS]`, the options of a tmpfs mount (also
//! `--mount type=tmpfs`), and the destination rule shared by every mount.
//!
//! Docker is the reference: the destination `/` is refused (`destination
//! can't be '/'`); tmpfs options are the kernel's tmpfs options plus the
//! generic mount flags (Docker passes them on; a wrong one failed only in the
//! runtime, kiln refuses it up front). `/dev`, `/proc` and `/sys` cannot take
//! a tmpfs: the runtime mounts them (Docker replaces its own `/dev` there,
//! which leaves no device nodes).

use super::mount::{MountKind, MountRequest};
use super::ValueError;

/// Mount flags a tmpfs may carry (no value).
const TMPFS_FLAGS: &[&str] = &[
    "ro",
    "rw",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "sync",
    "async",
    "dirsync",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "tmpcopyup",
    "notmpcopyup",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

pub(crate) fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> ValueError {
    ValueError::Invalid {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks a mount destination given with `flag` in `value`: absolute, not `/`.
pub fn check_destination(
    flag: &'static str,
    value: &str,
    destination: &str,
) -> Result<(), ValueError> {
    if !destination.starts_with('/') {
        return Err(invalid(flag, value, "the container path must be absolute"));
    }
    if destination.split('/').all(|c| c.is_empty() || c == ".") {
        return Err(invalid(
            flag,
            value,
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(())
}

/// Parses `--tmpfs DEST[:OPTIONS]` (options comma-separated).
pub fn parse_tmpfs(value: &str) -> Result<MountRequest, ValueError> {
    let (target, options) = value.split_once(':').unwrap_or((value, ""));
    let options: Vec<String> = options
        .split(',')
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    check_tmpfs("--tmpfs", value, target, &options)?;
    Ok(MountRequest {
        target: target.to_string(),
        read_only: false,
        mode: options.join(","),
        kind: MountKind::Tmpfs { options },
    })
}

/// Checks a tmpfs mount given with `flag` in `value`.
pub fn check_tmpfs(
    flag: &'static str,
    value: &str,
    destination: &str,
    options: &[String],
) -> Result<(), ValueError> {
    check_destination(flag, value, destination)?;
    let clean = destination.trim_end_matches('/');
    if ["/dev", "/proc", "/sys"].contains(&clean) {
        return Err(invalid(
            flag,
            value,
            format!("{clean} is mounted by the runtime itself and cannot be a tmpfs"),
        ));
    }
    for option in options {
        check_tmpfs_option(option).map_err(|reason| invalid(flag, value, reason))?;
    }
    Ok(())
}

fn check_tmpfs_option(option: &str) -> Result<(), String> {
    let Some((key, val)) = option.split_once('=') else {
        return if TMPFS_FLAGS.contains(&option) {
            Ok(())
        } else {
            Err(format!("unknown tmpfs option {option:?}"))
        };
    };
    let number = |text: &str, suffixes: &str| {
        let digits = text.trim_end_matches(|c: char| suffixes.contains(c));
        !digits.is_empty() && digits.len() + 1 >= text.len() && digits.parse::<u64>().is_ok()
    };
    let ok = match key {
        "size" => number(val, "kKmMgGtTpPeE%"),
        "nr_blocks" | "nr_inodes" => number(val, "kKmMgGtTpPeE"),
        "mode" => u32::from_str_radix(val, 8).is_ok_and(|m| m <= 0o7777),
        "uid" | "gid" => val.parse::<u32>().is_ok(),
        "huge" => ["never", "always", "within_size", "advise", "deny", "force"].contains(&val),
        "mpol" => !val.is_empty(),
        _ => return Err(format!("unknown tmpfs option {key:?}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value for tmpfs option {key}: {val:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_flags() {
        let m = parse_tmpfs("/x:size=64m,mode=1777").unwrap();
        assert_eq!(m.target, "/x");
        assert_eq!(
            m.kind,
            MountKind::Tmpfs {
                options: vec!["size=64m".into(), "mode=1777".into()]
            }
        );
        assert!(parse_tmpfs("/x:noexec").is_ok());
        assert!(parse_tmpfs("/x").is_ok());
        let err = |v: &str| parse_tmpfs(v).unwrap_err().to_string();
        assert_eq!(
            err("/x:size=-1"),
            "invalid --tmpfs \"/x:size=-1\": invalid value for tmpfs option size: \"-1\""
        );
        assert!(err("/x:bogusopt").contains("unknown tmpfs option \"bogusopt\""));
        assert!(err("/").contains("destination can't be '/'"));
        assert!(err("/dev").contains("/dev is mounted by the runtime"));
        assert!(err("/x:mode=99").contains("mode"));
        assert!(err("rel").contains("absolute"));
    }
}
