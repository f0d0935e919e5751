//! The build context as a `RUN --mount=type=bind` (no `from=`) sees it.
//!
//! BuildKit's rule: ignored files are not part of the context at all, and the
//! mount's `source` is resolved inside the context (continuity's `RootPath`),
//! so a context symlink — absolute or climbing with `..` — can never reach the
//! host. kiln reads the context in place, so the step gets an overlay over the
//! context folder:
//! - the top layer is a *mask*: an overlay whiteout for every path the context
//!   leaves out ([`Context::left_out`]), so `.env`, `.git` or whatever
//!   `.dockerignore` names is simply not there;
//! - the bottom layer is the context folder, given to the kernel as its
//!   descriptor (`/proc/self/fd/N`), never as a path looked up again;
//! - with `rw`, an upper and a work folder in the step's scratch folder take
//!   the writes, thrown away with the step (BuildKit discards them too).
//!
//! The `source` is then resolved chroot-style inside the mounted view
//! ([`kiln_inroot::Root::resolve`]) and what it resolves to is bind-mounted
//! from its descriptor, so a symlink swapped in afterwards changes nothing.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use kiln_inroot::fd_path;
use kiln_snapshotter::Mount;

use crate::context::Context;
use crate::solver::ExecError;

/// The layers of a context view, ready to mount: keep it alive until mounted
/// (the overlay names its layers by descriptor).
pub(super) struct ContextView {
    mask: OwnedFd,
    context: OwnedFd,
}

impl ContextView {
    /// Writes the mask for `context` into the new folder `mask` (in the
    /// step's scratch folder) and opens both layers.
    pub(super) fn prepare(context: &Context, mask: &Path) -> Result<ContextView, ExecError> {
        let io_err = |what: &str, e: &dyn std::fmt::Display| {
            ExecError::other(format!(
                "context bind mount: {what} {}: {e}",
                mask.display()
            ))
        };
        std::fs::create_dir_all(mask).map_err(|e| io_err("create", &e))?;
        let left_out = context
            .left_out()
            .map_err(|e| ExecError::other(format!("context bind mount: {e}")))?;
        for rel in &left_out {
            whiteout(&mask.join(rel)).map_err(|e| io_err("whiteout in", &e))?;
        }
        let mask_fd = std::fs::File::open(mask).map_err(|e| io_err("open", &e))?;
        let context_fd = context
            .root_fd()
            .try_clone_to_owned()
            .map_err(|e| io_err("duplicate the context descriptor for", &e))?;
        Ok(ContextView {
            mask: mask_fd.into(),
            context: context_fd,
        })
    }

    /// The overlay mount of the view: read-only, or writable into `upper`
    /// and `work` (both empty folders of the step).
    pub(super) fn overlay(&self, writable: Option<(&Path, &Path)>) -> Mount {
        let lower = |fd: &OwnedFd| fd_path(fd.as_fd()).display().to_string();
        let mut options = vec![format!(
            "lowerdir={}:{}",
            lower(&self.mask),
            lower(&self.context)
        )];
        match writable {
            Some((upper, work)) => {
                options.push(format!("upperdir={}", upper.display()));
                options.push(format!("workdir={}", work.display()));
            }
            None => options.push("ro".into()),
        }
        Mount {
            kind: "overlay".into(),
            source: "overlay".into(),
            target: None,
            options,
        }
    }
}

/// An overlay whiteout (a 0/0 character device) at `path`, parents created.
fn whiteout(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a valid NUL-terminated path; a character device 0:0.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
