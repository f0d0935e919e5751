//! The persistent, stat-keyed hash index: which content hash each context file
//! had, so an unchanged file is checked by `lstat` alone and never re-read.
//!
//! Location: `<kiln root>/builder/context-index/<sha256 of the context's
//! canonical path>.idx` ([`index_path`]), one file per context directory.
//!
//! Format, version 1 (integers little-endian):
//!
//! ```text
//! "KILNCIX\0"  u32 version=1  i64 scan_started_ns  u32 count
//! count x { u32 len(path) path  u64 dev  u64 ino  u64 size  i64 mtime_ns
//!           i64 ctime_ns  u32 mode  u32 uid  u32 gid  [32] sha256 }
//! [32] sha256 of every preceding byte
//! ```
//!
//! A stored hash is reused only when the file's `lstat` equals the stored key in
//! every field. A file that cannot be read back (short, bad magic, unknown
//! version, trailer mismatch, truncated record) is ignored: the index is rebuilt
//! from scratch, which costs hashing time and nothing else.
//!
//! Racy timestamps (git's "racy clean" problem): a file rewritten within the
//! filesystem's timestamp granularity of the moment it was hashed can keep the
//! same `mtime` (and size) with different content. So a build records when its
//! scan started (`scan_started_ns`, taken before any `lstat`), and an entry is
//! trusted only if its `mtime` is older than that minus [`RACY_MARGIN_NS`]
//! (2 s: more than a kernel timestamp tick, and FAT/NFS's whole seconds). Newer
//! entries are stored but re-hashed next time; once their `mtime` is old enough
//! relative to a later scan they are trusted. Trust is monotone in
//! `scan_started_ns`, so an entry carried from an older index stays correct.
//!
//! Concurrency: writers never modify the file in place. Each build writes a
//! whole new index to a unique temporary name in the same directory and
//! `rename`s it over the old one, so readers always see one complete index
//! (old or new) and never a torn one; with two builds at once the last rename
//! wins. That is safe without a lock because every entry is self-validating
//! (stat key + the hash read with that stat): whichever index survives holds
//! only entries that were true when written, and an entry lost to the other
//! writer only costs a re-hash. No build ever waits on another.
//!
//! Durability: the index is a cache, so it is not fsynced (that cost ~60 ms per
//! write on a 20,000-file context). After a crash the file is either the old
//! index, the new one, or damaged; a damaged one fails the trailer check and is
//! rebuilt, so a crash costs hashing time, never a wrong hash.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::entry::Stat;
use crate::Digest;

const MAGIC: &[u8; 8] = b"KILNCIX\0";
const VERSION: u32 = 1;
/// How much older than the scan start an `mtime` must be for its hash to be trusted.
pub const RACY_MARGIN_NS: i64 = 2_000_000_000;

/// Where the index of context directory `dir` lives under the kiln root.
/// `dir` should be canonical (the caller resolves it), so two spellings of one
/// directory share an index.
pub fn index_path(kiln_root: &Path, dir: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let name = hex::encode(Sha256::digest(dir.as_os_str().as_bytes()));
    kiln_root
        .join("builder")
        .join("context-index")
        .join(format!("{name}.idx"))
}

/// What loading the index found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// No index is kept (no kiln root given).
    Disabled,
    /// There was no index yet.
    Missing,
    /// An index with this many entries was read.
    Loaded(usize),
    /// The index was unreadable and is being rebuilt (the reason says why).
    Corrupt(String),
}

/// One stored hash with the stat it was read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub stat: Stat,
    pub digest: Digest,
}

/// A loaded index: entries plus the scan start they are judged against.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub scan_started_ns: i64,
    pub entries: HashMap<String, IndexEntry>,
}

impl Index {
    /// Reads the index at `path`; a missing or unreadable file gives an empty index.
    pub fn load(path: &Path) -> (Index, IndexStatus) {
        match fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Index::default(), IndexStatus::Missing)
            }
            Err(e) => (Index::default(), IndexStatus::Corrupt(e.to_string())),
            Ok(bytes) => match decode(&bytes) {
                Ok(index) => {
                    let n = index.entries.len();
                    (index, IndexStatus::Loaded(n))
                }
                Err(reason) => (Index::default(), IndexStatus::Corrupt(reason.to_string())),
            },
        }
    }

    /// The stored hash of `path` if it can be trusted for a file with `stat`.
    pub fn lookup(&self, path: &str, stat: &Stat) -> Option<IndexEntry> {
        let entry = self.entries.get(path)?;
        (entry.stat == comparable(stat) && trusted(entry, self.scan_started_ns)).then_some(*entry)
    }
}

/// Whether an entry's mtime is old enough, relative to a scan start, to be safe
/// from racy rewrites.
pub(crate) fn trusted(entry: &IndexEntry, scan_started_ns: i64) -> bool {
    entry.stat.mtime_ns < scan_started_ns.saturating_sub(RACY_MARGIN_NS)
}

/// The stat fields the index keeps (rdev is irrelevant for regular files).
pub(crate) fn comparable(stat: &Stat) -> Stat {
    Stat { rdev: 0, ..*stat }
}

/// Serialises entries (sorted by path, for a deterministic file).
pub(crate) fn encode(scan_started_ns: i64, entries: &HashMap<String, IndexEntry>) -> Vec<u8> {
    let mut paths: Vec<&String> = entries.keys().collect();
    paths.sort_unstable();
    let mut out = Vec::with_capacity(32 + entries.len() * 120);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&scan_started_ns.to_le_bytes());
    out.extend_from_slice(&(paths.len() as u32).to_le_bytes());
    for path in paths {
        let e = &entries[path];
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        for v in [e.stat.dev, e.stat.ino, e.stat.size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.stat.mtime_ns, e.stat.ctime_ns] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.stat.mode, e.stat.uid, e.stat.gid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(e.digest.as_bytes());
    }
    let trailer = Sha256::digest(&out);
    out.extend_from_slice(&trailer);
    out
}

/// A cursor over the index bytes that fails instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated record");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        Ok(self.take(N)?.try_into().unwrap_or([0; N]))
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, &'static str> {
        self.array().map(i64::from_le_bytes)
    }
}

fn decode(bytes: &[u8]) -> Result<Index, &'static str> {
    if bytes.len() < MAGIC.len() + 4 + 8 + 4 + 32 {
        return Err("file too short");
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != trailer {
        return Err("checksum mismatch");
    }
    let mut r = Reader(body);
    if r.take(8)? != MAGIC {
        return Err("bad magic");
    }
    if r.u32()? != VERSION {
        return Err("unknown version");
    }
    let scan_started_ns = r.i64()?;
    let count = r.u32()? as usize;
    let mut entries = HashMap::with_capacity(count.min(body.len() / 100 + 1));
    for _ in 0..count {
        let len = r.u32()? as usize;
        let path = std::str::from_utf8(r.take(len)?).map_err(|_| "path not UTF-8")?;
        let stat = Stat {
            dev: r.u64()?,
            ino: r.u64()?,
            size: r.u64()?,
            mtime_ns: r.i64()?,
            ctime_ns: r.i64()?,
            mode: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            rdev: 0,
        };
        let digest = Digest::from_bytes(r.array()?);
        entries.insert(path.to_string(), IndexEntry { stat, digest });
    }
    if !r.0.is_empty() {
        return Err("trailing bytes");
    }
    Ok(Index {
        scan_started_ns,
        entries,
    })
}

/// Writes `bytes` to `path` atomically (no fsync: see the module docs on
/// durability).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::replace(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let stat = Stat {
            size: 3,
            mtime_ns: 5,
            mode: 0o100644,
            ..Stat::default()
        };
        let mut entries = HashMap::new();
        let digest = Digest::of(b"abc");
        entries.insert("a/b".to_string(), IndexEntry { stat, digest });
        let bytes = encode(10_000_000_000, &entries);
        let index = decode(&bytes).unwrap();
        assert_eq!(index.entries, entries);
        assert_eq!(index.lookup("a/b", &stat).map(|e| e.digest), Some(digest));
        let touched = Stat {
            mtime_ns: 6,
            ..stat
        };
        assert_eq!(index.lookup("a/b", &touched), None);
        for cut in [0, 10, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert_eq!(decode(&flipped).err(), Some("checksum mismatch"));
    }

    #[test]
    fn recent_mtimes_are_not_trusted() {
        let stat = Stat {
            mtime_ns: 9_000_000_000,
            ..Stat::default()
        };
        let mut entries = HashMap::new();
        entries.insert(
            "f".into(),
            IndexEntry {
                stat,
                digest: Digest::of(b""),
            },
        );
        let index = Index {
            scan_started_ns: 10_000_000_000,
            entries,
        };
        assert_eq!(index.lookup("f", &stat), None);
    }
}
