//! `--security-opt` and Compose's `security_opt:` (moby's
//! `parseSecurityOpt`): `no-new-privileges[=BOOL]`, `seccomp=unconfined|FILE`,
//! `apparmor=PROFILE`, `label=...` — `=` or the legacy `:` between key and
//! value.
//!
//! Choices: kiln has no AppArmor or SELinux support, so `apparmor=` and
//! `label=` are accepted and recorded but change nothing (Docker on a host
//! without them does the same); other keys (`systempaths=`,
//! `writable-cgroups=`) are refused.

use std::path::PathBuf;

use super::go::parse_go_bool;
use super::ValueError;

/// Which seccomp profile a container runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SeccompProfile {
    /// Docker's default profile.
    #[default]
    Default,
    /// No filter (`seccomp=unconfined`).
    Unconfined,
    /// A Docker-format profile file (read by the runtime).
    File(PathBuf),
}

/// One `--security-opt` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    /// `no-new-privileges[=BOOL]`.
    NoNewPrivileges(bool),
    /// `seccomp=...`.
    Seccomp(SeccompProfile),
    /// `apparmor=PROFILE`.
    AppArmor(String),
    /// `label=...` (SELinux: `user:`, `role:`, `type:`, `level:`, `disable`).
    Label(String),
}

/// Parses one `--security-opt` value.
pub fn parse_security_opt(value: &str) -> Result<SecurityOpt, ValueError> {
    let invalid = || ValueError::InvalidSecurityOpt {
        value: value.to_string(),
    };
    let (key, setting) = value.split_once(['=', ':']).unwrap_or((value, ""));
    Ok(match (key, setting) {
        ("no-new-privileges", "") => SecurityOpt::NoNewPrivileges(true),
        ("no-new-privileges", b) => {
            SecurityOpt::NoNewPrivileges(parse_go_bool(b).ok_or_else(invalid)?)
        }
        ("seccomp", "unconfined") => SecurityOpt::Seccomp(SeccompProfile::Unconfined),
        ("seccomp", path) if !path.is_empty() => {
            SecurityOpt::Seccomp(SeccompProfile::File(PathBuf::from(path)))
        }
        ("apparmor", profile) => SecurityOpt::AppArmor(profile.to_string()),
        ("label", label) => SecurityOpt::Label(label.to_string()),
        _ => return Err(invalid()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_options() {
        let p = |v: &str| parse_security_opt(v).unwrap();
        assert_eq!(p("no-new-privileges"), SecurityOpt::NoNewPrivileges(true));
        assert_eq!(
            p("no-new-privileges:false"),
            SecurityOpt::NoNewPrivileges(false)
        );
        assert_eq!(
            p("no-new-privileges=true"),
            SecurityOpt::NoNewPrivileges(true)
        );
        assert_eq!(
            p("seccomp=unconfined"),
            SecurityOpt::Seccomp(SeccompProfile::Unconfined)
        );
        assert_eq!(
            p("seccomp:/etc/p.json"),
            SecurityOpt::Seccomp(SeccompProfile::File("/etc/p.json".into()))
        );
        assert_eq!(p("label=disable"), SecurityOpt::Label("disable".into()));
        assert_eq!(
            p("apparmor=unconfined"),
            SecurityOpt::AppArmor("unconfined".into())
        );
        assert_eq!(
            parse_security_opt("bogus").unwrap_err().to_string(),
            "invalid --security-opt: \"bogus\""
        );
        assert!(parse_security_opt("seccomp=").is_err());
        assert!(parse_security_opt("no-new-privileges=maybe").is_err());
    }
}
