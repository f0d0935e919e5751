//! `-v`/`--volume` and Compose's short `volumes:` syntax: `[SRC:]DST[:MODE]`
//! (moby's Linux `ParseMountRaw`).
//!
//! Docker's rule for the source: empty is a new anonymous volume, an
//! absolute path a bind mount (created when missing), anything else the name
//! of a volume (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`). MODE is a comma list with at
//! most one of each kind: `ro|rw`, a propagation, `z|Z`, `nocopy`; two of a
//! kind (`ro,rw`) or an unknown word is `invalid mode: MODE`. `DST:MODE`
//! without a source (`/data:ro`) is refused, as Docker refuses it.

use std::collections::BTreeMap;

use super::mount::{MountKind, MountRequest, Propagation};
use super::tmpfs::{check_destination, invalid};
use super::ValueError;

/// Parses one `-v` value.
pub fn parse_volume(value: &str) -> Result<MountRequest, ValueError> {
    let spec_error = || ValueError::InvalidVolumeSpec {
        value: value.to_string(),
    };
    let parts: Vec<&str> = value.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [_, mode] if check_mode(value, mode).is_ok() && !mode.is_empty() => {
            return Err(spec_error())
        }
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(spec_error()),
    };
    check_destination("-v", value, target)?;
    let words = check_mode(value, mode)?;
    let has = |w: &str| words.contains(&w);
    let propagation = words.iter().find_map(|w| Propagation::parse(w));
    let kind = if source.is_empty() {
        MountKind::Volume {
            name: None,
            nocopy: has("nocopy"),
            labels: BTreeMap::new(),
            driver: None,
        }
    } else if source.starts_with('/') {
        MountKind::Bind {
            source: source.to_string(),
            propagation,
            create_source: true,
        }
    } else {
        check_volume_name("-v", value, source)?;
        MountKind::Volume {
            name: Some(source.to_string()),
            nocopy: has("nocopy"),
            labels: BTreeMap::new(),
            driver: None,
        }
    };
    Ok(MountRequest {
        target: target.to_string(),
        read_only: has("ro"),
        mode: mode.to_string(),
        kind,
    })
}

/// Docker's volume name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

pub(crate) fn check_volume_name(
    flag: &'static str,
    value: &str,
    name: &str,
) -> Result<(), ValueError> {
    if valid_volume_name(name) {
        return Ok(());
    }
    Err(invalid(flag, value, format!("{name:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")))
}

/// The mode words, checked: known, at most one of each kind.
fn check_mode<'a>(value: &str, mode: &'a str) -> Result<Vec<&'a str>, ValueError> {
    let words: Vec<&str> = mode.split(',').filter(|w| !w.is_empty()).collect();
    let kind = |w: &str| match w {
        "ro" | "rw" => Some(0),
        "z" | "Z" => Some(1),
        "nocopy" => Some(2),
        w if Propagation::parse(w).is_some() => Some(3),
        _ => None,
    };
    let mut seen = [false; 4];
    for word in &words {
        let fresh = kind(word).is_some_and(|k| !std::mem::replace(&mut seen[k], true));
        if !fresh {
            return Err(invalid("-v", value, format!("invalid mode: {mode}")));
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_dockers_rule() {
        let m = parse_volume("/data").unwrap();
        assert!(matches!(m.kind, MountKind::Volume { name: None, .. }));
        let m = parse_volume("cache:/data:ro,nocopy").unwrap();
        assert!(m.read_only);
        assert_eq!(m.mode, "ro,nocopy");
        assert!(matches!(
            m.kind,
            MountKind::Volume { name: Some(ref n), nocopy: true, .. } if n == "cache"
        ));
        let m = parse_volume("/host:/data:rslave,z").unwrap();
        assert!(!m.read_only);
        assert_eq!(
            m.kind,
            MountKind::Bind {
                source: "/host".into(),
                propagation: Some(Propagation::RSlave),
                create_source: true
            }
        );
    }

    #[test]
    fn volume_refusals() {
        let err = |v: &str| parse_volume(v).unwrap_err().to_string();
        assert_eq!(
            err("a:/x:ro,rw"),
            "invalid -v \"a:/x:ro,rw\": invalid mode: ro,rw"
        );
        assert!(err("a:/x:bogus").contains("invalid mode: bogus"));
        assert!(err("a:/x:z,Z").contains("invalid mode"));
        assert_eq!(err("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(err("/data:ro"), "invalid volume specification: '/data:ro'");
        assert!(err("/src:/").contains("destination can't be '/'"));
        assert!(err("/src:rel").contains("must be absolute"));
        assert!(err("a b:/x").contains("invalid characters for a local volume name"));
        assert!(err("./rel:/x").contains("use absolute path"));
    }
}
