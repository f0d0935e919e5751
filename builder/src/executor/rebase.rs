//! Rebuilding a context COPY from its previous build: when a few files of a
//! large context changed, the step starts from the files its last build
//! wrote instead of copying everything again.
//!
//! After a COPY/ADD from the build context runs on the overlay snapshotter,
//! a record is kept under `<root>/builder/cache/rebase/<identity>`: the
//! committed snapshot it produced, that snapshot's parent, and every
//! destination path it wrote with the stamp of regular files (content
//! digest, mode, owner, mtime, size). The
//! identity is the step's cache key with the context's content left out
//! (same instruction, same options, same parent filesystem), so the next
//! build of the same step with changed files finds it.
//!
//! On a cache miss with a record whose snapshot still exists and whose
//! parent is the new step's parent (and not under `--no-cache`, which copies
//! everything afresh):
//! 1. the previous snapshot's own directory is cloned into the new active
//!    snapshot's upper directory with hard links (`hardlink_clone`:
//!    directories are made afresh; files, links, nodes and whiteouts are
//!    linked, never written in place: committed snapshots are
//!    immutable, overlayfs copies a lower file up before any change, and the
//!    copy replaces a file by unlinking it first);
//! 2. the copy runs as usual, except that a regular file the previous build
//!    wrote at the same destination from content with the same digest and
//!    with the same size, mode, owner and mtime (its record's stamp) is kept
//!    as it is (the record is only written for a copy whose every path is
//!    where it says, and the cloned snapshot is immutable);
//! 3. after unmounting, the destination paths the previous build wrote and
//!    this one did not (nor any of their descendants) are removed from the
//!    upper directory, so a base-image file the previous copy had replaced
//!    shows again.
//!
//! The result is the same tree a full copy gives. A record is only written
//! when every path the copy wrote is found under the same name in the upper
//! directory (no destination parent was a symlink leading elsewhere), and
//! only for copies of context paths (no ADD of archives or URLs, no inline
//! heredoc files). Records are a cache: a missing, unreadable or stale one
//! means a full copy.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use kiln_snapshotter::{Contents, Snapshotter};

use super::file::sys;
use super::file::{FileStamp, Produced};
use super::Output;
use crate::graph::{CopySource, FileAction, Op, Vertex};
use crate::solver::{CacheKey, KeyExplanation};
use crate::Digest;

/// First line of a record file.
const MAGIC: &str = "kiln-rebase-v1";

/// The identity of a context COPY step: its cache key's preimage (`step`,
/// as the solver computed it) with the content left out; `None` for steps
/// this module does not handle.
pub fn identity(vertex: &Vertex, inputs: &[Output], step: &KeyExplanation) -> Option<CacheKey> {
    let Op::File(action) = &vertex.op else {
        return None;
    };
    if !eligible(action) || !matches!(inputs.get(action.from?), Some(Output::Context { .. })) {
        return None;
    }
    // With a content digest the preimage already keys the context input by
    // its content, as it does with any other digest in its place.
    step.content?;
    let mut preimage = step.clone();
    preimage.content = Some(Digest::of(
        b"kiln-rebase: the step's content, whatever it is",
    ));
    Some(preimage.key())
}

/// Whether `action` only copies context paths (nothing fetched, extracted
/// or written inline).
fn eligible(action: &FileAction) -> bool {
    action.add.is_none()
        && action
            .sources
            .iter()
            .all(|s| matches!(s, CopySource::Path(_)))
}

/// What the previous build of a step wrote.
pub struct Record {
    /// Its committed snapshot (on the same parent as the new step's).
    pub snapshot: String,
    /// Every destination path it wrote, with the stamp of regular files
    /// copied from the context.
    pub paths: HashMap<String, Option<FileStamp>>,
}

fn record_path(root: &Path, identity: &CacheKey) -> PathBuf {
    crate::cache_store::cache_dir(root)
        .join("rebase")
        .join(identity.0.hex())
}

/// The record of `identity` if it is usable on top of `parent` (its
/// snapshot still exists and has the same parent).
pub fn load(
    root: &Path,
    snapshotter: &dyn Snapshotter,
    identity: &CacheKey,
    parent: Option<&str>,
) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(root, identity)).ok()?;
    let mut lines = text.split('\n');
    let mut head = lines.next()?.split(' ');
    if head.next()? != MAGIC {
        return None;
    }
    let snapshot = head.next()?.to_string();
    let recorded_parent = match head.next()? {
        "-" => None,
        p => Some(p.to_string()),
    };
    if recorded_parent.as_deref() != parent {
        return None;
    }
    let info = snapshotter.stat(&snapshot).ok()?;
    if info.parent.as_deref() != parent {
        return None;
    }
    let mut paths = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (stamp, path) = match line.strip_prefix("- ") {
            Some(path) => (None, path),
            None => {
                let mut f = line.splitn(8, ' ');
                let mut next = || f.next();
                let digest: Digest = next()?.parse().ok()?;
                let mode = u32::from_str_radix(next()?, 8).ok()?;
                let (uid, gid) = (next()?.parse().ok()?, next()?.parse().ok()?);
                let mtime = (next()?.parse().ok()?, next()?.parse().ok()?);
                let size = next()?.parse().ok()?;
                let stamp = FileStamp {
                    digest,
                    mode,
                    uid,
                    gid,
                    mtime,
                    size,
                };
                (Some(stamp), next()?)
            }
        };
        paths.insert(path.to_string(), stamp);
    }
    Some(Record { snapshot, paths })
}

/// Keeps what a copy into `upper` wrote as the record of `identity`, if
/// every written path is under its own name in `upper`: each directory
/// above a written path is a real directory there (a destination parent
/// that was a symlink in the base image would have sent the file elsewhere).
pub fn save(
    root: &Path,
    identity: &CacheKey,
    snapshot: &str,
    parent: Option<&str>,
    upper: &Path,
    produced: &Produced,
) -> std::io::Result<()> {
    let mut text = format!("{MAGIC} {snapshot} {}\n", parent.unwrap_or("-"));
    let mut dirs_seen: HashSet<&str> = HashSet::new();
    for (path, stamp) in produced {
        if path.is_empty() || path.contains('\n') {
            return Ok(()); // not a record this module can rely on
        }
        let mut p = path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !dirs_seen.insert(p) {
                break;
            }
            if !upper.join(p).symlink_metadata().is_ok_and(|m| m.is_dir()) {
                return Ok(());
            }
        }
        match stamp {
            None => text.push_str(&format!("- {path}\n")),
            Some(s) => text.push_str(&format!(
                "{} {:o} {} {} {} {} {} {path}\n",
                s.digest, s.mode, s.uid, s.gid, s.mtime.0, s.mtime.1, s.size
            )),
        }
    }
    crate::fsutil::replace(&record_path(root, identity), text.as_bytes())
}

/// The own directory of the committed overlay snapshot `name` (its top
/// layer, from the snapshotter's layout): `None` on the native snapshotter,
/// whose directories hold whole trees.
pub fn own_dir(snapshotter: &dyn Snapshotter, name: &str) -> Option<PathBuf> {
    let layout = snapshotter.layout(name).ok()?;
    (layout.contents == Contents::Changes).then_some(layout.own)
}

/// Removes from `upper` the paths `previous` wrote that `produced` did not
/// write, keeping ancestors of written paths.
pub fn remove_stale(
    upper: &Path,
    previous: &HashMap<String, Option<FileStamp>>,
    produced: &Produced,
) -> std::io::Result<()> {
    let mut keep: HashSet<&str> = HashSet::with_capacity(produced.len() * 2);
    for (path, _) in produced {
        let mut p = path.as_str();
        while keep.insert(p) {
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
    }
    let mut stale: Vec<&String> = previous
        .keys()
        .filter(|p| !keep.contains(p.as_str()))
        .collect();
    // Parents first: removing a directory removes what it holds.
    stale.sort();
    for path in stale {
        let disk = upper.join(path);
        let md = match disk.symlink_metadata() {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        // The parent keeps the times the copy gave it.
        let parent = disk.parent().unwrap_or(upper);
        let times = parent.symlink_metadata()?;
        if md.is_dir() {
            std::fs::remove_dir_all(&disk)?;
        } else {
            std::fs::remove_file(&disk)?;
        }
        let parent = parent.to_str().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "path is not UTF-8")
        })?;
        let (atime, mtime) = (
            (times.atime(), times.atime_nsec()),
            (times.mtime(), times.mtime_nsec()),
        );
        sys::utimes_at(libc::AT_FDCWD, parent, atime, mtime)?;
    }
    Ok(())
}
