//! [`Platform`]: the os/architecture/variant an image runs on.
//!
//! Parsing and normalisation follow containerd's `platforms` package, which is
//! what Docker and BuildKit use for `--platform`: names are lowercased, and
//! aliases collapse to the Go names (`x86_64` -> `amd64`, `aarch64` -> `arm64`,
//! `armhf` -> `arm/v7`, `arm64/v8` -> `arm64`). A single component is an OS if it
//! is a known one (`linux`), otherwise an architecture on the host OS.

use std::fmt;
use std::str::FromStr;

use crate::error::{ImageError, Result};

/// Operating systems recognised when a platform string has a single component.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
];

/// A normalised target platform such as `linux/arm/v7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// Operating system in Go's naming (`linux`, `windows`, ...).
    pub os: String,
    /// Architecture in Go's naming (`amd64`, `arm64`, `arm`, `386`, ...).
    pub architecture: String,
    /// CPU variant (`v7` for arm), `None` when the architecture has no default.
    pub variant: Option<String>,
}

impl Platform {
    /// Builds a platform from its parts and normalises it.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let (architecture, variant) = normalize_arch(architecture, variant.unwrap_or(""));
        Platform {
            os: normalize_os(os),
            architecture,
            variant,
        }
    }

    /// The platform this process runs on (what images default to).
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86" => "386",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        };
        Platform::new(std::env::consts::OS, arch, None)
    }

    /// Whether an image built for `other` (as written in a manifest list) runs
    /// here: both sides are compared after normalisation, so `linux/arm64/v8`
    /// in an index matches a host `linux/arm64`.
    pub fn matches(&self, other: &Platform) -> bool {
        let other = Platform::new(&other.os, &other.architecture, other.variant.as_deref());
        let me = Platform::new(&self.os, &self.architecture, self.variant.as_deref());
        me == other
    }

    /// Converts into oci-spec's platform (for descriptors and image configs).
    pub fn to_oci(&self) -> oci_spec::image::Platform {
        let mut p = oci_spec::image::Platform::default();
        p.set_os(self.os.as_str().into());
        p.set_architecture(self.architecture.as_str().into());
        p.set_variant(self.variant.clone());
        p
    }

    /// Reads oci-spec's platform, normalising it.
    pub fn from_oci(p: &oci_spec::image::Platform) -> Platform {
        let (os, arch) = (p.os().to_string(), p.architecture().to_string());
        Platform::new(&os, &arch, p.variant().as_deref())
    }
}

/// Lowercases an OS name and maps aliases.
fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    match os.as_str() {
        "macos" => "darwin".to_string(),
        _ => os,
    }
}

/// Maps architecture aliases to Go names and fills/drops default variants,
/// as containerd's `normalizeArch` does.
fn normalize_arch(arch: &str, variant: &str) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    let (arch, variant): (&str, &str) = match (arch.as_str(), variant.as_str()) {
        ("i386" | "i686" | "x86" | "386", _) => ("386", ""),
        ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
        ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
        ("aarch64" | "arm64", v) => ("arm64", v),
        ("armhf", _) => ("arm", "v7"),
        ("armel", _) => ("arm", "v6"),
        ("arm", "" | "7") => ("arm", "v7"),
        ("arm", "5") => ("arm", "v5"),
        ("arm", "6") => ("arm", "v6"),
        ("arm", "8") => ("arm", "v8"),
        (a, v) => (a, v),
    };
    let variant = (!variant.is_empty()).then(|| variant.to_string());
    (arch.to_string(), variant)
}

/// Whether a platform component is well formed (containerd's `[A-Za-z0-9_-]+`,
/// plus `.` for variants such as `v8.0`).
fn valid_component(c: &str) -> bool {
    !c.is_empty()
        && c.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl FromStr for Platform {
    type Err = ImageError;

    /// Parses `os`, `arch`, `os/arch` or `os/arch/variant`, then normalises.
    fn from_str(s: &str) -> Result<Platform> {
        let invalid = |reason: &str| ImageError::InvalidPlatform {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if let Some(bad) = parts.iter().find(|c| !valid_component(c)) {
            return Err(invalid(&format!(
                "component {bad:?} must be non-empty letters, digits, '_', '-' or '.'"
            )));
        }
        match parts.as_slice() {
            [one] if KNOWN_OS.contains(&one.to_ascii_lowercase().as_str()) => {
                let host = Platform::host();
                Ok(Platform::new(
                    one,
                    &host.architecture,
                    host.variant.as_deref(),
                ))
            }
            [arch] => Ok(Platform::new(&Platform::host().os, arch, None)),
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(invalid("expected os[/arch[/variant]]")),
        }
    }
}

impl fmt::Display for Platform {
    /// `os/arch[/variant]`, the form `--platform` accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        s.parse::<Platform>().unwrap().to_string()
    }

    #[test]
    fn parses_and_normalises() {
        let table = [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/x86-64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/v9", "linux/arm64/v9"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/arm/v5", "linux/arm/v5"),
            ("linux/i386", "linux/386"),
            ("Linux/AMD64", "linux/amd64"),
            ("linux/riscv64", "linux/riscv64"),
            ("linux/s390x", "linux/s390x"),
            ("windows/amd64", "windows/amd64"),
            ("macos/arm64", "darwin/arm64"),
            ("aarch64", &format!("{}/arm64", Platform::host().os)),
        ];
        for (input, want) in table {
            assert_eq!(p(input), want, "{input}");
        }
    }

    #[test]
    fn single_os_component() {
        assert_eq!("linux".parse::<Platform>().unwrap(), Platform::host());
        let w: Platform = "windows".parse().unwrap();
        assert_eq!(w.os, "windows");
        assert_eq!(w.architecture, Platform::host().architecture);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "/",
            "linux/",
            "/amd64",
            "linux/amd64/v7/x",
            "linux/am d64",
            "a//b",
        ] {
            let err = bad.parse::<Platform>().unwrap_err().to_string();
            assert!(err.starts_with("invalid platform"), "{bad}: {err}");
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn host_is_normalised() {
        let h = Platform::host();
        assert_eq!(h.to_string().parse::<Platform>().unwrap(), h);
        assert!(!h.architecture.is_empty() && h.architecture != "x86_64");
    }

    #[test]
    fn matching_normalises_both_sides() {
        let host: Platform = "linux/arm64".parse().unwrap();
        let listed = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        };
        assert!(host.matches(&listed));
        assert!(!host.matches(&"linux/amd64".parse().unwrap()));
    }

    #[test]
    fn oci_roundtrip() {
        let p: Platform = "linux/arm/v7".parse().unwrap();
        let oci = p.to_oci();
        assert_eq!(oci.architecture().to_string(), "arm");
        assert_eq!(oci.variant().as_deref(), Some("v7"));
        assert_eq!(Platform::from_oci(&oci), p);
    }
}
