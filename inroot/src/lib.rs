//! `kiln-inroot`: every path that a Dockerfile, a build context, an image or
//! an archive names is resolved **inside its root**, never by the host's own
//! lookup. This crate is the one place that does it.
//!
//! A [`Root`] is an open directory descriptor (the context folder, a mounted
//! stage, a container's rootfs). Paths are opened relative to it with
//! `openat2(2)` in one of two [`Resolve`] modes:
//! - [`Resolve::InRoot`]: as if the root were `/` (`RESOLVE_IN_ROOT`): symlinks
//!   are followed, but an absolute link or a `..` that climbs stops at the root,
//!   exactly like a `chroot`. This is BuildKit's rule for mount sources and
//!   COPY destinations (continuity's `fs.RootPath`).
//! - [`Resolve::Beneath`]: below the root with no symlink followed at all
//!   (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), for reading sources whose links
//!   must be copied as links.
//!
//! Magic links (`/proc/self/fd/…` inside a root) are never followed.
//!
//! Acting on the result is done through the descriptor, never by re-walking the
//! path: [`bind_fd`] mounts what a descriptor points at through
//! `/proc/self/fd/N`, so no rename or symlink swap between the check and the
//! mount can redirect it (time-of-check to time-of-use). The kernel guarantees
//! the resolution itself: `RESOLVE_IN_ROOT` fails with `EAGAIN` when a
//! concurrent rename could have let it escape, and [`openat2`] retries then.

mod at;
mod error;
mod mount;
mod openat2;
mod root;

pub use at::{stat_at, unlink_at};
pub use error::{Error, Result};
pub use mount::{bind_fd, fd_path, MountTarget};
pub use openat2::{openat2, Resolve, RETRIES};
pub use root::{Root, MAX_SMALL_FILE};
