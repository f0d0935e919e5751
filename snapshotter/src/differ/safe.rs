//! Keeping layer entries inside the target: entry names are normalised (leading
//! `/` stripped, `.` dropped, `..` refused), and parent directories are resolved one
//! component at a time with `symlink_metadata`, following symlinks found in the
//! target as if the target were the root of a chroot (same as Docker: chroot-style
//! resolution): an absolute link target starts again at the target, and `..` at
//! the target stays there. The resolved path is only ever the target plus real
//! directories found below it, so nothing outside can be reached.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};

use crate::{Error, Result};

/// Symlinks followed while resolving one entry's parents, at most (as Linux).
const MAX_SYMLINK_HOPS: usize = 40;

/// A refused entry.
pub(crate) fn refuse(entry: &Path, reason: &'static str) -> Error {
    Error::UnsafeEntry {
        entry: entry.to_path_buf(),
        reason,
    }
}

/// Maps an I/O error while applying `entry`.
pub(crate) fn entry_err<'a>(
    entry: &'a Path,
    op: &'static str,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::LayerEntry {
        entry: entry.to_path_buf(),
        op,
        source,
    }
}

/// Normalises the tar name `raw` to a relative path of plain components (empty
/// for the root). `..` anywhere is refused rather than resolved.
pub(crate) fn normalize(raw: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for comp in raw.components() {
        match comp {
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Err(refuse(raw, "path contains a `..` component")),
            Component::Prefix(_) => return Err(refuse(raw, "path has a prefix")),
        }
    }
    Ok(out)
}

/// Resolves directory `dir` (relative, normalised) inside `root` and returns its
/// real location, which is inside `root` by construction. Missing directories are
/// created (mode 0755) when `create`, else the result is `None`. Symlinks are
/// followed chroot-style (absolute targets from `root`, `..` clamped at `root`);
/// a symlink loop (over 40 hops) or a non-directory in the way refuses `entry`.
pub(crate) fn resolve_dir(
    root: &Path,
    dir: &Path,
    entry: &Path,
    create: bool,
) -> Result<Option<PathBuf>> {
    let mut walk = Walk {
        root,
        entry,
        create,
        resolved: Vec::new(),
        todo: dir.iter().map(OsString::from).collect(),
        hops: 0,
    };
    while let Some(comp) = walk.todo.pop_front() {
        if !walk.step(comp)? {
            return Ok(None);
        }
    }
    Ok(Some(walk.here()))
}

/// One resolution in progress.
struct Walk<'a> {
    root: &'a Path,
    entry: &'a Path,
    create: bool,
    /// Components resolved so far: real directories below `root`.
    resolved: Vec<OsString>,
    /// Components still to resolve (symlink targets are pushed in front).
    todo: VecDeque<OsString>,
    hops: usize,
}

impl Walk<'_> {
    /// The real directory resolved so far.
    fn here(&self) -> PathBuf {
        let mut path = self.root.to_path_buf();
        path.extend(&self.resolved);
        path
    }

    /// Resolves one component; `false` when it is missing and not to be created.
    fn step(&mut self, comp: OsString) -> Result<bool> {
        if comp == "." {
            return Ok(true);
        }
        if comp == ".." {
            // Like `/..` in a chroot: at the root, `..` is the root.
            self.resolved.pop();
            return Ok(true);
        }
        let path = self.here().join(&comp);
        match fs::symlink_metadata(&path) {
            Ok(md) if md.is_dir() => self.resolved.push(comp),
            Ok(md) if md.file_type().is_symlink() => self.follow(&path)?,
            Ok(_) => {
                return Err(refuse(
                    self.entry,
                    "a parent on its path is not a directory",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !self.create => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .mode(0o755)
                    .create(&path)
                    .map_err(entry_err(self.entry, "create parent directory"))?;
                self.resolved.push(comp);
            }
            Err(e) => return Err(entry_err(self.entry, "inspect parent")(e)),
        }
        Ok(true)
    }

    /// Queues the target of the symlink at `link` in place of it.
    fn follow(&mut self, link: &Path) -> Result<()> {
        self.hops += 1;
        if self.hops > MAX_SYMLINK_HOPS {
            return Err(refuse(
                self.entry,
                "too many symlinks on its path (a symlink loop?)",
            ));
        }
        let target = fs::read_link(link).map_err(entry_err(self.entry, "read parent symlink"))?;
        if target.has_root() {
            // Absolute: resolved from the target, as from `/` in a chroot.
            self.resolved.clear();
        }
        let comps = target.components().filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        });
        for comp in comps.collect::<Vec<_>>().into_iter().rev() {
            self.todo.push_front(comp);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_strips_root_and_dots_and_refuses_dotdot() {
        assert_eq!(normalize(Path::new("/a/./b/")).unwrap(), Path::new("a/b"));
        assert_eq!(normalize(Path::new("./")).unwrap(), Path::new(""));
        assert!(matches!(
            normalize(Path::new("a/b/../c")),
            Err(Error::UnsafeEntry { .. })
        ));
    }

    #[test]
    fn resolution_is_chroot_style_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("usr/up")).unwrap();
        std::os::unix::fs::symlink("/usr/lib", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("/", root.join("slash")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let entry = Path::new("e");
        let got = resolve_dir(root, Path::new("lib/new"), entry, true).unwrap();
        assert_eq!(got.unwrap(), root.join("usr/lib/new"));
        assert!(root.join("usr/lib/new").is_dir());
        assert_eq!(
            resolve_dir(root, Path::new("missing"), entry, false).unwrap(),
            None
        );
        let ok = |d: &str| resolve_dir(root, Path::new(d), entry, false).unwrap();
        assert_eq!(ok("usr/up/usr").unwrap(), root.join("usr"));
        assert_eq!(ok("abs").unwrap(), root.join("usr/lib"));
        assert_eq!(ok("slash/usr/up/usr/up").unwrap(), root.to_path_buf());
        assert_eq!(
            resolve_dir(root, Path::new("loop/x"), entry, true)
                .unwrap_err()
                .to_string(),
            "refused layer entry `e`: too many symlinks on its path (a symlink loop?)"
        );
    }
}
