//! Command instructions: RUN (with `--mount`, `--network`, `--security` and
//! heredocs), CMD, ENTRYPOINT and SHELL.

use super::ctx::Ctx;
use super::flags::{FlagKind, Flags};
use super::model::{Command, NetworkMode, RunSpec, SecurityMode};
use super::mount::Mount;
use super::mount_spec::{build, parse_mount, Fields};
use super::suggest::with_hint;
use crate::dockerfile::ast::Args;
use crate::dockerfile::error::DockerfileError;

const RUN_FLAGS: [(&str, FlagKind); 3] = [
    ("mount", FlagKind::Strings),
    ("network", FlagKind::String),
    ("security", FlagKind::String),
];

/// The command of RUN/CMD/ENTRYPOINT: JSON -> exec form, else shell form.
pub(crate) fn command(ctx: &Ctx<'_>) -> Command {
    match &ctx.node.args {
        Args::Json(v) => Command::Exec(v.clone()),
        Args::Values(v) => Command::Shell(v.join(" ")),
        _ => Command::Shell(String::new()),
    }
}

/// Types a RUN node.
pub(crate) fn parse_run(ctx: &Ctx<'_>) -> Result<RunSpec, DockerfileError> {
    let flags = Flags::parse(ctx, &RUN_FLAGS)?;
    let mut mounts = Vec::new();
    let mut cursor = 0;
    for spec in flags.strings("mount") {
        let offset = ctx.find_from("--mount", cursor);
        cursor = offset + 1;
        let mount = parse_mount(&spec).map_err(|e| ctx.err_at_offset(offset, e))?;
        mounts.push(mount);
    }
    let network = match flags.string("network") {
        None => None,
        Some(v) => Some(network_mode(&v).map_err(|e| ctx.err_at("--network", e))?),
    };
    let security = match flags.string("security") {
        None => None,
        Some(v) => Some(security_mode(&v).map_err(|e| ctx.err_at("--security", e))?),
    };
    Ok(RunSpec {
        command: command(ctx),
        heredocs: ctx.node.heredocs.clone(),
        mounts,
        network,
        security,
    })
}

fn network_mode(value: &str) -> Result<NetworkMode, String> {
    match value {
        "default" => Ok(NetworkMode::Default),
        "none" => Ok(NetworkMode::None),
        "host" => Ok(NetworkMode::Host),
        _ => Err(with_hint(
            format!("unsupported network mode {value:?}"),
            value,
            &["default", "none", "host"],
        )),
    }
}

fn security_mode(value: &str) -> Result<SecurityMode, String> {
    match value {
        "sandbox" => Ok(SecurityMode::Sandbox),
        "insecure" => Ok(SecurityMode::Insecure),
        _ => Err(with_hint(
            format!("unsupported security mode {value:?}"),
            value,
            &["sandbox", "insecure"],
        )),
    }
}

/// Types CMD or ENTRYPOINT (no flags).
pub(crate) fn parse_cmd(ctx: &Ctx<'_>) -> Result<Command, DockerfileError> {
    Flags::parse(ctx, &[])?;
    Ok(command(ctx))
}

/// Types SHELL: JSON form only, at least one element.
pub(crate) fn parse_shell(ctx: &Ctx<'_>) -> Result<Vec<String>, DockerfileError> {
    Flags::parse(ctx, &[])?;
    match &ctx.node.args {
        Args::Json(v) if !v.is_empty() => Ok(v.clone()),
        Args::Values(_) => Err(ctx.err("SHELL requires the arguments to be in JSON form")),
        _ => Err(ctx.at_least_one()),
    }
}

/// Re-types a mount after its values were expanded by `expand`.
pub(crate) fn expand_mount(
    mount: &Mount,
    expand: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Mount, String> {
    Ok(match mount {
        Mount::Deferred(spec) => build(&Fields::parse(spec)?.map_values(expand)?)?,
        Mount::Bind(m) => {
            let mut m = m.clone();
            m.source = expand_opt(expand, &m.source)?;
            m.from = expand_opt(expand, &m.from)?;
            m.target = expand(&m.target)?;
            Mount::Bind(m)
        }
        Mount::Cache(m) => {
            let mut m = m.clone();
            (m.id, m.from, m.source) = (
                expand_opt(expand, &m.id)?,
                expand_opt(expand, &m.from)?,
                expand_opt(expand, &m.source)?,
            );
            m.target = expand(&m.target)?;
            Mount::Cache(m)
        }
        Mount::Tmpfs(m) => {
            let mut m = m.clone();
            m.target = expand(&m.target)?;
            Mount::Tmpfs(m)
        }
        Mount::Secret(m) => {
            let mut m = m.clone();
            (m.id, m.target, m.env) = (
                expand_opt(expand, &m.id)?,
                expand_opt(expand, &m.target)?,
                expand_opt(expand, &m.env)?,
            );
            Mount::Secret(m)
        }
        Mount::Ssh(m) => {
            let mut m = m.clone();
            (m.id, m.target) = (expand_opt(expand, &m.id)?, expand_opt(expand, &m.target)?);
            Mount::Ssh(m)
        }
    })
}

/// Expands an optional value.
fn expand_opt(
    expand: &mut dyn FnMut(&str) -> Result<String, String>,
    value: &Option<String>,
) -> Result<Option<String>, String> {
    value.as_deref().map(expand).transpose()
}
