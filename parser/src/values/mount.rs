//! The typed mount a container asks for ([`MountRequest`]), and `--mount`'s
//! CSV form (the Docker CLI's `opts.MountOpt`): `type=bind|volume|tmpfs`
//! (default `volume`), `source|src`, `target|destination|dst`,
//! `readonly|ro[=bool]`, `bind-propagation`, `volume-nocopy[=bool]`,
//! `volume-label=k=v`, `volume-driver`, `tmpfs-size`, `tmpfs-mode`,
//! `consistency` (accepted, ignored as on Linux). Fields are read with Go's
//! CSV rules (quotes), keys are case-sensitive as Docker's.
//!
//! Choices: an option of another type (`tmpfs-size` on a bind) is refused
//! as Docker refuses it (`cannot mix ...`); whether a bind source exists is
//! checked where the container is created, not here (this module is pure).

use std::collections::BTreeMap;

use super::go::{parse_go_bool, split_csv};
use super::size::ram_in_bytes;
use super::tmpfs::{check_destination, check_tmpfs, invalid};
use super::ValueError;

/// One mount of a container (`-v`, `--mount`, `--tmpfs`, Compose `volumes:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    /// Absolute path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// The mode words as written (`ro,z`, tmpfs options), Docker's `Mode`
    /// in `inspect`.
    pub mode: String,
    /// What is mounted.
    pub kind: MountKind,
}

/// What a [`MountRequest`] mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A host path.
    Bind {
        /// Absolute host path.
        source: String,
        /// Mount propagation (`rprivate` when `None`).
        propagation: Option<Propagation>,
        /// `-v` creates a missing source directory; `--mount` refuses it.
        create_source: bool,
    },
    /// A named or anonymous volume.
    Volume {
        /// Its name; `None`: a new anonymous volume.
        name: Option<String>,
        /// Do not copy the image's files at the target into a new volume.
        nocopy: bool,
        /// `volume-label`s for a volume created by this mount.
        labels: BTreeMap<String, String>,
        /// `volume-driver` (only `local` exists in kiln).
        driver: Option<String>,
    },
    /// A tmpfs.
    Tmpfs {
        /// Mount options (`size=64m`, `mode=1777`, `exec`...), checked.
        options: Vec<String>,
    },
}

/// Mount propagation (`bind-propagation`, a `-v` mode word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// `private`.
    Private,
    /// `rprivate` (Docker's default).
    RPrivate,
    /// `shared`.
    Shared,
    /// `rshared`.
    RShared,
    /// `slave`.
    Slave,
    /// `rslave`.
    RSlave,
}

impl Propagation {
    /// Parses a propagation word.
    pub fn parse(word: &str) -> Option<Propagation> {
        Some(match word {
            "private" => Propagation::Private,
            "rprivate" => Propagation::RPrivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::RShared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::RSlave,
            _ => return None,
        })
    }
}

/// The fields of one `--mount` value, before typing.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    source: String,
    target: String,
    read_only: bool,
    propagation: Option<Propagation>,
    nocopy: bool,
    labels: BTreeMap<String, String>,
    driver: Option<String>,
    tmpfs: Vec<String>,
    /// The type-specific keys used (`bind-…`, `volume-…`, `tmpfs-…`).
    typed: Vec<String>,
}

/// Parses one `--mount` value.
pub fn parse_mount(value: &str) -> Result<MountRequest, ValueError> {
    let bad = |reason: String| invalid("--mount", value, reason);
    let mut f = Fields::default();
    for field in split_csv(value).map_err(bad)? {
        read_field(&mut f, &field).map_err(bad)?;
    }
    if f.target.is_empty() {
        return Err(bad("target is required".into()));
    }
    check_destination("--mount", value, &f.target)?;
    let kind = f.kind.clone().unwrap_or_else(|| "volume".into());
    if let Some(key) = f.typed.iter().find(|k| !k.starts_with(&format!("{kind}-"))) {
        return Err(bad(format!(
            "cannot mix '{key}' options with mount type '{kind}'"
        )));
    }
    let kind = match kind.as_str() {
        "bind" if f.source.is_empty() => {
            return Err(bad("source is required for a bind mount".into()))
        }
        "bind" if !f.source.starts_with('/') => {
            return Err(bad(format!(
                "bind source path must be absolute: {}",
                f.source
            )))
        }
        "bind" => MountKind::Bind {
            source: f.source,
            propagation: f.propagation,
            create_source: false,
        },
        "volume" => {
            if !f.source.is_empty() {
                super::volume::check_volume_name("--mount", value, &f.source)?;
            }
            MountKind::Volume {
                name: Some(f.source).filter(|s| !s.is_empty()),
                nocopy: f.nocopy,
                labels: f.labels,
                driver: f.driver,
            }
        }
        "tmpfs" if !f.source.is_empty() => {
            return Err(bad("source is not allowed for a tmpfs mount".into()))
        }
        "tmpfs" => {
            check_tmpfs("--mount", value, &f.target, &f.tmpfs)?;
            MountKind::Tmpfs { options: f.tmpfs }
        }
        other => return Err(bad(format!("unknown type {other:?}"))),
    };
    Ok(MountRequest {
        target: f.target,
        read_only: f.read_only,
        mode: String::new(),
        kind,
    })
}

/// Reads one `key[=value]` field into `f`.
fn read_field(f: &mut Fields, field: &str) -> Result<(), String> {
    let (key, value) = match field.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (field, None),
    };
    let flag = |value: Option<&str>| match value {
        None => Ok(true),
        Some(v) => parse_go_bool(v).ok_or_else(|| format!("invalid value for {key}: {v}")),
    };
    if !matches!(key, "readonly" | "ro" | "volume-nocopy") && value.is_none() {
        return Err(format!("invalid field '{field}' must be a key=value pair"));
    }
    let v = value.unwrap_or_default();
    if key.starts_with("bind-") || key.starts_with("volume-") || key.starts_with("tmpfs-") {
        f.typed.push(key.to_string());
    }
    match key {
        "type" => f.kind = Some(v.to_string()),
        "source" | "src" => f.source = v.to_string(),
        "target" | "destination" | "dst" => f.target = v.to_string(),
        "readonly" | "ro" => f.read_only = flag(value)?,
        "volume-nocopy" => f.nocopy = flag(value)?,
        "bind-propagation" => {
            f.propagation = Some(
                Propagation::parse(v).ok_or_else(|| format!("invalid bind-propagation: {v:?}"))?,
            )
        }
        "volume-label" => {
            let (k, l) = v.split_once('=').unwrap_or((v, ""));
            f.labels.insert(k.to_string(), l.to_string());
        }
        "volume-driver" => f.driver = Some(v.to_string()),
        "tmpfs-size" => f.tmpfs.push(tmpfs_size(v)?),
        "tmpfs-mode" => {
            let mode = u32::from_str_radix(v, 8)
                .map_err(|_| format!("invalid value for tmpfs option mode: {v:?}"))?;
            f.tmpfs.push(format!("mode={mode:o}"));
        }
        "consistency" => {}
        _ => return Err(format!("unexpected key '{key}' in '{field}'")),
    }
    Ok(())
}

/// `tmpfs-size` (go-units' `RAMInBytes`) as the kernel's `size=` option
/// with the largest unit that divides it (as Docker converts it).
fn tmpfs_size(v: &str) -> Result<String, String> {
    let bad = || format!("invalid value for tmpfs option size: {v:?}");
    let mut size = ram_in_bytes(v).map_err(|_| bad())?;
    if size <= 0 {
        return Err(bad());
    }
    let mut suffix = "";
    for unit in ["k", "m", "g"] {
        if size % 1024 != 0 {
            break;
        }
        size /= 1024;
        suffix = unit;
    }
    Ok(format!("size={size}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_types() {
        let m = parse_mount("type=bind,source=/src,target=/dst,readonly,bind-propagation=rshared")
            .unwrap();
        assert_eq!((m.target.as_str(), m.read_only), ("/dst", true));
        assert_eq!(
            m.kind,
            MountKind::Bind {
                source: "/src".into(),
                propagation: Some(Propagation::RShared),
                create_source: false
            }
        );
        let m = parse_mount("src=data,dst=/data,volume-nocopy,volume-label=a=b").unwrap();
        let MountKind::Volume {
            name,
            nocopy,
            labels,
            ..
        } = m.kind
        else {
            panic!("not a volume: {m:?}")
        };
        assert_eq!((name.as_deref(), nocopy), (Some("data"), true));
        assert_eq!(labels.get("a").map(String::as_str), Some("b"));
        let m = parse_mount("type=volume,target=/anon,ro=false").unwrap();
        assert!(!m.read_only);
        assert!(matches!(m.kind, MountKind::Volume { name: None, .. }));
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64MB,tmpfs-mode=01770").unwrap();
        assert_eq!(
            m.kind,
            MountKind::Tmpfs {
                options: vec!["size=64m".into(), "mode=1770".into()]
            }
        );
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1000").unwrap();
        assert_eq!(
            m.kind,
            MountKind::Tmpfs {
                options: vec!["size=1000".into()]
            }
        );
        // Go CSV quoting.
        let m = parse_mount("type=bind,\"source=/a,b\",target=/x").unwrap();
        assert!(matches!(m.kind, MountKind::Bind { ref source, .. } if source == "/a,b"));
    }

    #[test]
    fn mount_refusals() {
        let err = |v: &str| parse_mount(v).unwrap_err().to_string();
        assert_eq!(
            err("type=bind,source=/a"),
            "invalid --mount \"type=bind,source=/a\": target is required"
        );
        assert!(err("type=bind,target=/x").contains("source is required"));
        assert!(err("type=bind,source=rel,target=/x").contains("must be absolute"));
        assert!(err("type=tmpfs,target=/x,tmpfs-size=-5").contains("tmpfs option size"));
        assert!(err("type=tmpfs,target=/x,tmpfs-mode=99").contains("tmpfs option mode"));
        assert!(
            err("type=bind,source=/a,target=/x,tmpfs-size=1m").contains("cannot mix 'tmpfs-size'")
        );
        assert!(err("type=nfs,target=/x").contains("unknown type \"nfs\""));
        assert!(err("target=/x,bogus=1").contains("unexpected key 'bogus' in 'bogus=1'"));
        assert!(err("target=/x,source").contains("must be a key=value pair"));
        assert!(err("target=/x,ro=maybe").contains("invalid value for ro: maybe"));
        assert!(err("target=/").contains("destination can't be '/'"));
        assert!(err("type=volume,source=a/b,target=/x").contains("invalid characters"));
        assert!(err("type=bind,source=/a,target=/x\"").contains("bare \""));
    }
}
