//! ADD and COPY: sources and destination (shell words or JSON array), heredoc
//! sources, and each instruction's flags.
//!
//! COPY: `--from --chown --chmod --link --parents --exclude` (repeatable).
//! ADD: `--chown --chmod --link --exclude --checksum --keep-git-dir --unpack`
//! (BuildKit has no `--parents` on ADD). Heredoc sources are recognised in the
//! shell form only; in JSON form `<<EOF` is a literal path.

use super::ctx::Ctx;
use super::flags::{FlagKind, Flags};
use super::model::{AddSpec, CopySpec, Source};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::heredoc::{chomp_content, parse_marker};

const COPY_FLAGS: [(&str, FlagKind); 6] = [
    ("from", FlagKind::String),
    ("chown", FlagKind::String),
    ("chmod", FlagKind::String),
    ("link", FlagKind::Bool),
    ("parents", FlagKind::Bool),
    ("exclude", FlagKind::Strings),
];

const ADD_FLAGS: [(&str, FlagKind); 7] = [
    ("chown", FlagKind::String),
    ("chmod", FlagKind::String),
    ("link", FlagKind::Bool),
    ("exclude", FlagKind::Strings),
    ("checksum", FlagKind::String),
    ("keep-git-dir", FlagKind::Bool),
    ("unpack", FlagKind::Bool),
];

/// Types a COPY node.
pub(crate) fn parse_copy(ctx: &Ctx<'_>) -> Result<CopySpec, DockerfileError> {
    check_arity(ctx)?;
    let flags = Flags::parse(ctx, &COPY_FLAGS)?;
    let (sources, dest) = sources_and_dest(ctx)?;
    Ok(CopySpec {
        sources,
        dest,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        exclude: flags.strings("exclude"),
    })
}

/// Types an ADD node.
pub(crate) fn parse_add(ctx: &Ctx<'_>) -> Result<AddSpec, DockerfileError> {
    check_arity(ctx)?;
    let flags = Flags::parse(ctx, &ADD_FLAGS)?;
    let (sources, dest) = sources_and_dest(ctx)?;
    Ok(AddSpec {
        sources,
        dest,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        exclude: flags.strings("exclude"),
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        unpack: flags.opt_bool("unpack"),
    })
}

fn check_arity(ctx: &Ctx<'_>) -> Result<(), DockerfileError> {
    if ctx.values().len() < 2 {
        return Err(ctx.err(format!(
            "{} requires at least two arguments, but only one was provided. Destination could not be determined",
            ctx.keyword
        )));
    }
    Ok(())
}

/// Splits the arguments into sources (heredocs resolved) and destination.
fn sources_and_dest(ctx: &Ctx<'_>) -> Result<(Vec<Source>, String), DockerfileError> {
    let values = ctx.values();
    let (dest, sources) = values.split_last().expect("arity checked");
    if !ctx.is_json() && heredoc_word(ctx, dest)?.is_some() {
        return Err(ctx.err_at(
            dest,
            format!("{} cannot accept a heredoc as a destination", ctx.keyword),
        ));
    }
    let mut out = Vec::with_capacity(sources.len());
    for word in sources {
        let heredoc = if ctx.is_json() {
            None
        } else {
            heredoc_word(ctx, word)?
        };
        let source = heredoc.unwrap_or_else(|| Source::Path(word.clone()));
        out.push(source);
    }
    Ok((out, dest.clone()))
}

/// The heredoc source a word like `<<EOF` / `<<-"EOF"` stands for, if any.
fn heredoc_word(ctx: &Ctx<'_>, word: &str) -> Result<Option<Source>, DockerfileError> {
    let marker =
        parse_marker(word).map_err(|m| ctx.err_at(word, format!("bad heredoc marker: {m}")))?;
    let Some(marker) = marker else {
        return Ok(None);
    };
    let body = ctx.node.heredocs.iter().find(|h| h.name == marker.name);
    let content = body.map(|h| h.content.clone()).unwrap_or_default();
    let content = if marker.chomp {
        chomp_content(&content)
    } else {
        content
    };
    Ok(Some(Source::Heredoc {
        name: marker.name,
        content,
        expand: marker.expand,
    }))
}
