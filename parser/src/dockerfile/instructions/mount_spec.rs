//! `RUN --mount=` specs: a CSV list of `key=value` fields (BuildKit's
//! `parseMount`), typed into one [`Mount`] variant per mount type.
//!
//! Keys are case-insensitive and never expanded; values are expanded at build
//! time (see [`super::expand`]). A value that may change under expansion (it
//! holds `$`, a quote or a backslash) cannot be checked here when its field is
//! typed (type, sharing, mode, uid, gid, size, ro/rw/required): such a spec is
//! kept as [`Mount::Deferred`] and typed after expansion. Unknown keys are
//! rejected either way.
//!
//! Choices where BuildKit is loose: keys that BuildKit accepts but ignores for
//! a type (`id` on a bind mount, `from` on tmpfs) are accepted and dropped;
//! bind, cache and tmpfs mounts need a target; for secrets `source`/`src` is
//! an alias of `id`.

use super::mount::{BindMount, CacheMount, CacheSharing, Mount, SecretMount, SshMount, TmpfsMount};
use super::suggest::with_hint;
use crate::values::go::{parse_go_bool, split_csv};
use crate::values::ram_in_bytes;

const KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
    "id",
    "sharing",
    "mode",
    "uid",
    "gid",
    "size",
    "env",
];
const FLAG_KEYS: [&str; 5] = ["readonly", "ro", "readwrite", "rw", "required"];
const TYPED_KEYS: [&str; 11] = [
    "type",
    "sharing",
    "mode",
    "uid",
    "gid",
    "size",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
];
const TYPES: [&str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];

/// The fields of a spec, keys lower-cased and aliases folded; last one wins.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pairs: Vec<(&'static str, String)>,
}

impl Fields {
    /// Splits and checks the keys of `spec`.
    pub fn parse(spec: &str) -> Result<Fields, String> {
        let mut fields = Fields::default();
        for field in split_csv(spec)? {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
                None => (field.to_ascii_lowercase(), None),
            };
            let Some(canonical) = canonical_key(&key) else {
                let message = format!("unexpected key '{key}' in '{field}'");
                return Err(with_hint(message, &key, &KEYS));
            };
            let value = match value {
                Some(v) => v,
                None if FLAG_KEYS.contains(&key.as_str()) => "true".to_string(),
                None => return Err(format!("invalid field '{field}' must be a key=value pair")),
            };
            fields.pairs.retain(|(k, _)| *k != canonical);
            fields.pairs.push((canonical, value));
        }
        Ok(fields)
    }

    /// The value of `key` (canonical name).
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when a typed field's value may change under expansion.
    pub fn needs_expansion(&self) -> bool {
        self.pairs
            .iter()
            .any(|(k, v)| TYPED_KEYS.contains(k) && v.contains(['$', '\'', '"', '\\', '`']))
    }

    /// Replaces every value by `f(value)`.
    pub fn map_values(
        self,
        f: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Fields, String> {
        let pairs = self
            .pairs
            .into_iter()
            .map(|(k, v)| Ok((k, f(&v)?)))
            .collect::<Result<_, String>>()?;
        Ok(Fields { pairs })
    }
}

fn is_ro_rw(key: &str) -> bool {
    matches!(key, "readonly" | "readwrite")
}

/// The canonical name of a key (aliases folded), `None` when unknown.
fn canonical_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "src" | "source" => "source",
        "dst" | "destination" | "target" => "target",
        "ro" | "readonly" => "readonly",
        "rw" | "readwrite" => "readwrite",
        other => KEYS.into_iter().find(|k| *k == other)?,
    })
}

/// Parses one `--mount` value. Specs whose typed fields need expansion come
/// back as [`Mount::Deferred`].
pub(crate) fn parse_mount(spec: &str) -> Result<Mount, String> {
    let fields = Fields::parse(spec)?;
    if fields.get("from").is_some_and(|v| v.contains('$')) {
        return Err(
            "'from' doesn't support variable expansion, define alias stage instead".to_string(),
        );
    }
    if fields.needs_expansion() {
        return Ok(Mount::Deferred(spec.to_string()));
    }
    build(&fields)
}

/// Types checked fields whose values are final.
pub(crate) fn build(f: &Fields) -> Result<Mount, String> {
    let typ = f.get("type").unwrap_or("bind").to_ascii_lowercase();
    if !TYPES.contains(&typ.as_str()) {
        let value = f.get("type").unwrap_or_default();
        return Err(with_hint(
            format!("unsupported mount type {value:?}"),
            value,
            &TYPES,
        ));
    }
    check_keys_for_type(f, &typ)?;
    let read_only = read_only(f)?;
    let target = || {
        f.get("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let need_target = || target().ok_or_else(|| format!("mount type={typ} requires a target"));
    Ok(match typ.as_str() {
        "bind" => Mount::Bind(BindMount {
            target: need_target()?,
            source: opt(f, "source"),
            from: opt(f, "from"),
            read_only: read_only.unwrap_or(true),
        }),
        "cache" => Mount::Cache(cache(f, need_target()?, read_only.unwrap_or(false))?),
        "tmpfs" => Mount::Tmpfs(TmpfsMount {
            target: need_target()?,
            size: size(f)?,
        }),
        "secret" => Mount::Secret(secret(f)?),
        _ => Mount::Ssh(SshMount {
            id: opt(f, "id"),
            target: target(),
            required: flag(f, "required")?.unwrap_or(false),
            mode: number(f, "mode", 8)?,
            uid: number(f, "uid", 10)?,
            gid: number(f, "gid", 10)?,
        }),
    })
}

/// BuildKit's per-type restrictions on keys.
fn check_keys_for_type(f: &Fields, typ: &str) -> Result<(), String> {
    let file_info = matches!(typ, "secret" | "ssh" | "cache");
    for key in ["mode", "uid", "gid"] {
        if f.get(key).is_some() && !file_info {
            return Err(format!("{key} not allowed for {typ:?} type mounts"));
        }
    }
    let only = [
        ("required", "secret ssh"),
        ("size", "tmpfs"),
        ("env", "secret"),
    ];
    for (key, types) in only {
        if f.get(key).is_some() && !types.split(' ').any(|t| t == typ) {
            return Err(format!("unexpected key '{key}' for mount type '{typ}'"));
        }
    }
    if f.get("sharing").is_some() && typ != "cache" {
        return Err(format!("invalid cache sharing set for {typ} mount"));
    }
    if typ == "secret" && f.get("from").is_some() {
        return Err("secret mount should not have a from".to_string());
    }
    Ok(())
}

fn cache(f: &Fields, target: String, read_only: bool) -> Result<CacheMount, String> {
    Ok(CacheMount {
        target,
        id: opt(f, "id"),
        sharing: sharing(f)?,
        from: opt(f, "from"),
        source: opt(f, "source"),
        mode: number(f, "mode", 8)?,
        uid: number(f, "uid", 10)?,
        gid: number(f, "gid", 10)?,
        read_only,
    })
}

fn secret(f: &Fields) -> Result<SecretMount, String> {
    if f.get("source").is_some() && f.get("id").is_some() {
        return Err("both source and id can't be set".to_string());
    }
    let m = SecretMount {
        id: opt(f, "id").or_else(|| opt(f, "source")),
        target: opt(f, "target"),
        env: opt(f, "env"),
        required: flag(f, "required")?.unwrap_or(false),
        mode: number(f, "mode", 8)?,
        uid: number(f, "uid", 10)?,
        gid: number(f, "gid", 10)?,
    };
    if m.id.is_none() && m.target.is_none() && m.env.is_none() {
        return Err("invalid secret mount: one of id, target or env is required".to_string());
    }
    Ok(m)
}

fn opt(f: &Fields, key: &str) -> Option<String> {
    f.get(key).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Go's `strconv.ParseBool`.
fn flag(f: &Fields, key: &str) -> Result<Option<bool>, String> {
    let Some(v) = f.get(key) else { return Ok(None) };
    parse_go_bool(v)
        .map(Some)
        .ok_or_else(|| format!("invalid value for {key}: {v}"))
}

/// `ro`/`rw` folded into "read-only?", the last one written winning.
fn read_only(f: &Fields) -> Result<Option<bool>, String> {
    let last = f.pairs.iter().rev().find(|(k, _)| is_ro_rw(k));
    match last {
        Some(("readonly", _)) => flag(f, "readonly"),
        Some(_) => Ok(flag(f, "readwrite")?.map(|rw| !rw)),
        None => Ok(None),
    }
}

fn number(f: &Fields, key: &str, radix: u32) -> Result<Option<u32>, String> {
    let Some(v) = f.get(key) else { return Ok(None) };
    u32::from_str_radix(v, radix)
        .map(Some)
        .map_err(|_| format!("invalid value {v} for {key}"))
}

fn sharing(f: &Fields) -> Result<CacheSharing, String> {
    match f.get("sharing").map(str::to_ascii_lowercase).as_deref() {
        None | Some("shared") => Ok(CacheSharing::Shared),
        Some("private") => Ok(CacheSharing::Private),
        Some("locked") => Ok(CacheSharing::Locked),
        Some(_) => Err(format!(
            "unsupported sharing value {:?}",
            f.get("sharing").unwrap_or_default()
        )),
    }
}

/// Docker's `units.RAMInBytes`: `64m`, `1.5g`, `512 KiB`, `1024` (binary units).
fn size(f: &Fields) -> Result<Option<u64>, String> {
    let Some(v) = f.get("size") else {
        return Ok(None);
    };
    ram_in_bytes(v)
        .map(|n| Some(n as u64))
        .map_err(|_| format!("invalid size: '{v}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        let bind = parse_mount("target=/src,from=build,rw").unwrap();
        assert_eq!(
            bind,
            Mount::Bind(BindMount {
                target: "/src".into(),
                source: None,
                from: Some("build".into()),
                read_only: false,
            })
        );
        let Mount::Cache(c) =
            parse_mount("type=cache,dst=/c,sharing=LOCKED,mode=0755,uid=1").unwrap()
        else {
            panic!("not a cache mount");
        };
        assert_eq!(
            (c.sharing, c.mode, c.uid, c.read_only),
            (CacheSharing::Locked, Some(0o755), Some(1), false)
        );
        let Mount::Tmpfs(t) = parse_mount("type=tmpfs,target=/t,size=64m").unwrap() else {
            panic!()
        };
        assert_eq!(t.size, Some(64 << 20));
        let Mount::Secret(s) = parse_mount("type=secret,id=aws,env=AWS,required").unwrap() else {
            panic!()
        };
        assert!(s.required && s.env.as_deref() == Some("AWS"));
        assert!(matches!(parse_mount("type=ssh").unwrap(), Mount::Ssh(_)));
        assert!(matches!(
            parse_mount("type=$T,target=/x").unwrap(),
            Mount::Deferred(_)
        ));
    }

    #[test]
    fn errors() {
        let err = |s: &str| parse_mount(s).unwrap_err();
        assert_eq!(
            err("type=cach,target=/x"),
            "unsupported mount type \"cach\" (did you mean cache?)"
        );
        assert_eq!(
            err("target=/x,colour=red"),
            "unexpected key 'colour' in 'colour=red'"
        );
        assert_eq!(
            err("type=bind,target=/x,mode=0644"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            err("type=cache,target=/x,mode=9"),
            "invalid value 9 for mode"
        );
        assert_eq!(
            err("type=bind,target=/x,required"),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            err("type=secret"),
            "invalid secret mount: one of id, target or env is required"
        );
        assert_eq!(err("type=cache"), "mount type=cache requires a target");
        assert_eq!(
            err("target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            err("target=/x,from=$X"),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
    }
}
