//! Walking the context in place: every path under the root, in canonical order,
//! with `.dockerignore` applied and no symlink followed.

use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use kiln_parser::dockerignore::Matcher;

use super::entry::{Entry, EntryKind, Stat, Walked};
use super::error::{ContextError, Result};
use super::fs;
use super::path::join;

/// Walks the directory `root` (whose path, for messages, is `root_path`).
///
/// Ignored paths are left out with Docker's rules: an ignored directory is
/// pruned when [`Matcher::can_skip_dir`] allows it (BuildKit's optimisation),
/// otherwise it is descended and kept only as the parent of something kept.
/// Symlinks are recorded with their target and never followed; sockets are
/// skipped. The result is in canonical order ([`super::path::compare`]), the
/// root (`"."`) first.
pub(crate) fn walk(root: RawFd, root_path: &Path, matcher: &Matcher) -> Result<Vec<Walked>> {
    let stat = fs::stat_fd(root).map_err(|e| ContextError::io("stat", root_path, e))?;
    let mut out = vec![walked(".".to_string(), EntryKind::Dir, stat, None)];
    Walker { root_path, matcher }.dir(root, ".", &mut out)?;
    Ok(out)
}

fn walked(path: String, kind: EntryKind, stat: Stat, link_target: Option<String>) -> Walked {
    let size = match kind {
        EntryKind::File | EntryKind::Symlink => stat.size,
        _ => 0,
    };
    let rdev = match kind {
        EntryKind::CharDevice | EntryKind::BlockDevice => stat.rdev,
        _ => 0,
    };
    Walked {
        entry: Entry {
            path,
            kind,
            mode: stat.mode & 0o7777,
            uid: stat.uid,
            gid: stat.gid,
            size,
            rdev,
            link_target,
            digest: None,
        },
        stat,
    }
}

struct Walker<'a> {
    root_path: &'a Path,
    matcher: &'a Matcher,
}

impl Walker<'_> {
    fn utf8(&self, rel: &str, name: &[u8]) -> Result<String> {
        String::from_utf8(name.to_vec()).map_err(|_| {
            let shown = self
                .root_path
                .join(rel)
                .join(String::from_utf8_lossy(name).as_ref());
            ContextError::NonUtf8Path(shown)
        })
    }

    fn io(&self, op: &'static str, rel: &str) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
        let path = self.root_path.join(rel);
        move |e| ContextError::io(op, path, e)
    }

    /// Appends the kept contents of directory `fd` (context path `rel`) to `out`.
    fn dir(&self, fd: RawFd, rel: &str, out: &mut Vec<Walked>) -> Result<()> {
        let names = fs::read_dir_names(fd).map_err(self.io("read directory", rel))?;
        for name in names {
            let child = join(rel, &self.utf8(rel, &name)?);
            let stat = fs::stat_at(fd, &name).map_err(self.io("stat", &child))?;
            let Some(kind) = EntryKind::from_mode(stat.mode) else {
                continue;
            };
            let ignored = !self.matcher.is_empty() && self.matcher.matches(&child);
            if kind == EntryKind::Dir {
                if ignored && self.matcher.can_skip_dir(&child) {
                    continue;
                }
                let mark = out.len();
                out.push(walked(child.clone(), kind, stat, None));
                let sub = fs::open_dir_at(fd, &name).map_err(self.io("open directory", &child))?;
                self.dir(sub.as_raw_fd(), &child, out)?;
                if ignored && out.len() == mark + 1 {
                    out.truncate(mark);
                }
                continue;
            }
            if ignored {
                continue;
            }
            let target = if kind == EntryKind::Symlink {
                let raw = fs::read_link_at(fd, &name).map_err(self.io("read link", &child))?;
                Some(self.utf8(rel, &raw)?)
            } else {
                None
            };
            out.push(walked(child, kind, stat, target));
        }
        Ok(())
    }
}
