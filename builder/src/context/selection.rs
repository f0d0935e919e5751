//! [`Selection`]: the part of the context one COPY/ADD reads, and resolving it
//! against the walked entries.
//!
//! Semantics (Docker's COPY, as BuildKit implements it):
//! - a source is cleaned within the context root: a leading `/` is dropped and
//!   `..` cannot climb above the root (`../../etc/passwd` is `etc/passwd` *in
//!   the context*);
//! - a source with wildcards is matched with Go's `filepath.Match` against every
//!   context path; no match selects nothing (BuildKit's `AllowEmptyWildcard`,
//!   which the Dockerfile frontend sets); a source without wildcards must exist;
//! - a directory means itself (its metadata is copied onto the destination)
//!   and everything below it;
//! - symlinks are selected as symlinks (their target string), never followed;
//! - `--exclude` patterns use `.dockerignore` matching and are tried against a
//!   matched source by its name, and against anything below a matched directory
//!   by its path relative to that directory; an excluded directory is pruned
//!   unless an exception (`!`) could re-include something in it;
//! - `--parents` also selects the directories between the root (or the `/./`
//!   pivot of the source, as in `a/./b/c`) and each matched source, since the
//!   copy re-creates them.

use std::collections::HashMap;

use kiln_parser::dockerignore::{Matcher, Pattern};

use super::entry::{EntryKind, Walked};
use super::error::{ContextError, Result};
use super::gomatch;
use super::path::{base, is_within, parent, scoped_clean};

/// What one COPY/ADD reads from the context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Source paths or wildcard patterns, as written in the Dockerfile.
    pub sources: Vec<String>,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--parents`: keep the sources' parent directories.
    pub parents: bool,
}

impl Selection {
    /// A selection of `sources` with no excludes and no `--parents`.
    pub fn new<I, S>(sources: I) -> Selection
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Selection {
            sources: sources.into_iter().map(Into::into).collect(),
            ..Selection::default()
        }
    }

    /// Adds `--exclude` patterns.
    pub fn exclude<I, S>(mut self, patterns: I) -> Selection
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.excludes.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Sets `--parents`.
    pub fn parents(mut self, parents: bool) -> Selection {
        self.parents = parents;
        self
    }
}

/// The indices (ascending, so in canonical order) of the entries `selection` reads.
pub(crate) fn resolve(
    entries: &[Walked],
    by_path: &HashMap<String, usize>,
    selection: &Selection,
) -> Result<Vec<usize>> {
    let excluder = excluder(&selection.excludes)?;
    let mut chosen = vec![false; entries.len()];
    for source in &selection.sources {
        let pivot = selection
            .parents
            .then(|| source.find("/./").map(|i| scoped_clean(&source[..i])))
            .flatten();
        let cleaned = scoped_clean(source);
        for root in roots(entries, by_path, source, &cleaned)? {
            let path = &entries[root].entry.path;
            if excluder
                .as_ref()
                .is_some_and(|m| root != 0 && m.matches(base(path)))
            {
                continue;
            }
            add_subtree(entries, root, excluder.as_ref(), &mut chosen);
            if selection.parents {
                add_parents(by_path, path, pivot.as_deref().unwrap_or("."), &mut chosen);
            }
        }
    }
    Ok((0..entries.len()).filter(|&i| chosen[i]).collect())
}

/// The `--exclude` matcher, if there are any patterns.
fn excluder(excludes: &[String]) -> Result<Option<Matcher>> {
    if excludes.is_empty() {
        return Ok(None);
    }
    let patterns = excludes
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Pattern::new(text, i + 1).map_err(|e| ContextError::BadPattern {
                pattern: text.clone(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Matcher::new(patterns)))
}

/// The entries a source names directly: one exact path, or every wildcard match.
fn roots(
    entries: &[Walked],
    by_path: &HashMap<String, usize>,
    source: &str,
    cleaned: &str,
) -> Result<Vec<usize>> {
    if !gomatch::has_wildcards(cleaned) {
        return by_path
            .get(cleaned)
            .map(|&i| vec![i])
            .ok_or_else(|| ContextError::NotFound(source.to_string()));
    }
    gomatch::validate(cleaned).map_err(|_| ContextError::BadPattern {
        pattern: source.to_string(),
        reason: "syntax error in pattern (Go filepath.Match)".into(),
    })?;
    let matched = |w: &Walked| gomatch::matches(cleaned, &w.entry.path).unwrap_or(false);
    Ok((1..entries.len())
        .filter(|&i| matched(&entries[i]))
        .collect())
}

/// Marks `root` and, for a directory, everything below it that is not excluded.
fn add_subtree(entries: &[Walked], root: usize, excluder: Option<&Matcher>, chosen: &mut [bool]) {
    chosen[root] = true;
    if entries[root].entry.kind != EntryKind::Dir {
        return;
    }
    let dir = entries[root].entry.path.as_str();
    let strip = if dir == "." { 0 } else { dir.len() + 1 };
    let mut i = root + 1;
    while i < entries.len() && is_within(&entries[i].entry.path, dir) {
        let entry = &entries[i].entry;
        let rel = &entry.path[strip..];
        match excluder {
            Some(m) if m.matches(rel) => {
                i += 1;
                if entry.kind == EntryKind::Dir && m.can_skip_dir(rel) {
                    while i < entries.len() && is_within(&entries[i].entry.path, &entry.path) {
                        i += 1;
                    }
                }
            }
            _ => {
                chosen[i] = true;
                i += 1;
            }
        }
    }
}

/// Marks the directories strictly between `pivot` and `path`.
fn add_parents(by_path: &HashMap<String, usize>, path: &str, pivot: &str, chosen: &mut [bool]) {
    let mut dir = parent(path);
    while dir != "." && dir != pivot && is_within(dir, pivot) {
        if let Some(&i) = by_path.get(dir) {
            chosen[i] = true;
        }
        dir = parent(dir);
    }
}
