//! `--cache-to type=local,dest=DIR[,mode=min|max]` and `--cache-from
//! type=local,src=DIR` (repeatable): BuildKit's local cache flags. Only
//! `type=local` is supported; a bare value (which buildx takes for a
//! registry reference) or another type is refused with a one-line error
//! naming the flag. The directory format is described in [`super`]
//! (a Compose `build.cache_from`/`cache_to` entry has the same syntax).

use std::path::{Path, PathBuf};

use super::{read_config, CacheExport, ExportMode};

/// A cache flag value kiln refuses, naming the flag and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheFlagError {
    /// The value is malformed or names an unusable directory.
    #[error("{flag} {spec}: {reason}")]
    Invalid {
        /// `--cache-to` or `--cache-from`.
        flag: &'static str,
        /// The value as given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// More than one `--cache-to`.
    #[error("{flag}: only one cache export is supported, {count} given")]
    TooMany {
        /// The flag.
        flag: &'static str,
        /// How many were given.
        count: usize,
    },
}

type Result<T> = std::result::Result<T, CacheFlagError>;

/// Fails with [`CacheFlagError::Invalid`].
macro_rules! invalid {
    ($flag:expr, $spec:expr, $($reason:tt)+) => {
        return Err(CacheFlagError::Invalid {
            flag: $flag,
            spec: $spec.to_string(),
            reason: format!($($reason)+),
        })
    };
}

/// The `key=value` fields of a cache flag's value, its `type` checked to be
/// `local`.
fn fields<'a>(flag: &'static str, spec: &'a str) -> Result<Vec<(&'a str, &'a str)>> {
    if !spec.contains('=') {
        invalid!(
            flag,
            spec,
            "only type=local is supported (a bare value is a registry reference)"
        );
    }
    let mut out = Vec::new();
    let mut kind = None;
    for field in spec.split(',') {
        let Some((k, v)) = field.split_once('=') else {
            invalid!(flag, spec, "expected KEY=VALUE, got {field:?}");
        };
        match k {
            "type" => kind = Some(v),
            _ => out.push((k, v)),
        }
    }
    match kind {
        Some("local") => Ok(out),
        Some(_) => invalid!(flag, spec, "only type=local is supported"),
        None => invalid!(
            flag,
            spec,
            "type= is required (only type=local is supported)"
        ),
    }
}

/// Parses `--cache-to` (at most one).
pub fn parse_to(given: &[String]) -> Result<Option<CacheExport>> {
    const FLAG: &str = "--cache-to";
    let spec = match given {
        [] => return Ok(None),
        [one] => one,
        _ => {
            return Err(CacheFlagError::TooMany {
                flag: FLAG,
                count: given.len(),
            })
        }
    };
    let (mut dest, mut mode) = (None, ExportMode::Min);
    for (k, v) in fields(FLAG, spec)? {
        match (k, v) {
            ("dest", d) if !d.is_empty() => dest = Some(PathBuf::from(d)),
            ("mode", "min") => mode = ExportMode::Min,
            ("mode", "max") => mode = ExportMode::Max,
            ("mode", other) => invalid!(FLAG, spec, "mode must be min or max, not {other:?}"),
            _ => invalid!(
                FLAG,
                spec,
                "unknown or empty key {k:?} (expected dest=DIR, mode=min|max)"
            ),
        }
    }
    let Some(dest) = dest else {
        invalid!(FLAG, spec, "dest=DIR is required");
    };
    check_dest(spec, &dest)?;
    Ok(Some(CacheExport { dest, mode }))
}

/// A destination must be a directory (or not exist yet), and if it holds
/// an `index.json`, a kiln cache's.
fn check_dest(spec: &str, dest: &Path) -> Result<()> {
    if dest.exists() && !dest.is_dir() {
        invalid!("--cache-to", spec, "{} is not a directory", dest.display());
    }
    if dest.join("index.json").exists() {
        if let Err(e) = read_config(dest) {
            invalid!("--cache-to", spec, "refusing to overwrite: {e}");
        }
    }
    Ok(())
}

/// Parses every `--cache-from`, checking that each names a kiln cache
/// directory.
pub fn parse_from(given: &[String]) -> Result<Vec<PathBuf>> {
    const FLAG: &str = "--cache-from";
    let mut out = Vec::new();
    for spec in given {
        let mut src = None;
        for (k, v) in fields(FLAG, spec)? {
            match (k, v) {
                ("src", s) if !s.is_empty() => src = Some(PathBuf::from(s)),
                _ => invalid!(FLAG, spec, "unknown or empty key {k:?} (expected src=DIR)"),
            }
        }
        let Some(src) = src else {
            invalid!(FLAG, spec, "src=DIR is required");
        };
        if let Err(e) = read_config(&src) {
            invalid!(FLAG, spec, "{e}");
        }
        out.push(src);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn cache_to_parses_dest_and_mode() {
        let d = std::env::temp_dir().join("kiln-cache-flag-test-absent");
        let spec = format!("type=local,dest={},mode=max", d.display());
        let to = parse_to(&[spec]).unwrap().unwrap();
        assert_eq!((to.dest, to.mode), (d.clone(), ExportMode::Max));
        let spec = format!("type=local,dest={}", d.display());
        assert_eq!(parse_to(&[spec]).unwrap().unwrap().mode, ExportMode::Min);
        assert!(parse_to(&[]).unwrap().is_none());
    }

    #[test]
    fn cache_flags_reject_bad_values_in_one_line() {
        let e = err(parse_to(&["type=registry,ref=x/y".into()]));
        assert_eq!(
            e,
            "--cache-to type=registry,ref=x/y: only type=local is supported"
        );
        let e = err(parse_to(&["type=local".into()]));
        assert!(e.contains("dest=DIR is required"), "{e}");
        let e = err(parse_to(&["type=local,dest=/tmp/x,mode=all".into()]));
        assert!(e.contains("mode must be min or max"), "{e}");
        let e = err(parse_to(&["type=local,dest=/tmp/x,foo=1".into()]));
        assert!(e.contains("unknown or empty key \"foo\""), "{e}");
        let e = err(parse_from(&["some/dir".into()]));
        assert!(
            e.starts_with("--cache-from some/dir: only type=local"),
            "{e}"
        );
        let e = err(parse_from(&["type=local".into()]));
        assert!(e.contains("src=DIR is required"), "{e}");
        let dir = std::env::temp_dir();
        let spec = format!("type=local,src={}", dir.display());
        let e = err(parse_from(&[spec]));
        assert!(e.contains("not a kiln cache directory"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
