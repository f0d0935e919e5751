//! Layer blobs: compression sniffing, uncompressed readers, diff_id checks.

use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::error::{ArchiveError, ArchiveResult};
use crate::content::ContentStore;
use crate::digest::{Digest, DigestWriter};
use crate::error::ImageError;
use crate::media::Compression;

/// gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd's magic bytes.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Sniffs the compression of a stream from its first bytes (without consuming them).
pub(crate) fn sniff<R: BufRead>(reader: &mut R) -> io::Result<Compression> {
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// Sniffs the compression of a stored blob.
pub(crate) fn sniff_blob(store: &ContentStore, digest: &Digest) -> ArchiveResult<Compression> {
    let mut reader = BufReader::new(store.open(digest)?);
    sniff(&mut reader).map_err(|e| blob_read(store, digest, e))
}

/// A reader of the uncompressed bytes of a stored layer blob.
pub(crate) fn open_uncompressed(
    store: &ContentStore,
    digest: &Digest,
    compression: Compression,
    media_type: &str,
) -> ArchiveResult<Box<dyn Read>> {
    let file = BufReader::new(store.open(digest)?);
    match compression {
        Compression::None => Ok(Box::new(file)),
        Compression::Gzip => Ok(Box::new(MultiGzDecoder::new(file))),
        Compression::Zstd => Err(ArchiveError::UnsupportedLayer {
            digest: *digest,
            media_type: media_type.to_string(),
        }),
    }
}

/// The diff_id (digest of the uncompressed tar) and uncompressed size of a stored layer.
pub(crate) fn diff_id(
    store: &ContentStore,
    digest: &Digest,
    compression: Compression,
    media_type: &str,
) -> ArchiveResult<(Digest, u64)> {
    if compression == Compression::None {
        return Ok((*digest, store.size(digest)?));
    }
    let mut reader = open_uncompressed(store, digest, compression, media_type)?;
    let mut sink = DigestWriter::sink();
    io::copy(&mut reader, &mut sink).map_err(|e| blob_read(store, digest, e))?;
    Ok((sink.digest(), sink.len()))
}

/// Where the diff_id and uncompressed size of a compressed layer blob are
/// cached: `<root>/content/uncompressed/<blob hex>`, one line `<diff_id> <size>`.
fn uncompressed_record(store: &ContentStore, digest: &Digest) -> std::path::PathBuf {
    store.root().join("uncompressed").join(digest.hex())
}

/// Caches what kiln computed about a compressed layer blob, so a later
/// docker-archive export needs one decompression pass instead of two (the
/// tar header needs the size before the content). Best effort: it is a
/// cache, and every use of it is checked against the diff_id while
/// streaming, so a failed or torn write only costs the second pass.
pub(crate) fn remember_uncompressed(
    store: &ContentStore,
    digest: &Digest,
    diff_id: &Digest,
    size: u64,
) {
    let path = uncompressed_record(store, digest);
    let Some(dir) = path.parent() else { return };
    let temp = dir.join(format!(".{}.{}", digest.hex(), std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&temp, format!("{diff_id} {size}\n")))
        .and_then(|()| std::fs::rename(&temp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

/// The cached (diff_id, uncompressed size) of a compressed layer blob, if any.
pub(crate) fn known_uncompressed(store: &ContentStore, digest: &Digest) -> Option<(Digest, u64)> {
    let text = std::fs::read_to_string(uncompressed_record(store, digest)).ok()?;
    let (diff_id, size) = text.trim_end().split_once(' ')?;
    Some((diff_id.parse().ok()?, size.parse().ok()?))
}

/// Fails with [`ArchiveError::DiffIdMismatch`] naming `member` unless the digests agree.
pub(crate) fn check_diff_id(member: &str, expected: &Digest, actual: &Digest) -> ArchiveResult<()> {
    if expected == actual {
        return Ok(());
    }
    Err(ArchiveError::DiffIdMismatch {
        member: member.to_string(),
        expected: *expected,
        actual: *actual,
    })
}

/// An error reading (or decompressing) a stored blob.
pub(crate) fn blob_read(store: &ContentStore, digest: &Digest, e: io::Error) -> ArchiveError {
    ImageError::io("read blob", store.blob_path(digest), e).into()
}

/// A `Read` adapter hashing and counting everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hash: DigestWriter<io::Sink>,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hash: DigestWriter::sink(),
        }
    }

    /// The digest and count of the bytes read so far.
    pub(crate) fn digest(&self) -> (Digest, u64) {
        (self.hash.digest(), self.hash.len())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        io::Write::write_all(&mut self.hash, &buf[..n])?;
        Ok(n)
    }
}
