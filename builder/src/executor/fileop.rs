//! COPY/ADD: mounts the destination tree (and a view of a `--from` tree),
//! then hands over to [`super::file::apply`].

use super::file::{self, FileInput};
use super::snapshot::{unique, with_view, Active};
use super::{KilnExecutor, Output, RootFs};
use crate::graph::FileAction;
use crate::solver::{CacheKey, ExecError};
use crate::Digest;

/// The `from` input of `action`, if any.
fn from_input<'a>(
    action: &FileAction,
    inputs: &'a [Output],
) -> Result<Option<&'a Output>, ExecError> {
    match action.from {
        None => Ok(None),
        Some(slot) => inputs
            .get(slot)
            .map(Some)
            .ok_or_else(|| ExecError::other(format!("COPY source input {slot} is missing"))),
    }
}

/// The checksum of what `action` reads (delegated to the file module; a
/// `--from` tree is read through a temporary read-only view).
pub fn content_digest(
    ex: &KilnExecutor,
    action: &FileAction,
    inputs: &[Output],
) -> Result<Option<Digest>, ExecError> {
    match from_input(action, inputs)? {
        None => digest(action, None),
        Some(Output::Context { context, .. }) => digest(action, Some(FileInput::Context(context))),
        Some(Output::Root(tree)) => {
            let dir = ex.root.join("builder/run").join(unique("copy-digest"));
            let result = with_view(ex, tree, &dir, |from| {
                digest(action, Some(FileInput::Tree(from)))
            });
            let _ = std::fs::remove_dir_all(&dir);
            result
        }
    }
}

fn digest(action: &FileAction, input: Option<FileInput<'_>>) -> Result<Option<Digest>, ExecError> {
    file::content_digest(action, input).map_err(|e| ExecError::other(e.to_string()))
}

/// Applies `action` over `inputs[0]` and commits the result.
pub fn execute(
    ex: &KilnExecutor,
    action: &FileAction,
    inputs: &[Output],
    key: CacheKey,
) -> Result<RootFs, ExecError> {
    let input = inputs
        .first()
        .ok_or_else(|| ExecError::other("COPY without an input filesystem"))?
        .root()?;
    let active = Active::prepare(ex, input)?;
    // The graph already made the destination absolute.
    let workdir = "/";
    active.with_mounted(|dest| match from_input(action, inputs)? {
        None => {
            file::apply(action, None, dest, workdir).map_err(|e| ExecError::other(e.to_string()))
        }
        Some(Output::Context { context, .. }) => {
            file::apply(action, Some(FileInput::Context(context)), dest, workdir)
                .map_err(|e| ExecError::other(e.to_string()))
        }
        Some(Output::Root(tree)) => with_view(ex, tree, &active.work.join("from"), |from| {
            file::apply(action, Some(FileInput::Tree(from)), dest, workdir)
                .map_err(|e| ExecError::other(e.to_string()))
        }),
    })?;
    active.finish(input, key)
}
