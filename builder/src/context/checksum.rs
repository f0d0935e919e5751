//! The content checksum of a selection: a stable, versioned encoding of exactly
//! the entries a COPY/ADD reads.
//!
//! Encoding, version 1 (all integers big-endian):
//!
//! ```text
//! preimage = "kiln-context-checksum/v1\n" record*
//! record   = u32 len(path) path          context-relative, "/"-separated, "." = root
//!            u8  kind                    f file, d dir, l symlink, p fifo, c/b device
//!            u32 mode                    st_mode & 0o7777: permissions + setuid/setgid/sticky
//!            u32 uid, u32 gid
//!            payload                     f: 32-byte sha256 of the content
//!                                        l: u32 len(target) target (as stored, unresolved)
//!                                        c/b: u64 rdev;  d/p: nothing
//! checksum = sha256(preimage)
//! ```
//!
//! Records come in canonical order (depth-first, names sorted byte-wise: a
//! directory right before its contents). Timestamps, inode numbers, devices and
//! link counts are deliberately absent: touching a file keeps the checksum, a
//! chmod, chown, content change or rename changes it. The sources, `--exclude`
//! and `--parents` flags themselves are part of the op definition, hashed by the
//! solver, not here. A new encoding gets a new version string.

use sha2::{Digest as _, Sha256};

use super::entry::{Entry, EntryKind};
use crate::Digest;

/// The version line that starts every preimage.
pub const CHECKSUM_VERSION: &str = "kiln-context-checksum/v1\n";

/// The checksum of `entries` (which must be in canonical order and have the
/// content digest of every file, as [`super::Context::resolve`] returns them).
pub fn checksum_entries(entries: &[Entry]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(CHECKSUM_VERSION.as_bytes());
    let mut buf = Vec::with_capacity(256);
    for entry in entries {
        buf.clear();
        encode(entry, &mut buf);
        hasher.update(&buf);
    }
    Digest::from_bytes(hasher.finalize().into())
}

/// Appends the record of `entry` to `buf`.
fn encode(entry: &Entry, buf: &mut Vec<u8>) {
    put_bytes(buf, entry.path.as_bytes());
    buf.push(entry.kind.tag());
    buf.extend_from_slice(&(entry.mode & 0o7777).to_be_bytes());
    buf.extend_from_slice(&entry.uid.to_be_bytes());
    buf.extend_from_slice(&entry.gid.to_be_bytes());
    match entry.kind {
        EntryKind::File => {
            let digest = entry.digest.map(|d| *d.as_bytes()).unwrap_or([0; 32]);
            buf.extend_from_slice(&digest);
        }
        EntryKind::Symlink => {
            put_bytes(buf, entry.link_target.as_deref().unwrap_or("").as_bytes());
        }
        EntryKind::CharDevice | EntryKind::BlockDevice => {
            buf.extend_from_slice(&entry.rdev.to_be_bytes());
        }
        EntryKind::Dir | EntryKind::Fifo => {}
    }
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    buf.extend_from_slice(bytes);
}

impl Entry {
    /// One human-readable line per entry (`f 0644 0:0 sha256:… path`), for
    /// `--debug-cache` to show which file changed a key.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            EntryKind::File => self.digest.map(|d| d.to_string()).unwrap_or_default(),
            EntryKind::Symlink => format!("-> {}", self.link_target.as_deref().unwrap_or("")),
            EntryKind::CharDevice | EntryKind::BlockDevice => format!("rdev {}", self.rdev),
            EntryKind::Dir | EntryKind::Fifo => String::new(),
        };
        let tag = self.kind.tag() as char;
        format!(
            "{tag} {:04o} {}:{} {what} {}",
            self.mode, self.uid, self.gid, self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, content: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            size: content.len() as u64,
            rdev: 0,
            link_target: None,
            digest: Some(Digest::of(content)),
        }
    }

    #[test]
    fn encoding_is_pinned() {
        // A change here changes every cache key: bump CHECKSUM_VERSION instead.
        let sum = checksum_entries(&[file("a", 0o644, b"hi")]);
        let mut pre = CHECKSUM_VERSION.as_bytes().to_vec();
        pre.extend_from_slice(&[
            0, 0, 0, 1, b'a', b'f', 0, 0, 1, 0xa4, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        pre.extend_from_slice(Digest::of(b"hi").as_bytes());
        assert_eq!(sum, Digest::of(&pre));
    }

    #[test]
    fn mode_path_and_content_matter() {
        let base = checksum_entries(&[file("a", 0o644, b"x")]);
        assert_ne!(base, checksum_entries(&[file("a", 0o4644, b"x")]));
        assert_ne!(base, checksum_entries(&[file("b", 0o644, b"x")]));
        assert_ne!(base, checksum_entries(&[file("a", 0o644, b"y")]));
        assert!(file("a", 0o644, b"x")
            .describe()
            .starts_with("f 0644 0:0 sha256:"));
    }
}
