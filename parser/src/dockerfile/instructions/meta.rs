//! Instructions that set image metadata or build state: ENV, LABEL, ARG,
//! MAINTAINER, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL. None takes flags.

use super::ctx::Ctx;
use super::flags::Flags;
use super::model::{ArgDecl, KeyValue};
use crate::dockerfile::error::DockerfileError;

/// ENV and LABEL: the syntax layer's `key, value, separator` triples.
pub(crate) fn parse_key_values(ctx: &Ctx<'_>) -> Result<Vec<KeyValue>, DockerfileError> {
    Flags::parse(ctx, &[])?;
    let values = ctx.values();
    if values.is_empty() {
        return Err(ctx.at_least_one());
    }
    if !values.len().is_multiple_of(3) {
        return Err(ctx.err(format!("Bad input to {}, too many arguments", ctx.keyword)));
    }
    values
        .chunks(3)
        .map(|kv| {
            if kv[0].is_empty() {
                return Err(ctx.err(format!("{} names can not be blank", ctx.keyword)));
            }
            Ok(KeyValue {
                key: kv[0].clone(),
                value: kv[1].clone(),
                legacy: kv[2].is_empty(),
            })
        })
        .collect()
}

/// ARG: one or more `name` / `name=default` words (quotes kept in the default).
pub(crate) fn parse_arg(ctx: &Ctx<'_>) -> Result<Vec<ArgDecl>, DockerfileError> {
    Flags::parse(ctx, &[])?;
    let words = ctx.values();
    if words.is_empty() {
        return Err(ctx.at_least_one());
    }
    let mut cursor = 0;
    let mut decls = Vec::with_capacity(words.len());
    for word in words {
        let offset = ctx.find_from(word, cursor);
        cursor = offset + word.len();
        let at = ctx.node.line_map.position(&ctx.node.original, offset);
        let (name, default) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (word.as_str(), None),
        };
        if name.is_empty() {
            return Err(DockerfileError::invalid(at, "ARG names can not be blank"));
        }
        decls.push(ArgDecl {
            name: name.to_string(),
            default,
            at,
        });
    }
    Ok(decls)
}

/// MAINTAINER, USER, WORKDIR, STOPSIGNAL: the rest of the line.
pub(crate) fn parse_single(ctx: &Ctx<'_>) -> Result<String, DockerfileError> {
    Flags::parse(ctx, &[])?;
    ctx.exactly_one()
}

/// EXPOSE: raw port words (expanded and checked with
/// [`PortSpec`](super::PortSpec) at build time).
pub(crate) fn parse_expose(ctx: &Ctx<'_>) -> Result<Vec<String>, DockerfileError> {
    Flags::parse(ctx, &[])?;
    match ctx.values() {
        [] => Err(ctx.at_least_one()),
        ports => Ok(ports.to_vec()),
    }
}

/// VOLUME: JSON array or words; none may be empty.
pub(crate) fn parse_volume(ctx: &Ctx<'_>) -> Result<Vec<String>, DockerfileError> {
    Flags::parse(ctx, &[])?;
    let values = ctx.values();
    if values.is_empty() {
        return Err(ctx.at_least_one());
    }
    values
        .iter()
        .map(|v| match v.trim() {
            "" => Err(ctx.err("VOLUME specified can not be an empty string")),
            v => Ok(v.to_string()),
        })
        .collect()
}
