//! The content digest of what a COPY/ADD reads, for its cache key.
//!
//! Encoding, version 1: `sha256("kiln-file-content/v1\n" record*)` with one
//! record per source, in order:
//!
//! - a path: `p`, the u32-length-prefixed source, then the 32-byte
//!   [`checksum_entries`] of its selection (context: owners zeroed, since COPY
//!   from the context writes 0:0; tree: the tree's own owners);
//! - a heredoc: `i`, the name, the content (both length-prefixed);
//! - a URL: `r`, the URL, the `--checksum` (both length-prefixed).
//!
//! A URL without `--checksum` makes the whole digest `None` (unknown until
//! fetched). Timestamps are never part of it.

use std::io::Read;

use sha2::{Digest as _, Sha256};

use super::source::{self, SourceRoot};
use super::{FileError, FileInput};
use crate::context::{checksum_entries, Entry, EntryKind};
use crate::graph::{CopySource, FileAction};
use crate::Digest;

const VERSION: &str = "kiln-file-content/v1\n";

fn put(pre: &mut Vec<u8>, bytes: &[u8]) {
    pre.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    pre.extend_from_slice(bytes);
}

/// See [`super::content_digest`].
pub(super) fn compute(
    action: &FileAction,
    input: Option<FileInput<'_>>,
) -> Result<Option<Digest>, FileError> {
    let mut pre = VERSION.as_bytes().to_vec();
    let mut any = false;
    let tree = match &input {
        Some(FileInput::Tree(t)) => Some(SourceRoot::open(t, false)?),
        _ => None,
    };
    for s in &action.sources {
        match s {
            CopySource::Path(p) => {
                let sum = match (&input, &tree) {
                    (Some(FileInput::Context(ctx)), _) => {
                        let mut entries =
                            source::context_entries(ctx, p, &action.exclude, action.parents)?;
                        for e in &mut entries {
                            e.uid = 0;
                            e.gid = 0;
                        }
                        checksum_entries(&entries)
                    }
                    (_, Some(root)) => checksum_entries(&tree_entries(root, p, action)?),
                    _ => return Err(FileError(format!("COPY {p}: no source to read it from"))),
                };
                pre.push(b'p');
                put(&mut pre, p.as_bytes());
                pre.extend_from_slice(sum.as_bytes());
            }
            CopySource::Inline { name, content } => {
                pre.push(b'i');
                put(&mut pre, name.as_bytes());
                put(&mut pre, content.as_bytes());
            }
            CopySource::Remote(url) => {
                let Some(sum) = action.add.as_ref().and_then(|a| a.checksum.as_deref()) else {
                    return Ok(None);
                };
                pre.push(b'r');
                put(&mut pre, url.as_bytes());
                put(&mut pre, sum.as_bytes());
            }
        }
        any = true;
    }
    Ok(any.then(|| Digest::of(&pre)))
}

/// The entries a tree source selects, with content digests.
fn tree_entries(root: &SourceRoot, p: &str, action: &FileAction) -> Result<Vec<Entry>, FileError> {
    let sel = source::from_tree(root, p, &action.exclude, action.parents)?;
    let mut out = Vec::with_capacity(sel.paths.len());
    for path in &sel.paths {
        let st = root.lstat(path)?;
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => EntryKind::File,
            libc::S_IFDIR => EntryKind::Dir,
            libc::S_IFLNK => EntryKind::Symlink,
            libc::S_IFIFO => EntryKind::Fifo,
            libc::S_IFCHR => EntryKind::CharDevice,
            libc::S_IFBLK => EntryKind::BlockDevice,
            _ => continue,
        };
        let digest = match kind {
            EntryKind::File => Some(hash_file(root.open_file(path)?, path)?),
            _ => None,
        };
        let link_target = match kind {
            EntryKind::Symlink => Some(root.readlink(path)?),
            _ => None,
        };
        out.push(Entry {
            path: path.clone(),
            kind,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            rdev: st.st_rdev,
            link_target,
            digest,
        });
    }
    Ok(out)
}

fn hash_file(mut file: std::fs::File, path: &str) -> Result<Digest, FileError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| FileError::io("read", format!("/{path}"), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Digest::from_bytes(hasher.finalize().into()))
}
