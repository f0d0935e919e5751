//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval --timeout --start-period
//! --start-interval --retries] CMD command` (BuildKit's `parseHealthcheck`).
//!
//! Durations are Go durations (`30s`, `1m30s`, `500ms`); `0` means "use the
//! default" and is stored as `None`, anything else must be at least 1ms.
//! Unlike BuildKit, flags on `HEALTHCHECK NONE` are rejected instead of ignored.

use std::time::Duration;

use super::ctx::Ctx;
use super::flags::{FlagKind, Flags};
use super::model::{Command, Healthcheck, HealthcheckCmd};
use crate::dockerfile::ast::Args;
use crate::dockerfile::error::DockerfileError;
use crate::values::parse_go_duration;

const FLAGS: [(&str, FlagKind); 5] = [
    ("interval", FlagKind::String),
    ("timeout", FlagKind::String),
    ("start-period", FlagKind::String),
    ("start-interval", FlagKind::String),
    ("retries", FlagKind::String),
];

/// Types a HEALTHCHECK node.
pub(crate) fn parse_healthcheck(ctx: &Ctx<'_>) -> Result<Healthcheck, DockerfileError> {
    let (typ, command) = match &ctx.node.args {
        Args::Values(v) if !v.is_empty() => {
            (v[0].clone(), v.get(1).map(|c| Command::Shell(c.clone())))
        }
        Args::TypeThenJson(t, v) => (t.clone(), Some(Command::Exec(v.clone()))),
        _ => return Err(ctx.at_least_one()),
    };
    match typ.to_ascii_uppercase().as_str() {
        "NONE" => {
            if command.is_some() {
                return Err(ctx.err("HEALTHCHECK NONE takes no arguments"));
            }
            Flags::parse(ctx, &[])?;
            Ok(Healthcheck::None)
        }
        "CMD" => {
            let flags = Flags::parse(ctx, &FLAGS)?;
            let command = match command {
                Some(Command::Exec(v)) if v.is_empty() => None,
                other => other,
            };
            let command =
                command.ok_or_else(|| ctx.err("Missing command after HEALTHCHECK CMD"))?;
            Ok(Healthcheck::Cmd(HealthcheckCmd {
                command,
                interval: interval(ctx, &flags, "interval")?,
                timeout: interval(ctx, &flags, "timeout")?,
                start_period: interval(ctx, &flags, "start-period")?,
                start_interval: interval(ctx, &flags, "start-interval")?,
                retries: retries(ctx, &flags)?,
            }))
        }
        _ => Err(ctx.err_at(
            &typ,
            format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"),
        )),
    }
}

/// A duration flag: absent or `0` -> `None`; below 1ms -> error.
fn interval(ctx: &Ctx<'_>, flags: &Flags, name: &str) -> Result<Option<Duration>, DockerfileError> {
    let Some(value) = flags.string(name) else {
        return Ok(None);
    };
    let at = format!("--{name}");
    let d = parse_go_duration(&value).map_err(|e| ctx.err_at(&at, format!("--{name}: {e}")))?;
    if d.is_zero() {
        return Ok(None);
    }
    if d < Duration::from_millis(1) {
        return Err(ctx.err_at(
            &at,
            format!("--{name} cannot be less than 1ms (got {value})"),
        ));
    }
    Ok(Some(d))
}

fn retries(ctx: &Ctx<'_>, flags: &Flags) -> Result<Option<u32>, DockerfileError> {
    let Some(value) = flags.string("retries") else {
        return Ok(None);
    };
    let n: i32 = value
        .parse()
        .map_err(|_| ctx.err_at("--retries", format!("--retries: invalid number {value:?}")))?;
    if n < 0 {
        return Err(ctx.err_at("--retries", format!("--retries cannot be negative ({n})")));
    }
    Ok(Some(n as u32))
}
