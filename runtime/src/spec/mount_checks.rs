//! Up-front checks of user mounts (`-v`, `--mount`, `--tmpfs`, a build's
//! `RUN --mount`), so a bad flag is a one-line error naming the flag and the
//! value instead of a runtime's "failed to prepare rootfs".
//!
//! Docker is the reference: the destination `/` is refused (`destination
//! can't be '/'`), tmpfs options are the kernel's tmpfs options plus the
//! generic mount flags (Docker passes them on; a wrong one failed only in the
//! runtime), a volume mode may not hold both `ro` and `rw` (`invalid mode`).
//! `/dev`, `/proc` and `/sys` cannot take a `--tmpfs`: the runtime mounts them
//! (Docker replaces its own `/dev` there, which leaves no device nodes).

use std::path::Path;

use super::{resolve_in_rootfs, MountSpec, SpecError};

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

fn invalid(flag: &str, value: &str, reason: impl Into<String>) -> SpecError {
    SpecError::InvalidFlag {
        flag: flag.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks a mount destination given with `flag` (`-v`, `--tmpfs`, …).
pub fn check_destination(flag: &str, value: &str, destination: &str) -> Result<(), SpecError> {
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

/// Checks a `--tmpfs DEST[:OPTIONS]` (or `--mount type=tmpfs`) mount.
pub fn check_tmpfs(value: &str, destination: &str, options: &[String]) -> Result<(), SpecError> {
    check_destination("--tmpfs", value, destination)?;
    let clean = destination.trim_end_matches('/');
    if ["/dev", "/proc", "/sys"].contains(&clean) {
        return Err(invalid(
            "--tmpfs",
            value,
            format!("{clean} is mounted by the runtime itself and cannot be a tmpfs"),
        ));
    }
    for option in options {
        check_tmpfs_option(option).map_err(|reason| invalid("--tmpfs", value, reason))?;
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

/// Checks a `-v` mode list (`ro`, `rw`, `z`, propagation, `nocopy`): known
/// words, and not both `ro` and `rw` (Docker: `invalid mode`).
pub fn check_volume_modes(value: &str, modes: &[String]) -> Result<(), SpecError> {
    const KNOWN: &[&str] = &[
        "ro", "rw", "z", "Z", "nocopy", "rprivate", "private", "rshared", "shared", "rslave",
        "slave",
    ];
    if let Some(bad) = modes.iter().find(|m| !KNOWN.contains(&m.as_str())) {
        return Err(invalid("-v", value, format!("invalid mode: {bad}")));
    }
    let has = |w: &str| modes.iter().any(|m| m == w);
    if has("ro") && has("rw") {
        return Err(invalid(
            "-v",
            value,
            format!("invalid mode: {}", modes.join(",")),
        ));
    }
    Ok(())
}

/// Rewrites each mount's destination to where it resolves inside `rootfs`
/// (symlinks followed chroot-style), so that no runtime meets a symlink on
/// the way and a destination through a dangling link is created inside the
/// root filesystem, where runc creates it.
pub fn resolve_destinations(rootfs: &Path, mounts: &mut [MountSpec]) -> Result<(), SpecError> {
    for mount in mounts {
        let resolved = resolve_in_rootfs(rootfs, mount.destination())?;
        let inside = resolved.strip_prefix(rootfs).unwrap_or(&resolved);
        let new = format!("/{}", inside.to_string_lossy());
        match mount {
            MountSpec::Bind { destination, .. } | MountSpec::Tmpfs { destination, .. } => {
                *destination = new
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tmpfs_options_and_destinations() {
        assert!(check_tmpfs(
            "/x:size=64m,mode=1777",
            "/x",
            &opts(&["size=64m", "mode=1777"])
        )
        .is_ok());
        assert!(check_tmpfs("/x:noexec", "/x", &opts(&["noexec"])).is_ok());
        let err = |d: &str, o: &[&str]| check_tmpfs("V", d, &opts(o)).unwrap_err().to_string();
        assert_eq!(
            err("/x", &["size=-1"]),
            "invalid --tmpfs \"V\": invalid value for tmpfs option size: \"-1\""
        );
        assert!(err("/x", &["bogusopt"]).contains("unknown tmpfs option \"bogusopt\""));
        assert!(err("/", &[]).contains("destination can't be '/'"));
        assert!(err("/dev", &[]).contains("/dev is mounted by the runtime"));
        assert!(err("/x", &["mode=99"]).contains("mode"));
        assert!(err("rel", &[]).contains("absolute"));
    }

    #[test]
    fn volume_modes_conflict() {
        assert!(check_volume_modes("a:/x:ro", &opts(&["ro"])).is_ok());
        let e = check_volume_modes("a:/x:ro,rw", &opts(&["ro", "rw"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid -v \"a:/x:ro,rw\": invalid mode: ro,rw"
        );
    }

    #[test]
    fn destinations_resolve_inside_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexist", dir.path().join("dangling")).unwrap();
        let mut mounts = vec![MountSpec::Tmpfs {
            destination: "/dangling/x".into(),
            options: vec![],
        }];
        resolve_destinations(dir.path(), &mut mounts).unwrap();
        assert_eq!(mounts[0].destination(), "/nonexist/x");
    }
}
