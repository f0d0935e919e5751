//! One AST node -> one typed instruction (BuildKit's `ParseInstruction`).

use super::copy::{parse_add, parse_copy};
use super::ctx::Ctx;
use super::flags::{FlagKind, Flags};
use super::healthcheck::parse_healthcheck;
use super::meta::{parse_arg, parse_expose, parse_key_values, parse_single, parse_volume};
use super::model::{Instruction, InstructionKind, Onbuild};
use super::run::{parse_cmd, parse_run, parse_shell};
use super::suggest::with_hint;
use crate::dockerfile::ast::{Args, Node};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::span::Span;

/// Every instruction keyword, upper case.
pub(crate) const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A `FROM` line: the start of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FromLine {
    /// The base: image reference or stage name, unexpanded.
    pub base: String,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// The FROM line's span.
    pub span: Span,
}

/// What a node turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// FROM: a new stage.
    From(FromLine),
    /// Any other instruction.
    Instruction(Instruction),
}

/// Types one node.
pub(crate) fn parse_node(node: &Node) -> Result<Parsed, DockerfileError> {
    let ctx = Ctx::new(node);
    let kind = match ctx.keyword.as_str() {
        "FROM" => return parse_from(&ctx).map(Parsed::From),
        "RUN" => InstructionKind::Run(parse_run(&ctx)?),
        "CMD" => InstructionKind::Cmd(parse_cmd(&ctx)?),
        "ENTRYPOINT" => InstructionKind::Entrypoint(parse_cmd(&ctx)?),
        "SHELL" => InstructionKind::Shell(parse_shell(&ctx)?),
        "ENV" => InstructionKind::Env(parse_key_values(&ctx)?),
        "LABEL" => InstructionKind::Label(parse_key_values(&ctx)?),
        "MAINTAINER" => InstructionKind::Maintainer(parse_single(&ctx)?),
        "EXPOSE" => InstructionKind::Expose(parse_expose(&ctx)?),
        "ADD" => InstructionKind::Add(parse_add(&ctx)?),
        "COPY" => InstructionKind::Copy(parse_copy(&ctx)?),
        "USER" => InstructionKind::User(parse_single(&ctx)?),
        "WORKDIR" => InstructionKind::Workdir(parse_single(&ctx)?),
        "VOLUME" => InstructionKind::Volume(parse_volume(&ctx)?),
        "ARG" => InstructionKind::Arg(parse_arg(&ctx)?),
        "ONBUILD" => InstructionKind::Onbuild(parse_onbuild(&ctx)?),
        "STOPSIGNAL" => InstructionKind::StopSignal(parse_single(&ctx)?),
        "HEALTHCHECK" => InstructionKind::Healthcheck(parse_healthcheck(&ctx)?),
        _ => return Err(unknown_instruction(&ctx)),
    };
    Ok(Parsed::Instruction(Instruction {
        kind,
        span: node.span,
        original: node.original.clone(),
    }))
}

fn unknown_instruction(ctx: &Ctx<'_>) -> DockerfileError {
    let message = format!("unknown instruction: {}", ctx.keyword);
    ctx.err(with_hint(message, &ctx.keyword, &KEYWORDS))
}

/// `FROM [--platform=p] base [AS name]`.
fn parse_from(ctx: &Ctx<'_>) -> Result<FromLine, DockerfileError> {
    let args = ctx.values();
    let name = match args {
        [_] => None,
        [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(stage_name(ctx, name)?),
        _ => return Err(ctx.err("FROM requires either one or three arguments")),
    };
    let flags = Flags::parse(ctx, &[("platform", FlagKind::String)])?;
    Ok(FromLine {
        base: args[0].clone(),
        name,
        platform: flags.string("platform"),
        span: ctx.node.span,
    })
}

/// Lower-cases and checks a stage name: `^[a-z][a-z0-9-_.]*$`.
fn stage_name(ctx: &Ctx<'_>, name: &str) -> Result<String, DockerfileError> {
    let lower = name.to_ascii_lowercase();
    let mut chars = lower.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !(first_ok && rest_ok) {
        let message =
            format!("invalid name for build stage: {name:?}, name can't start with a number or contain symbols");
        return Err(ctx.err_at(name, message));
    }
    Ok(lower)
}

/// `ONBUILD trigger`: the trigger typed, except ONBUILD/FROM/MAINTAINER.
fn parse_onbuild(ctx: &Ctx<'_>) -> Result<Onbuild, DockerfileError> {
    Flags::parse(ctx, &[])?;
    let Args::SubCommand(child) = &ctx.node.args else {
        return Err(ctx.at_least_one());
    };
    let trigger = child.keyword.to_ascii_uppercase();
    let child_ctx = Ctx::new(child);
    match trigger.as_str() {
        "ONBUILD" => {
            return Err(child_ctx.err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"))
        }
        "FROM" | "MAINTAINER" => {
            return Err(child_ctx.err(format!("{trigger} isn't allowed as an ONBUILD trigger")));
        }
        _ => {}
    }
    let Parsed::Instruction(mut instruction) = parse_node(child)? else {
        unreachable!("FROM triggers are rejected above");
    };
    instruction.span = Span::new(child.span.start, ctx.node.span.end);
    let mut expression = child.original.trim_start().to_string();
    for heredoc in &child.heredocs {
        expression.push('\n');
        expression.push_str(&heredoc.content);
        expression.push_str(&heredoc.name);
    }
    Ok(Onbuild {
        trigger: Box::new(instruction),
        expression,
    })
}
