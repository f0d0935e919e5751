//! One COPY/ADD: destination rules, then every source in order.
//!
//! Destination (BuildKit's `dockerfile2llb` + `fsutil` copy): a relative dest
//! is joined to the working directory; it is a directory when it ends in `/`
//! (or is `.`), when there are several sources, when a wildcard matched more
//! than one entry, or when it already is one (links followed inside the
//! root). A directory source copies its *contents* into dest (dest is created
//! 0755 if missing, an existing one keeps its attributes); `--parents` keeps
//! each source's path below the root (or below the `/./` pivot). A file,
//! link or node source becomes `dest/<name>` or, for a non-directory dest,
//! dest itself.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};

use super::archive;
use super::owner::{resolve_chown, Chmod};
use super::remote;
use super::source::{self, Selected, SourceRoot};
use super::sys;
use super::write::{join, Body, Meta, Writer};
use super::{FileError, FileInput, FileStamp, Produced, Reuse};
use crate::context::path::{base, is_within, scoped_clean};
use crate::context::Context;
use crate::graph::{CopySource, FileAction};

/// Settings shared by all sources of one action.
struct Opts<'a> {
    chown: Option<(u32, u32)>,
    chmod: Option<Chmod>,
    /// Inode -> first destination path, for hard links within one copy.
    links: HashMap<(u64, u64), String>,
    /// The build context, when copying from it (file digests).
    context: Option<&'a Context>,
    /// Files of a previous copy that may be kept.
    reuse: Option<&'a Reuse<'a>>,
    /// What was written, when the caller asked ([`super::apply_reusing`]).
    produced: Option<Produced>,
}

/// Performs `action` (see [`super::apply`]); `tracking` asks for the list
/// of written paths, optionally keeping unchanged files of a previous copy.
pub(super) fn run(
    action: &FileAction,
    input: Option<FileInput<'_>>,
    dest_root: &std::path::Path,
    workdir: &str,
    tracking: Option<Option<&Reuse<'_>>>,
) -> Result<Produced, FileError> {
    let mut w = Writer::open(dest_root, "")?;
    let chown = action
        .chown
        .as_deref()
        .map(|c| resolve_chown(c, &w))
        .transpose()?;
    w.parent_owner = chown.unwrap_or((0, 0));
    let context = match &input {
        Some(FileInput::Context(ctx)) => Some(*ctx),
        _ => None,
    };
    let mut opts = Opts {
        chown,
        chmod: action.chmod.as_deref().map(Chmod::parse).transpose()?,
        links: HashMap::new(),
        context,
        reuse: tracking.flatten(),
        produced: tracking.map(|_| Vec::new()),
    };
    let raw = if action.dest.starts_with('/') {
        action.dest.clone()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), action.dest)
    };
    let trailing =
        action.dest.is_empty() || raw.ends_with('/') || raw.ends_with("/.") || action.dest == ".";
    let dest = match scoped_clean(&raw) {
        d if d == "." => String::new(),
        d => d,
    };
    // Resolve every path source first: a missing one fails before any write.
    let src = match input {
        Some(FileInput::Context(ctx)) => Some((SourceRoot::context(ctx)?, Some(ctx))),
        Some(FileInput::Tree(t)) => Some((SourceRoot::open(t, false)?, None)),
        None => None,
    };
    let mut selections = Vec::new();
    for s in &action.sources {
        if let CopySource::Path(p) = s {
            let (root, ctx) = src
                .as_ref()
                .ok_or_else(|| FileError(format!("COPY {p}: no source to read it from")))?;
            selections.push(match ctx {
                Some(ctx) => source::from_context(ctx, p, &action.exclude, action.parents)?,
                None => source::from_tree(root, p, &action.exclude, action.parents)?,
            });
        }
    }
    let many = action.sources.len() > 1 || selections.iter().any(|s| s.roots.len() > 1);
    let into_dir = trailing || many || action.parents;
    let mut selections = selections.into_iter();
    for s in &action.sources {
        let sel = match s {
            CopySource::Path(_) => selections.next().unwrap_or_default(),
            _ => Selected::default(),
        };
        // A wildcard that matched nothing creates nothing (BuildKit).
        if matches!(s, CopySource::Path(_)) && sel.paths.is_empty() {
            continue;
        }
        if into_dir {
            w.mkdir_all(&dest)?;
        }
        match s {
            CopySource::Path(_) => {
                let (root, _) = src
                    .as_ref()
                    .ok_or_else(|| FileError("COPY: no source".into()))?;
                copy_selected(root, &sel, &mut w, &dest, into_dir, action, &mut opts)?;
            }
            CopySource::Inline { name, content } => {
                let target = file_target(&w, &dest, into_dir, name);
                let now = sys::now();
                let meta = file_meta(&opts, 0o644, now, now);
                w.put(&target, &meta, Body::File(&mut content.as_bytes()), false)?;
            }
            CopySource::Remote(url) => add_url(url, action, &mut w, &dest, into_dir, &opts)?,
        }
    }
    w.finish()?;
    Ok(opts.produced.unwrap_or_default())
}

/// Where a non-directory named `name` goes.
fn file_target(w: &Writer, dest: &str, into_dir: bool, name: &str) -> String {
    if into_dir || w.is_dir(dest) {
        join(dest, name)
    } else {
        dest.to_string()
    }
}

fn file_meta(opts: &Opts, mode: u32, atime: sys::Time, mtime: sys::Time) -> Meta {
    let (uid, gid) = opts.chown.unwrap_or((0, 0));
    let mode = opts.chmod.as_ref().map_or(mode, |c| c.apply(mode, false));
    Meta {
        mode,
        uid,
        gid,
        atime,
        mtime,
    }
}

/// Copies what one source selected.
fn copy_selected(
    src: &SourceRoot,
    sel: &Selected,
    w: &mut Writer,
    dest: &str,
    into_dir: bool,
    action: &FileAction,
    opts: &mut Opts,
) -> Result<(), FileError> {
    if let Some(pivot) = &sel.pivot {
        for p in &sel.paths {
            let rel = if pivot == "." {
                p.as_str()
            } else {
                p.strip_prefix(pivot.as_str())
                    .unwrap_or(p)
                    .trim_start_matches('/')
            };
            let rel = if rel == "." { "" } else { rel };
            copy_one(src, p, w, &join(dest, rel), rel.is_empty(), opts)?;
        }
        return Ok(());
    }
    let unpack = action.add.as_ref().is_some_and(|a| a.unpack != Some(false));
    for (real, written) in &sel.roots {
        let st = src.lstat(real)?;
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFDIR {
            w.mkdir_all(dest)?;
            let strip = if real == "." { 0 } else { real.len() + 1 };
            for p in sel
                .paths
                .iter()
                .filter(|p| is_within(p, real) && *p != real)
            {
                copy_one(src, p, w, &join(dest, &p[strip..]), false, opts)?;
            }
            continue;
        }
        if unpack && kind == libc::S_IFREG && archive::is_archive(src.open_file(real)?) {
            let dir = w.mkdir_all(dest)?;
            let mut into = Writer::from_fd(dir, &w.show(dest));
            into.replace_dirs = true;
            archive::extract(src.open_file(real)?, &mut into, &format!("/{real}"))?;
            into.finish()?;
            continue;
        }
        let target = file_target(w, dest, into_dir, base(written));
        copy_one(src, real, w, &target, false, opts)?;
    }
    Ok(())
}

/// Copies the entry `p` of `src` to `target` (a directory merges when `keep_meta`).
fn copy_one(
    src: &SourceRoot,
    p: &str,
    w: &mut Writer,
    target: &str,
    keep_meta: bool,
    opts: &mut Opts,
) -> Result<(), FileError> {
    let st = src.lstat(p)?;
    let kind = st.st_mode & libc::S_IFMT;
    let (uid, gid) = opts.chown.unwrap_or(if src.zero_owner {
        (0, 0)
    } else {
        (st.st_uid, st.st_gid)
    });
    let mut mode = st.st_mode & 0o7777;
    if kind != libc::S_IFLNK {
        if let Some(c) = &opts.chmod {
            mode = c.apply(mode, kind == libc::S_IFDIR);
        }
    }
    let meta = Meta {
        mode,
        uid,
        gid,
        atime: (st.st_atime, st.st_atime_nsec),
        mtime: (st.st_mtime, st.st_mtime_nsec),
    };
    let stamp = match (kind, opts.context) {
        (libc::S_IFREG, Some(ctx)) => ctx.get(p).and_then(|e| e.digest).map(|digest| FileStamp {
            digest,
            mode: meta.mode & 0o7777,
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime,
            size: st.st_size as u64,
        }),
        _ => None,
    };
    if let Some(produced) = &mut opts.produced {
        produced.push((target.to_string(), stamp));
    }
    match kind {
        libc::S_IFDIR => w.put(target, &meta, Body::Dir, keep_meta),
        libc::S_IFREG => {
            if st.st_nlink > 1 {
                let key = (st.st_dev, st.st_ino);
                if let Some(first) = opts.links.get(&key) {
                    if let Some(produced) = &mut opts.produced {
                        // A link is not a copy of content: never kept.
                        if let Some(last) = produced.last_mut() {
                            last.1 = None;
                        }
                    }
                    return w.put(target, &meta, Body::HardLink(first.clone()), false);
                }
                opts.links.insert(key, target.to_string());
            }
            if let (Some(reuse), Some(stamp)) = (opts.reuse, stamp) {
                // The previous build wrote this very content with these
                // attributes here, and its file is in place (hard link).
                if reuse.previous.get(target) == Some(&Some(stamp)) {
                    return Ok(());
                }
            }
            let mut file = src.open_file(p)?;
            w.put(target, &meta, Body::File(&mut file), false)
        }
        libc::S_IFLNK => w.put(target, &meta, Body::Symlink(src.readlink(p)?), false),
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
            w.put(target, &meta, Body::Node(kind, st.st_rdev), false)
        }
        _ => Ok(()), // sockets are not copied
    }
}

/// ADD of a URL (see the `remote` module).
fn add_url(
    url: &str,
    action: &FileAction,
    w: &mut Writer,
    dest: &str,
    into_dir: bool,
    opts: &Opts,
) -> Result<(), FileError> {
    let git = url.starts_with("git@") || url.starts_with("git://") || url.contains(".git#");
    if git || url.ends_with(".git") {
        return Err(FileError(format!(
            "ADD {url}: git sources are not supported yet"
        )));
    }
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(FileError(format!("ADD {url}: unsupported URL scheme")));
    }
    let checksum = action.add.as_ref().and_then(|a| a.checksum.clone());
    if let Some(c) = &checksum {
        if !c.starts_with("sha256:") || c.len() != 71 {
            return Err(FileError(format!(
                "ADD {url}: unsupported --checksum {c:?} (expected sha256:<64 hex>)"
            )));
        }
    }
    let mut tmp = temp_file().map_err(|e| FileError::io("create temporary file for", url, e))?;
    let fetched = remote::fetch(url, &mut tmp)?;
    if let Some(c) = checksum {
        if !c.eq_ignore_ascii_case(&fetched.digest) {
            return Err(FileError(format!(
                "ADD {url}: digest mismatch: expected {c}, got {}",
                fetched.digest
            )));
        }
    }
    tmp.seek(SeekFrom::Start(0))
        .map_err(|e| FileError::io("rewind download of", url, e))?;
    let target = file_target(w, dest, into_dir, &remote::file_name(url));
    let mtime = fetched.last_modified.map_or_else(sys::now, |s| (s, 0));
    let meta = file_meta(opts, 0o600, mtime, mtime);
    w.put(&target, &meta, Body::File(&mut tmp), false)
}

/// An unnamed temporary file (gone when closed).
fn temp_file() -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags_tmpfile()
        .open(std::env::temp_dir())
}

trait TmpFile {
    fn custom_flags_tmpfile(&mut self) -> &mut Self;
}

impl TmpFile for std::fs::OpenOptions {
    fn custom_flags_tmpfile(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_TMPFILE).mode(0o600)
    }
}
