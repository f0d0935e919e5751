//! Build options that shape the graph: target, build args, platform, labels.

use std::collections::{BTreeMap, BTreeSet};

/// A platform `os/arch[/variant]` in OCI/Go naming (`linux/amd64`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v7`, `v8`, or empty.
    pub variant: String,
}

impl Platform {
    /// This machine's platform, in Go's names (x86_64 -> amd64, aarch64 -> arm64).
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", ""),
            "aarch64" => ("arm64", ""),
            "x86" => ("386", ""),
            "arm" => ("arm", "v7"),
            "powerpc64" => ("ppc64le", ""),
            "s390x" => ("s390x", ""),
            "riscv64" => ("riscv64", ""),
            other => (other, ""),
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant: variant.to_string(),
        }
    }

    /// Parses `os/arch[/variant]`; `None` when a part is missing or empty.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?;
        let arch = parts.next().filter(|s| !s.is_empty())?;
        let variant = parts.next().unwrap_or("");
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.into(),
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// Everything besides the Dockerfile that decides the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// `--target`: the stage to build (name or index); `None` = the last.
    pub target: Option<String>,
    /// `--build-arg`s.
    pub build_args: BTreeMap<String, String>,
    /// The platform the build runs on (BUILDPLATFORM...).
    pub build_platform: Platform,
    /// The platform of the result (TARGETPLATFORM...). Only the build
    /// platform is supported for now; the graph records it on image sources.
    pub target_platform: Platform,
    /// `--label`s, added to the final stage's config after its own LABELs.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache-filter`: stage names/indexes whose vertices ignore the cache.
    pub no_cache_filter: BTreeSet<String>,
    /// `--no-cache`: every vertex ignores the cache.
    pub no_cache: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            target: None,
            build_args: BTreeMap::new(),
            build_platform: Platform::host(),
            target_platform: Platform::host(),
            labels: BTreeMap::new(),
            no_cache_filter: BTreeSet::new(),
            no_cache: false,
        }
    }
}

/// The proxy build args BuildKit passes to RUN without a declaration (and
/// keeps out of history).
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];
