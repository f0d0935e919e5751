//! COPY/ADD: mounts the destination tree (and a view of a `--from` tree),
//! then hands over to [`super::file::apply`].

use std::path::{Path, PathBuf};

use super::file::{self, FileInput, Reuse};
use super::snapshot::{unique, with_view, Active};
use super::{hardlink_clone, rebase};
use super::{KilnExecutor, Output, RootFs};
use crate::graph::{FileAction, Vertex};
use crate::solver::{ComputedKey, ExecError};
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

/// Applies `action` over `inputs[0]` and commits the result (a context
/// copy starts from its previous build's files when it can: see
/// [`super::rebase`]).
pub fn execute(
    ex: &KilnExecutor,
    vertex: &Vertex,
    action: &FileAction,
    inputs: &[Output],
    computed: &ComputedKey,
) -> Result<RootFs, ExecError> {
    let key = computed.key;
    let input = inputs
        .first()
        .ok_or_else(|| ExecError::other("COPY without an input filesystem"))?
        .root()?;
    let active = Active::prepare(ex, input)?;
    // The graph already made the destination absolute.
    let workdir = "/";
    let err = |e: file::FileError| ExecError::other(e.to_string());
    let from = from_input(action, inputs)?;
    if let (Some(Output::Context { context, .. }), Some(identity), Some(upper)) = (
        from,
        rebase::identity(vertex, inputs, &computed.explanation),
        active.upper_dir(),
    ) {
        // `--no-cache` (or a `--no-cache-filter` stage) copies everything
        // afresh; the record it leaves serves the next build.
        let previous = (!vertex.ignore_cache)
            .then(|| {
                rebase::load(
                    &ex.root,
                    ex.snapshotter.as_ref(),
                    &identity,
                    input.snapshot.as_deref(),
                )
            })
            .flatten()
            .filter(|record| {
                rebase::own_dir(ex.snapshotter.as_ref(), &record.snapshot)
                    .is_some_and(|dir| hardlink_clone::clone_tree(&dir, &upper).is_ok())
            });
        let previous = match previous {
            Some(p) => Some(p),
            None => {
                // A half-made clone must not stay under the copy.
                empty_dir(&upper)?;
                None
            }
        };
        let reuse = previous.as_ref().map(|p| Reuse { previous: &p.paths });
        let produced = active.with_mounted(|dest| {
            file::apply_reusing(
                action,
                Some(FileInput::Context(context)),
                dest,
                workdir,
                reuse.as_ref(),
            )
            .map_err(err)
        })?;
        if let Some(p) = &previous {
            rebase::remove_stale(&upper, &p.paths, &produced).map_err(|e| {
                ExecError::other(format!("remove stale files of {}: {e}", upper.display()))
            })?;
        }
        let out = active.finish(input, key)?;
        if let Some(snapshot) = &out.snapshot {
            // A record that cannot be written only costs a full copy later.
            let _ = rebase::save(
                &ex.root,
                &identity,
                snapshot,
                input.snapshot.as_deref(),
                &own_dir_or(ex, snapshot, &upper),
                &produced,
            );
        }
        return Ok(out);
    }
    active.with_mounted(|dest| match from {
        None => file::apply(action, None, dest, workdir).map_err(err),
        Some(Output::Context { context, .. }) => {
            file::apply(action, Some(FileInput::Context(context)), dest, workdir).map_err(err)
        }
        Some(Output::Root(tree)) => with_view(ex, tree, &active.work.join("from"), |from| {
            file::apply(action, Some(FileInput::Tree(from)), dest, workdir).map_err(err)
        }),
    })?;
    active.finish(input, key)
}

/// The committed snapshot's own directory (the upper directory moves on
/// commit only if the snapshotter renames it; asked again to be sure).
fn own_dir_or(ex: &KilnExecutor, snapshot: &str, fallback: &Path) -> PathBuf {
    rebase::own_dir(ex.snapshotter.as_ref(), snapshot).unwrap_or_else(|| fallback.to_path_buf())
}

/// Removes everything inside `dir`.
fn empty_dir(dir: &Path) -> Result<(), ExecError> {
    let err = |e: std::io::Error| ExecError::other(format!("empty {}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        let result = match path.symlink_metadata() {
            Ok(md) if md.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        result.map_err(err)?;
    }
    Ok(())
}
