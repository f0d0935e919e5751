//! Seccomp: Docker-format profiles (the embedded default, or a user file)
//! turned into the OCI `linux.seccomp` section for a given capability set,
//! with moby's rules for `includes`/`excludes` (caps, arches, minKernel).

use std::path::Path;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

use super::SpecError;

/// kiln's default profile: Docker's default policy written in Docker's format.
const DEFAULT_PROFILE: &str = include_str!("default_seccomp.json");

/// A seccomp profile in Docker's JSON format (the subset runtimes act on).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: LinuxSeccompAction,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    syscalls: Option<Vec<Rule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// The built-in default profile resolved for `caps` (final capability names,
/// `CAP_` prefixed) on this machine's architecture and kernel.
pub fn default_seccomp(caps: &[String]) -> Result<LinuxSeccomp, SpecError> {
    resolve_profile(DEFAULT_PROFILE, Path::new("<builtin>"), caps)
}

/// A Docker-format profile read from `path`, resolved for `caps`.
pub fn seccomp_from_file(path: &Path, caps: &[String]) -> Result<LinuxSeccomp, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::io(path, e))?;
    resolve_profile(&text, path, caps)
}

fn resolve_profile(text: &str, path: &Path, caps: &[String]) -> Result<LinuxSeccomp, SpecError> {
    let bad = |reason: String| SpecError::SeccompProfile {
        path: path.to_owned(),
        reason,
    };
    let profile: Profile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let arch_names = architectures(&profile).map_err(bad)?;
    let arches = arch_names
        .iter()
        .map(|a| parse_arch(a))
        .collect::<Result<Vec<Arch>, String>>()
        .map_err(bad)?;
    let kernel = kernel_version();
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for rule in profile.syscalls.unwrap_or_default() {
        if !applies(&rule, caps, kernel) {
            continue;
        }
        let mut names = rule.names.clone().unwrap_or_default();
        names.extend(rule.name.clone());
        if names.is_empty() {
            continue;
        }
        let mut b = LinuxSyscallBuilder::default()
            .names(names)
            .action(rule.action);
        if let Some(errno) = rule.errno_ret {
            b = b.errno_ret(errno);
        }
        if let Some(args) = rule.args.filter(|a| !a.is_empty()) {
            b = b.args(args);
        }
        syscalls.push(b.build()?);
    }
    let mut b = LinuxSeccompBuilder::default()
        .default_action(profile.default_action)
        .syscalls(syscalls);
    if let Some(errno) = profile.default_errno_ret {
        b = b.default_errno_ret(errno);
    }
    if !arches.is_empty() {
        b = b.architectures(arches);
    }
    if let Some(flags) = profile.flags.filter(|f| !f.is_empty()) {
        b = b.flags(flags);
    }
    Ok(b.build()?)
}

/// moby's rule: explicit `architectures`, or the `archMap` entry of the
/// native architecture with its sub-architectures (not both).
fn architectures(profile: &Profile) -> Result<Vec<String>, String> {
    let explicit = profile.architectures.clone().unwrap_or_default();
    let map = profile.arch_map.as_deref().unwrap_or_default();
    if !explicit.is_empty() && !map.is_empty() {
        return Err("'architectures' and 'archMap' are mutually exclusive".to_owned());
    }
    let mut out = explicit;
    let native = native_seccomp_arch();
    for entry in map
        .iter()
        .filter(|e| Some(e.architecture.as_str()) == native)
    {
        out.push(entry.architecture.clone());
        out.extend(entry.sub_architectures.clone().unwrap_or_default());
    }
    Ok(out)
}

fn parse_arch(name: &str) -> Result<Arch, String> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| format!("unknown architecture {name:?}"))
}

/// Whether a rule is kept for this capability set, arch and kernel.
fn applies(rule: &Rule, caps: &[String], kernel: Option<(u32, u32)>) -> bool {
    let arch = native_go_arch();
    let has_cap = |c: &String| caps.contains(c);
    if let Some(ex) = &rule.excludes {
        if ex.caps.iter().flatten().any(has_cap) {
            return false;
        }
        if ex.arches.iter().flatten().any(|a| a == arch) {
            return false;
        }
    }
    if let Some(inc) = &rule.includes {
        if !inc.caps.iter().flatten().all(has_cap) {
            return false;
        }
        if let Some(arches) = inc.arches.as_ref().filter(|a| !a.is_empty()) {
            if !arches.iter().any(|a| a == arch) {
                return false;
            }
        }
        if let (Some(min), Some(have)) = (inc.min_kernel.as_deref(), kernel) {
            match parse_version(min) {
                Some(min) if have < min => return false,
                _ => {}
            }
        }
    }
    true
}

/// The architecture name Docker profiles use in `includes.arches` (Go's GOARCH).
fn native_go_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "x86") {
        "386"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else if cfg!(target_arch = "s390x") {
        "s390x"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "ppc64le"
    } else {
        "unknown"
    }
}

/// The seccomp name of the native architecture, as used in `archMap`.
fn native_seccomp_arch() -> Option<&'static str> {
    match native_go_arch() {
        "amd64" => Some("SCMP_ARCH_X86_64"),
        "arm64" => Some("SCMP_ARCH_AARCH64"),
        "386" => Some("SCMP_ARCH_X86"),
        "arm" => Some("SCMP_ARCH_ARM"),
        "riscv64" => Some("SCMP_ARCH_RISCV64"),
        "s390x" => Some("SCMP_ARCH_S390X"),
        "ppc64le" => Some("SCMP_ARCH_PPC64LE"),
        _ => None,
    }
}

/// The running kernel's major.minor, from uname(2); None if unparsable
/// (then minKernel conditions are treated as met, as for a modern kernel).
fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: utsname is plain old data; uname fills it or fails.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname owned by this frame.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    parse_version(&String::from_utf8_lossy(&bytes))
}

/// "6.1.0-13-amd64" -> (6, 1).
pub(crate) fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_version("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(parse_version("4.8"), Some((4, 8)));
        assert_eq!(parse_version("5"), Some((5, 0)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn min_kernel_gates_a_rule() {
        let rule: Rule = serde_json::from_str(
            r#"{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}}"#,
        )
        .unwrap();
        assert!(applies(&rule, &[], Some((6, 1))));
        assert!(!applies(&rule, &[], Some((4, 4))));
    }
}
