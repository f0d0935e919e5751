//! Builder flags (`--name=value`, `--name`) as BuildKit's `BFlags` reads them:
//! each instruction declares the flags it accepts and their kind; anything else
//! is an error that points at the offending flag.

use std::collections::BTreeMap;

use super::ctx::Ctx;
use crate::dockerfile::error::DockerfileError;

/// What a flag holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--name`, `--name=true` or `--name=false` (case-insensitive).
    Bool,
    /// `--name=value`, at most once.
    String,
    /// `--name=value`, repeatable.
    Strings,
}

/// The flags of one instruction after checking them against its declaration.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `ctx`'s flags against `spec` (name without dashes, kind).
    pub fn parse(
        ctx: &Ctx<'_>,
        spec: &[(&'static str, FlagKind)],
    ) -> Result<Flags, DockerfileError> {
        let mut flags = Flags::default();
        let mut cursor = 0;
        for raw in &ctx.node.flags {
            let Some(body) = raw.strip_prefix("--") else {
                return Err(ctx.err_at(raw, format!("flag should start with --: {raw}")));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let offset = ctx.find_from(&format!("--{name}"), cursor);
            cursor = offset + 1;
            let Some(&(key, kind)) = spec.iter().find(|(n, _)| *n == name) else {
                return Err(ctx.err_at_offset(offset, format!("unknown flag: --{name}")));
            };
            let value = check_value(ctx, offset, name, kind, value)?;
            let slot = flags.values.entry(key).or_default();
            if !slot.is_empty() && kind != FlagKind::Strings {
                return Err(
                    ctx.err_at_offset(offset, format!("duplicate flag specified: --{name}"))
                );
            }
            slot.push(value);
        }
        Ok(flags)
    }

    /// The value of a string flag, if given.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    /// Every value of a repeatable flag, in order.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A boolean flag: `None` when absent.
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.string(name).map(|v| v == "true")
    }

    /// A boolean flag, false when absent.
    pub fn bool(&self, name: &str) -> bool {
        self.opt_bool(name).unwrap_or(false)
    }
}

/// Validates a flag's value for its kind; booleans come back as `true`/`false`.
fn check_value(
    ctx: &Ctx<'_>,
    at: usize,
    name: &str,
    kind: FlagKind,
    value: Option<&str>,
) -> Result<String, DockerfileError> {
    match (kind, value) {
        (FlagKind::Bool, None) => Ok("true".to_string()),
        (_, Some("")) | (FlagKind::String | FlagKind::Strings, None) => {
            Err(ctx.err_at_offset(at, format!("missing a value on flag: --{name}")))
        }
        (FlagKind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => Ok(b.to_string()),
            _ => Err(ctx.err_at_offset(
                at,
                format!("expecting boolean value for flag --{name}, not: {v}"),
            )),
        },
        (_, Some(v)) => Ok(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn flags(line: &str, spec: &[(&'static str, FlagKind)]) -> Result<Flags, String> {
        let ast = parse(line).unwrap();
        let ctx = Ctx::new(&ast.nodes[0]);
        Flags::parse(&ctx, spec).map_err(|e| e.to_string())
    }

    #[test]
    fn kinds() {
        let spec = [
            ("link", FlagKind::Bool),
            ("from", FlagKind::String),
            ("exclude", FlagKind::Strings),
        ];
        let f = flags("COPY --link --from=a --exclude=x --exclude=y a b", &spec).unwrap();
        assert!(f.bool("link"));
        assert_eq!(f.string("from").as_deref(), Some("a"));
        assert_eq!(f.strings("exclude"), ["x", "y"]);
        let f = flags("COPY --link=FALSE a b", &spec).unwrap();
        assert_eq!(f.opt_bool("link"), Some(false));
    }

    #[test]
    fn errors() {
        let spec = [("link", FlagKind::Bool), ("from", FlagKind::String)];
        assert_eq!(
            flags("COPY --nope a b", &spec).unwrap_err(),
            "1:6: unknown flag: --nope"
        );
        assert_eq!(
            flags("COPY --from=a --from=b a b", &spec).unwrap_err(),
            "1:15: duplicate flag specified: --from"
        );
        assert_eq!(
            flags("COPY --from a b", &spec).unwrap_err(),
            "1:6: missing a value on flag: --from"
        );
        assert_eq!(
            flags("COPY --link= a b", &spec).unwrap_err(),
            "1:6: missing a value on flag: --link"
        );
        assert_eq!(
            flags("COPY --link=yes a b", &spec).unwrap_err(),
            "1:6: expecting boolean value for flag --link, not: yes"
        );
    }
}
