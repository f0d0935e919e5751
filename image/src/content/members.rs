//! The member reuse index: where an already compressed chunk of a layer sits
//! inside a blob of the store, so re-exporting a layer whose tar is mostly
//! unchanged copies those compressed bytes instead of compressing again.
//!
//! Layout: `<root>/content/members/<codec>/<2 hex>/<hex>`, one file per chunk,
//! named by the sha256 of the *uncompressed* chunk, holding one line
//! `<blob digest> <offset> <len> <uncompressed len>`: the compressed member
//! for that chunk is bytes `offset..offset + len` of the blob. The codec name
//! (e.g. `gzip6-...`) must name everything that decides the compressed bytes,
//! so a hit gives exactly what compressing would have given.
//!
//! It is a cache: entries are written to a temp file and renamed (no fsync),
//! the last writer wins, and an entry whose blob is gone, is shorter than the
//! recorded range, or is unreadable is a miss. Callers must still check the
//! bytes they get (the differ checks the gzip trailer's CRC and size against
//! the chunk). [`ContentStore::delete`] leaves entries behind;
//! [`MemberIndex::sweep`] (run by [`crate::gc::collect`]) removes them.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::ContentStore;
use crate::digest::Digest;
use crate::error::{io_err, ImageError, Result};

/// The index directory's name under the content root.
const DIR: &str = "members";
/// Temp files older than this are left over from a crash; sweep removes them.
const STALE_TEMP: Duration = Duration::from_secs(60 * 60);
/// Distinguishes temp files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// One compressed member of a written layer blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRecord {
    /// sha256 of the uncompressed chunk the member holds.
    pub chunk: Digest,
    /// Length of the uncompressed chunk.
    pub uncompressed_len: u64,
    /// Offset of the member's first byte in the blob.
    pub offset: u64,
    /// Length of the compressed member.
    pub len: u64,
}

/// The member reuse index of one content store; cheap to clone.
#[derive(Debug, Clone)]
pub struct MemberIndex {
    store: ContentStore,
    dir: PathBuf,
}

/// A parsed index entry: where the member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    blob: Digest,
    offset: u64,
    len: u64,
    uncompressed_len: u64,
}

impl ContentStore {
    /// The member reuse index under `<root>/content/members`.
    pub fn members(&self) -> MemberIndex {
        MemberIndex {
            dir: self.root().join(DIR),
            store: self.clone(),
        }
    }
}

impl MemberIndex {
    /// The compressed bytes of a member holding exactly `chunk` (whose length
    /// is `uncompressed_len`) under `codec`, read from a blob that still
    /// exists; `None` on any miss or read error.
    pub fn lookup(&self, codec: &str, chunk: &Digest, uncompressed_len: u64) -> Option<Vec<u8>> {
        let text = fs::read_to_string(self.entry_path(codec, chunk)?).ok()?;
        let entry = parse_entry(&text)?;
        if entry.uncompressed_len != uncompressed_len {
            return None;
        }
        let file = File::open(self.store.blob_path(&entry.blob)).ok()?;
        let end = entry.offset.checked_add(entry.len)?;
        if end > file.metadata().ok()?.len() {
            return None;
        }
        let mut bytes = vec![0; usize::try_from(entry.len).ok()?];
        file.read_exact_at(&mut bytes, entry.offset).ok()?;
        Some(bytes)
    }

    /// Records where the members of `blob` are, once the blob is in the store.
    /// A chunk whose entry already names a blob that still exists keeps it
    /// (a re-export that copied most members from an earlier blob rewrites
    /// only the entries of the members it compressed). Fails if the blob is
    /// missing, a member's range exceeds it, or `codec` is not a plain name
    /// (`[A-Za-z0-9._-]`, not starting with `.`).
    pub fn record(&self, codec: &str, blob: &Digest, members: &[MemberRecord]) -> Result<()> {
        let size = self.store.size(blob)?;
        let codec_dir = self.codec_dir(codec)?;
        for m in members {
            if m.offset.checked_add(m.len).is_none_or(|end| end > size) {
                let msg = format!(
                    "member {}+{} of {} is beyond the blob's {size} bytes",
                    m.offset, m.len, m.chunk
                );
                let source = io::Error::new(io::ErrorKind::InvalidInput, msg);
                return Err(ImageError::io(
                    "record member",
                    self.store.blob_path(blob),
                    source,
                ));
            }
            let hex = m.chunk.hex();
            let dir = codec_dir.join(&hex[..2]);
            let known = fs::read_to_string(dir.join(&hex))
                .ok()
                .and_then(|text| parse_entry(&text))
                .is_some_and(|e| self.store.exists(&e.blob).unwrap_or(false));
            if known {
                continue;
            }
            fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
            let line = format!("{blob} {} {} {}\n", m.offset, m.len, m.uncompressed_len);
            write_atomic(&dir, &hex, line.as_bytes())?;
        }
        Ok(())
    }

    /// Removes entries whose blob is gone (or that are unreadable, or point
    /// past the blob's end) and temp files left by crashes; returns how many
    /// files were removed. Meant for garbage collection.
    pub fn sweep(&self) -> Result<usize> {
        let mut removed = 0;
        let mut sizes: HashMap<Digest, Option<u64>> = HashMap::new();
        for codec in list_dir(&self.dir)? {
            for prefix in list_dir(&codec)? {
                for path in list_dir(&prefix)? {
                    if self.stale(&path, &mut sizes)? && remove(&path)? {
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Whether the file at `path` (an entry or a temp file) should go;
    /// `sizes` caches blob sizes (`None`: gone).
    fn stale(&self, path: &Path, sizes: &mut HashMap<Digest, Option<u64>>) -> Result<bool> {
        let Ok(md) = fs::symlink_metadata(path) else {
            return Ok(false); // gone meanwhile
        };
        if !md.is_file() {
            return Ok(false); // not ours: leave it alone
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            let age = md
                .modified()
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            return Ok(age.is_some_and(|age| age > STALE_TEMP));
        }
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(_) => return Ok(true),
        };
        let Some(entry) = parse_entry(&text) else {
            return Ok(true);
        };
        let size = match sizes.get(&entry.blob) {
            Some(size) => *size,
            None => {
                let size = match self.store.size(&entry.blob) {
                    Ok(size) => Some(size),
                    Err(ImageError::BlobNotFound { .. }) => None,
                    Err(e) => return Err(e),
                };
                *sizes.entry(entry.blob).or_insert(size)
            }
        };
        Ok(size.is_none_or(|size| entry.offset.saturating_add(entry.len) > size))
    }

    /// `<members>/<codec>`, or an error if `codec` is not a plain name.
    fn codec_dir(&self, codec: &str) -> Result<PathBuf> {
        if valid_codec(codec) {
            return Ok(self.dir.join(codec));
        }
        let msg = format!("invalid member codec name {codec:?}");
        let source = io::Error::new(io::ErrorKind::InvalidInput, msg);
        Err(ImageError::io("record member", &self.dir, source))
    }

    /// The entry file of `chunk` under `codec` (`None` for an invalid codec).
    fn entry_path(&self, codec: &str, chunk: &Digest) -> Option<PathBuf> {
        let hex = chunk.hex();
        let dir = self.codec_dir(codec).ok()?;
        Some(dir.join(&hex[..2]).join(hex))
    }
}

/// A codec name usable as one path component.
fn valid_codec(codec: &str) -> bool {
    !codec.is_empty()
        && !codec.starts_with('.')
        && codec
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Parses `<blob digest> <offset> <len> <uncompressed len>`.
fn parse_entry(text: &str) -> Option<Entry> {
    let mut fields = text.split_ascii_whitespace();
    let entry = Entry {
        blob: fields.next()?.parse().ok()?,
        offset: fields.next()?.parse().ok()?,
        len: fields.next()?.parse().ok()?,
        uncompressed_len: fields.next()?.parse().ok()?,
    };
    fields.next().is_none().then_some(entry)
}

/// Writes `bytes` to `dir/name` via a unique temp file and a rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}", std::process::id()));
    let path = dir.join(name);
    let written = fs::write(&temp, bytes).map_err(io_err("write member entry", &temp));
    let renamed = written.and_then(|()| fs::rename(&temp, &path).map_err(io_err("rename", &path)));
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    renamed
}

/// The paths in `dir` (none if it does not exist).
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(ImageError::io("list", dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(io_err("list", dir))?.path());
    }
    Ok(paths)
}

/// Removes `path`; `false` if it was already gone.
fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ImageError::io("remove member entry", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    const CODEC: &str = "gzip6-test-v1";

    /// A store holding one blob of 100 bytes `0..100`.
    fn setup() -> (tempfile::TempDir, ContentStore, Digest) {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::new(dir.path()).unwrap();
        let bytes: Vec<u8> = (0..100).collect();
        let (blob, _) = store.ingest_bytes(&bytes, None).unwrap();
        (dir, store, blob)
    }

    fn member(chunk: &[u8], offset: u64, len: u64) -> MemberRecord {
        MemberRecord {
            chunk: Digest::of(chunk),
            uncompressed_len: chunk.len() as u64,
            offset,
            len,
        }
    }

    #[test]
    fn record_then_lookup_returns_the_range() {
        let (_dir, store, blob) = setup();
        let index = store.members();
        let (a, b) = (member(b"chunk a", 10, 20), member(b"chunk b", 30, 70));
        index.record(CODEC, &blob, &[a, b]).unwrap();
        let got = index.lookup(CODEC, &a.chunk, 7).unwrap();
        assert_eq!(got, (10..30).collect::<Vec<u8>>());
        let got = index.lookup(CODEC, &b.chunk, 7).unwrap();
        assert_eq!(got, (30..100).collect::<Vec<u8>>());
        assert_eq!(index.lookup(CODEC, &a.chunk, 8), None, "other length");
        assert_eq!(index.lookup("zstd3-test", &a.chunk, 7), None, "other codec");
        assert_eq!(
            index.lookup(CODEC, &Digest::of(b"x"), 1),
            None,
            "unknown chunk"
        );
        assert_eq!(index.lookup("../x", &a.chunk, 7), None, "bad codec name");
    }

    #[test]
    fn record_refuses_missing_blobs_ranges_beyond_them_and_bad_codecs() {
        let (_dir, store, blob) = setup();
        let index = store.members();
        let m = member(b"c", 90, 11);
        assert!(
            index.record(CODEC, &blob, &[m]).is_err(),
            "range beyond blob"
        );
        let gone = Digest::of(b"not stored");
        let m = member(b"c", 0, 1);
        assert!(matches!(
            index.record(CODEC, &gone, &[m]),
            Err(ImageError::BlobNotFound { .. })
        ));
        for bad in ["", ".hidden", "a/b", "..", "sp ace"] {
            assert!(index.record(bad, &blob, &[m]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lookup_misses_when_the_blob_is_gone_or_too_short() {
        let (_dir, store, blob) = setup();
        let index = store.members();
        let m = member(b"chunk", 0, 50);
        index.record(CODEC, &blob, &[m]).unwrap();
        // An entry pointing past the end (hand-written: record refuses it).
        let far = member(b"far", 60, 50);
        let path = index.entry_path(CODEC, &far.chunk).unwrap();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("{blob} 60 50 3\n")).unwrap();
        assert_eq!(index.lookup(CODEC, &far.chunk, 3), None);
        assert!(index.lookup(CODEC, &m.chunk, 5).is_some());
        store.delete(&blob).unwrap();
        assert_eq!(index.lookup(CODEC, &m.chunk, 5), None);
    }

    #[test]
    fn an_entry_whose_blob_exists_is_kept_and_a_stale_one_replaced() {
        let (_dir, store, first) = setup();
        let (second, _) = store.ingest_bytes(&[7u8; 200], None).unwrap();
        let index = store.members();
        let m = member(b"chunk", 0, 50);
        index.record(CODEC, &first, &[m]).unwrap();
        let path = index.entry_path(CODEC, &m.chunk).unwrap();
        let before = fs::metadata(&path).unwrap().ino();
        // Recorded again from a later blob: the existing entry stays.
        index.record(CODEC, &second, &[m]).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().ino(), before);
        assert!(fs::read_to_string(&path)
            .unwrap()
            .starts_with(&first.to_string()));
        // Once its blob is gone, recording replaces it.
        store.delete(&first).unwrap();
        index.record(CODEC, &second, &[m]).unwrap();
        assert!(fs::read_to_string(&path)
            .unwrap()
            .starts_with(&second.to_string()));
        assert_eq!(index.lookup(CODEC, &m.chunk, 5), Some(vec![7u8; 50]));
    }

    #[test]
    fn sweep_removes_entries_of_gone_blobs_only() {
        let (_dir, store, blob) = setup();
        let (other, _) = store.ingest_bytes(b"another blob", None).unwrap();
        let index = store.members();
        let keep = member(b"keep", 0, 12);
        let drop = member(b"drop", 0, 100);
        index.record(CODEC, &other, &[keep]).unwrap();
        index.record(CODEC, &blob, &[drop]).unwrap();
        // Garbage and a fresh temp file: garbage goes, the temp file stays.
        let junk = index.entry_path(CODEC, &Digest::of(b"junk")).unwrap();
        fs::create_dir_all(junk.parent().unwrap()).unwrap();
        fs::write(&junk, "not an entry").unwrap();
        let temp = junk.with_file_name(".tmp.1.2");
        fs::write(&temp, "partial").unwrap();
        assert_eq!(index.sweep().unwrap(), 1, "only the junk entry");
        store.delete(&blob).unwrap();
        assert_eq!(index.sweep().unwrap(), 1, "the entry of the deleted blob");
        assert!(index.lookup(CODEC, &keep.chunk, 4).is_some());
        assert!(!index.entry_path(CODEC, &drop.chunk).unwrap().exists());
        assert!(temp.exists());
        assert_eq!(index.sweep().unwrap(), 0);
    }

    #[test]
    fn sweep_of_an_empty_store_removes_nothing() {
        let (_dir, store, _) = setup();
        assert_eq!(store.members().sweep().unwrap(), 0);
    }
}
