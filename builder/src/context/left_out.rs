//! What the context folder holds but the build context does not: ignored
//! paths (`.dockerignore`) and skipped entries (sockets). A context bind mount
//! hides them (see `executor::context_view`), because in BuildKit they are
//! simply not part of the context.

use std::os::fd::AsRawFd;

use super::entry::EntryKind;
use super::error::{ContextError, Result};
use super::path::join;
use super::{fs, Context};

impl Context {
    /// The top-most paths present in the context folder that are not part of
    /// the context, in walk order: an ignored directory whose contents are all
    /// left out is one path; one that keeps some re-included descendant is
    /// descended instead. Walked through descriptors, no link followed.
    ///
    /// # Errors
    ///
    /// A directory that cannot be read (it changed since the context was
    /// opened, or lost its permissions).
    pub fn left_out(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let root = fs::open_dir_at(self.root.as_raw_fd(), b".")
            .map_err(|e| ContextError::io("open", &self.dir, e))?;
        let mut pending = vec![(".".to_string(), root)];
        while let Some((rel, fd)) = pending.pop() {
            let names = fs::read_dir_names(fd.as_raw_fd())
                .map_err(|e| ContextError::io("read directory", self.dir.join(&rel), e))?;
            for name in names {
                let child = join(&rel, &String::from_utf8_lossy(&name));
                match self
                    .by_path
                    .get(&child)
                    .map(|&i| self.entries[i].entry.kind)
                {
                    None => out.push(child),
                    Some(EntryKind::Dir) => {
                        let sub = fs::open_dir_at(fd.as_raw_fd(), &name).map_err(|e| {
                            ContextError::io("open directory", self.dir.join(&child), e)
                        })?;
                        pending.push((child, sub));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(out)
    }

    /// The context folder's root descriptor (to resolve or mount from it).
    pub fn root_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.root.as_fd()
    }
}
