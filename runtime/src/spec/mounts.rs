//! The container's mount table: Docker's default filesystems, then the
//! user's binds and tmpfs mounts (which replace a default at the same path).

use std::path::PathBuf;

use oci_spec::runtime::{Mount, MountBuilder};

use super::{MountSpec, SpecError};

/// Options Docker gives every `--tmpfs` mount before the user's own.
const TMPFS_DEFAULTS: [&str; 4] = ["rw", "nosuid", "nodev", "noexec"];

/// Docker's default mounts. Privileged containers get /sys and
/// /sys/fs/cgroup read-write (Docker clears `ro` on both).
fn default_mounts(
    privileged: bool,
) -> Vec<(&'static str, &'static str, &'static str, Vec<&'static str>)> {
    let sys_mode = if privileged { "rw" } else { "ro" };
    vec![
        ("/proc", "proc", "proc", vec!["nosuid", "noexec", "nodev"]),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            vec!["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            vec![
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            vec!["nosuid", "noexec", "nodev", sys_mode],
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            vec!["nosuid", "noexec", "nodev", "relatime", sys_mode],
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            vec!["nosuid", "noexec", "nodev"],
        ),
        (
            "/dev/shm",
            "tmpfs",
            "shm",
            vec!["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
    ]
}

/// The full mount list: defaults (minus those a user mount replaces by
/// destination), then the user mounts in the order given.
pub fn build_mounts(user: &[MountSpec], privileged: bool) -> Result<Vec<Mount>, SpecError> {
    let user_dests: Vec<String> = user
        .iter()
        .map(|m| clean_destination(m.destination()))
        .collect::<Result<_, _>>()?;
    let mut mounts = Vec::new();
    for (dest, typ, source, options) in default_mounts(privileged) {
        if user_dests.iter().any(|d| d == dest) {
            continue;
        }
        mounts.push(mount(dest, typ, PathBuf::from(source), strings(&options))?);
    }
    for (spec, dest) in user.iter().zip(user_dests) {
        mounts.push(user_mount(spec, &dest)?);
    }
    Ok(mounts)
}

fn user_mount(spec: &MountSpec, dest: &str) -> Result<Mount, SpecError> {
    match spec {
        MountSpec::Bind {
            source, read_only, ..
        } => {
            let mode = if *read_only { "ro" } else { "rw" };
            let options = strings(&["rbind", "rprivate", mode]);
            mount(dest, "bind", source.clone(), options)
        }
        MountSpec::Tmpfs { options, .. } => mount(
            dest,
            "tmpfs",
            PathBuf::from("tmpfs"),
            tmpfs_options(options),
        ),
    }
}

/// Docker's `--tmpfs` option merge: the defaults `rw,nosuid,nodev,noexec`,
/// where a user flag replaces its opposite (`exec` replaces `noexec`, `ro`
/// replaces `rw`, ...) and `key=value` replaces an earlier value of `key`.
pub fn tmpfs_options(user: &[String]) -> Vec<String> {
    let mut out = strings(&TMPFS_DEFAULTS);
    for opt in user.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        let key = opt.split_once('=').map_or(opt, |(k, _)| k);
        let family = flag_family(key);
        let pos = out.iter().position(|o| {
            let k = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
            k == key || (family.is_some() && flag_family(k) == family)
        });
        match pos {
            Some(i) => out[i] = opt.to_owned(),
            None => out.push(opt.to_owned()),
        }
    }
    out
}

/// Which boolean mount flag a word sets (both polarities share a family).
fn flag_family(word: &str) -> Option<&'static str> {
    match word {
        "rw" | "ro" => Some("ro"),
        "suid" | "nosuid" => Some("suid"),
        "dev" | "nodev" => Some("dev"),
        "exec" | "noexec" => Some("exec"),
        "atime" | "noatime" => Some("atime"),
        "diratime" | "nodiratime" => Some("diratime"),
        _ => None,
    }
}

/// Destinations must be absolute; `.`/`..`/duplicate slashes are normalised
/// lexically (`..` cannot climb above `/`).
fn clean_destination(dest: &str) -> Result<String, SpecError> {
    if !dest.starts_with('/') {
        return Err(SpecError::InvalidMountDestination(dest.to_owned()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in dest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

fn mount(dest: &str, typ: &str, source: PathBuf, options: Vec<String>) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options)
        .build()?)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_normalised() {
        assert_eq!(clean_destination("/a//b/./c/..").unwrap(), "/a/b");
        assert_eq!(clean_destination("/../x").unwrap(), "/x");
        assert!(clean_destination("rel").is_err());
    }
}
