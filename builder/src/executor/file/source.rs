//! The source side: what one COPY/ADD source path selects, from the build
//! context ([`Context::resolve`], which never follows a symlink) or from a
//! mounted tree (`--from`), and reading it back without leaving the root.
//!
//! Trees are read like BuildKit reads them: the named source (and the
//! directories of a wildcard) are resolved as in a chroot at the tree root
//! (`openat2(RESOLVE_IN_ROOT)`, so `/lib -> usr/lib` works and `/..` stays at
//! the root), the last component included (`COPY --from=x /lib/libc.so /`
//! copies the file a link names); below a matched directory nothing is
//! followed: links are copied as links. The context keeps links as links even
//! when named directly (they may point outside it).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use kiln_parser::dockerignore::{Matcher, Pattern};

use super::sys::{self, Resolve};
use super::FileError;
use crate::context::path::{base, is_within, join, scoped_clean};
use crate::context::{go_filepath_match, has_wildcards, Context, ContextError, Entry, Selection};

/// What one source selected.
#[derive(Debug, Default)]
pub(super) struct Selected {
    /// Every path read (real, `/`-separated, relative to the source root, `.`
    /// for the root), in canonical order: a directory before its contents.
    pub paths: Vec<String>,
    /// The matches themselves: (real path, name the user wrote for it).
    pub roots: Vec<(String, String)>,
    /// `--parents`: the directory the kept parents start below (`.` = root).
    pub pivot: Option<String>,
}

/// A source root opened for reading.
pub(super) struct SourceRoot {
    fd: OwnedFd,
    /// Whether ownership is reset to 0:0 (the context, as BuildKit does).
    pub zero_owner: bool,
    real: PathBuf,
    /// The directory [`SourceRoot::lstat`] last looked in (copies go
    /// directory by directory): its path below the root and an `O_PATH`
    /// descriptor opened without following anything.
    last_dir: std::cell::RefCell<Option<(String, OwnedFd)>>,
}

/// The `"/path": not found` error BuildKit gives for a missing source.
pub(super) fn not_found(source: &str) -> FileError {
    let clean = scoped_clean(source);
    let shown = if clean == "." {
        "/".to_string()
    } else {
        format!("/{clean}")
    };
    FileError(format!("{shown:?}: not found"))
}

fn context_err(e: ContextError) -> FileError {
    match e {
        ContextError::NotFound(s) => not_found(&s),
        e => FileError(e.to_string()),
    }
}

impl SourceRoot {
    /// Opens the context directory.
    pub(super) fn context(ctx: &Context) -> Result<SourceRoot, FileError> {
        SourceRoot::open(ctx.dir(), true)
    }

    /// Opens a root directory.
    pub(super) fn open(dir: &Path, zero_owner: bool) -> Result<SourceRoot, FileError> {
        let fd = sys::open_root(dir).map_err(|e| FileError::io("open source", dir.display(), e))?;
        let real =
            std::fs::canonicalize(dir).map_err(|e| FileError::io("resolve", dir.display(), e))?;
        Ok(SourceRoot {
            fd,
            zero_owner,
            real,
            last_dir: std::cell::RefCell::new(None),
        })
    }

    /// An `O_PATH` descriptor of `rel` itself (never following anything).
    pub(super) fn path_fd(&self, rel: &str) -> Result<OwnedFd, FileError> {
        let rel = if rel == "." { "" } else { rel };
        sys::open(
            self.fd.as_raw_fd(),
            rel,
            libc::O_PATH | libc::O_NOFOLLOW,
            Resolve::Beneath,
        )
        .map_err(|e| FileError::io("open", format!("/{rel}"), e))
    }

    /// `lstat` of `rel`: its directory is opened below the root without
    /// following anything (and kept for the next call in the same
    /// directory), then the last component is `fstatat`ed without following.
    pub(super) fn lstat(&self, rel: &str) -> Result<libc::stat, FileError> {
        let rel = if rel == "." { "" } else { rel };
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if name.is_empty() || name == "." || name == ".." {
            let fd = self.path_fd(rel)?;
            return sys::fstat(fd.as_raw_fd())
                .map_err(|e| FileError::io("stat", format!("/{rel}"), e));
        }
        let mut cache = self.last_dir.borrow_mut();
        if cache.as_ref().is_none_or(|(d, _)| d != dir) {
            let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            let fd = sys::open(self.fd.as_raw_fd(), dir, flags, Resolve::Beneath)
                .map_err(|e| FileError::io("open", format!("/{dir}"), e))?;
            *cache = Some((dir.to_string(), fd));
        }
        let dir_fd = cache.as_ref().map_or(-1, |(_, fd)| fd.as_raw_fd());
        sys::lstat_at(dir_fd, name)
            .map_err(|e| FileError::io("stat", format!("/{rel}"), e))?
            .ok_or_else(|| {
                let e = std::io::Error::from_raw_os_error(libc::ENOENT);
                FileError::io("stat", format!("/{rel}"), e)
            })
    }

    /// The target of symlink `rel`.
    pub(super) fn readlink(&self, rel: &str) -> Result<String, FileError> {
        let fd = self.path_fd(rel)?;
        sys::readlink_fd(fd.as_raw_fd())
            .map_err(|e| FileError::io("read link", format!("/{rel}"), e))
    }

    /// Opens regular file `rel` for reading.
    pub(super) fn open_file(&self, rel: &str) -> Result<std::fs::File, FileError> {
        sys::open(
            self.fd.as_raw_fd(),
            rel,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOCTTY,
            Resolve::Beneath,
        )
        .map(std::fs::File::from)
        .map_err(|e| FileError::io("open", format!("/{rel}"), e))
    }

    /// The real path (no symlinks) of `written`, resolved in the root.
    fn resolve_in_root(&self, written: &str) -> Result<Option<String>, FileError> {
        let rel = if written == "." { "" } else { written };
        let fd = match sys::open(self.fd.as_raw_fd(), rel, libc::O_PATH, Resolve::InRoot) {
            Ok(fd) => fd,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(FileError::io("resolve", format!("/{rel}"), e)),
        };
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| FileError::io("resolve", format!("/{rel}"), e))?;
        let inner = link
            .strip_prefix(&self.real)
            .map_err(|_| FileError(format!("/{rel}: resolved outside the source root")))?;
        let s = inner
            .to_str()
            .ok_or_else(|| FileError(format!("/{rel}: path is not UTF-8")))?;
        Ok(Some(if s.is_empty() {
            ".".into()
        } else {
            s.to_string()
        }))
    }
}

/// The `--exclude` matcher, if any.
pub(super) fn excluder(excludes: &[String]) -> Result<Option<Matcher>, FileError> {
    if excludes.is_empty() {
        return Ok(None);
    }
    let patterns = excludes
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Pattern::new(t, i + 1).map_err(|e| FileError(format!("invalid --exclude {t:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Matcher::new(patterns)))
}

/// The `--parents` pivot of a source (`a/./b` -> `a`), else the root.
fn pivot_of(source: &str) -> String {
    source
        .find("/./")
        .map_or(".".to_string(), |i| scoped_clean(&source[..i]))
}

/// The non-wildcard directory a wildcard source lists (`a/b/*.txt` -> `a/b`).
fn literal_prefix(cleaned: &str) -> String {
    let mut dirs = Vec::new();
    for part in cleaned.split('/') {
        if has_wildcards(part) {
            break;
        }
        dirs.push(part);
    }
    if dirs.is_empty() {
        ".".into()
    } else {
        dirs.join("/")
    }
}

/// The context entries `source` reads (with content digests). A wildcard
/// matching nothing selects nothing (BuildKit), but the directory it lists
/// must exist.
pub(super) fn context_entries(
    ctx: &Context,
    source: &str,
    excludes: &[String],
    parents: bool,
) -> Result<Vec<Entry>, FileError> {
    let cleaned = scoped_clean(source);
    if has_wildcards(&cleaned) {
        let prefix = literal_prefix(&cleaned);
        if ctx.get(&prefix).is_none() {
            return Err(not_found(&prefix));
        }
    }
    let selection = Selection::new([source])
        .exclude(excludes.iter().cloned())
        .parents(parents);
    ctx.resolve(&selection).map_err(context_err)
}

/// What `source` selects from the context.
pub(super) fn from_context(
    ctx: &Context,
    source: &str,
    excludes: &[String],
    parents: bool,
) -> Result<Selected, FileError> {
    let cleaned = scoped_clean(source);
    let wild = has_wildcards(&cleaned);
    let entries = context_entries(ctx, source, excludes, parents)?;
    let roots = entries
        .iter()
        .filter(|e| {
            if wild {
                go_filepath_match(&cleaned, &e.path).unwrap_or(false)
            } else {
                e.path == cleaned
            }
        })
        .map(|e| (e.path.clone(), e.path.clone()))
        .collect();
    Ok(Selected {
        paths: entries.into_iter().map(|e| e.path).collect(),
        roots,
        pivot: parents.then(|| pivot_of(source)),
    })
}

/// What `source` selects from a tree (see the module docs).
pub(super) fn from_tree(
    src: &SourceRoot,
    source: &str,
    excludes: &[String],
    parents: bool,
) -> Result<Selected, FileError> {
    let cleaned = scoped_clean(source);
    let mut written = vec![".".to_string()];
    if cleaned != "." {
        for part in cleaned.split('/') {
            let mut next = Vec::new();
            for dir in &written {
                if !has_wildcards(part) {
                    next.push(join(dir, part));
                    continue;
                }
                let Some(real) = src.resolve_in_root(dir)? else {
                    return Err(not_found(dir));
                };
                let Ok(fd) = sys::open(
                    src.fd.as_raw_fd(),
                    if real == "." { "" } else { &real },
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    Resolve::Beneath,
                ) else {
                    continue;
                };
                let names = sys::read_dir(fd.as_raw_fd())
                    .map_err(|e| FileError::io("read directory", format!("/{real}"), e))?;
                for name in names {
                    if go_filepath_match(part, &name)
                        .map_err(|_| FileError(format!("invalid pattern {source:?}")))?
                    {
                        next.push(join(dir, &name));
                    }
                }
            }
            written = next;
        }
    }
    let wild = has_wildcards(&cleaned);
    let matcher = excluder(excludes)?;
    let mut sel = Selected {
        pivot: parents.then(|| pivot_of(source)),
        ..Selected::default()
    };
    for w in written {
        let Some(real) = src.resolve_in_root(&w)? else {
            if wild {
                continue;
            }
            return Err(not_found(source));
        };
        if real != "." && matcher.as_ref().is_some_and(|m| m.matches(base(&w))) {
            continue;
        }
        if let Some(pivot) = &sel.pivot {
            add_parents(&mut sel.paths, &real, pivot);
        }
        sel.roots.push((real.clone(), w));
        walk(src, &real, &real, matcher.as_ref(), &mut sel.paths)?;
    }
    Ok(sel)
}

/// The directories strictly between `pivot` and `path`, outermost first.
fn add_parents(paths: &mut Vec<String>, path: &str, pivot: &str) {
    let mut dirs = Vec::new();
    let mut dir = crate::context::path::parent(path);
    while dir != "." && dir != pivot && is_within(dir, pivot) {
        dirs.push(dir.to_string());
        dir = crate::context::path::parent(dir);
    }
    paths.extend(dirs.into_iter().rev());
}

/// A directory being listed by [`walk`].
struct Frame {
    rel: String,
    names: Vec<String>,
    next: usize,
    /// Where the directory's own path is in the output.
    start: usize,
    /// An excluded directory, kept only if an exception re-includes
    /// something below it.
    conditional: bool,
}

/// Appends `rel` and, for a directory, everything below it not excluded,
/// depth first in name order. A loop over an explicit stack: a hostile
/// `--from` tree thousands of directories deep must not overflow the
/// worker thread's stack.
fn walk(
    src: &SourceRoot,
    top: &str,
    rel: &str,
    matcher: Option<&Matcher>,
    out: &mut Vec<String>,
) -> Result<(), FileError> {
    let strip = if top == "." { 0 } else { top.len() + 1 };
    let mut stack = Vec::new();
    enter(src, rel, false, out, &mut stack)?;
    while let Some(frame) = stack.last_mut() {
        let Some(name) = frame.names.get(frame.next) else {
            if frame.conditional && out.len() - frame.start <= 1 {
                out.truncate(frame.start);
            }
            stack.pop();
            continue;
        };
        frame.next += 1;
        let child = join(&frame.rel, name);
        let mut conditional = false;
        if let Some(m) = matcher {
            let inner = &child[strip..];
            if m.matches(inner) {
                let is_dir = src.lstat(&child)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
                if !is_dir || m.can_skip_dir(inner) {
                    continue;
                }
                // An exception may re-include something below: walk, but
                // keep the dir itself only if something below is kept.
                conditional = true;
            }
        }
        enter(src, &child, conditional, out, &mut stack)?;
    }
    Ok(())
}

/// Appends `rel`; for a directory, lists it onto `stack` for [`walk`].
fn enter(
    src: &SourceRoot,
    rel: &str,
    conditional: bool,
    out: &mut Vec<String>,
    stack: &mut Vec<Frame>,
) -> Result<(), FileError> {
    let start = out.len();
    out.push(rel.to_string());
    let st = src.lstat(rel)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Ok(());
    }
    let open_rel = if rel == "." { "" } else { rel };
    let fd = sys::open(
        src.fd.as_raw_fd(),
        open_rel,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        Resolve::Beneath,
    )
    .map_err(|e| FileError::io("open directory", format!("/{open_rel}"), e))?;
    let names = sys::read_dir(fd.as_raw_fd())
        .map_err(|e| FileError::io("read directory", format!("/{open_rel}"), e))?;
    stack.push(Frame {
        rel: rel.to_string(),
        names,
        next: 0,
        start,
        conditional,
    });
    Ok(())
}
