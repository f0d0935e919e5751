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

/// Wraps `input` (a zstd stream) in a zstd decoder (kept an `Option` for
/// its callers' error handling: always `Some`).
pub(crate) fn zstd_reader<'a>(
    input: Box<dyn BufRead + Send + 'a>,
) -> Option<io::Result<Box<dyn Read + Send + 'a>>> {
    Some(
        zstd::Decoder::with_buffer(input)
            .map(|decoder| Box::new(decoder) as Box<dyn Read + Send + 'a>),
    )
}

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
) -> ArchiveResult<Box<dyn Read + Send>> {
    // Compressed input is read in large chunks: fewer syscalls per byte out.
    let file = BufReader::with_capacity(256 << 10, store.open(digest)?);
    match compression {
        Compression::None => Ok(Box::new(file)),
        Compression::Gzip => Ok(Box::new(MultiGzDecoder::new(file))),
        Compression::Zstd => match zstd_reader(Box::new(file)) {
            Some(reader) => reader.map_err(|e| blob_read(store, digest, e)),
            None => Err(ArchiveError::UnsupportedLayer {
                digest: *digest,
                media_type: media_type.to_string(),
            }),
        },
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

/// The diff_ids of the layer blobs one load has checked, so a layer listed
/// many times (by many images, or many times by one) is decompressed once.
#[derive(Debug, Default)]
pub(crate) struct DiffIds {
    known: std::collections::BTreeMap<Digest, Digest>,
}

impl DiffIds {
    /// Checks the stored layer `digest` (compression sniffed) against
    /// `expected`, naming `member` on a mismatch; returns its compression.
    /// A compressed layer's uncompressed digest and size are remembered in
    /// the store (a later docker-archive export decompresses only once).
    pub(crate) fn check(
        &mut self,
        store: &ContentStore,
        member: &str,
        digest: &Digest,
        expected: &Digest,
    ) -> ArchiveResult<Compression> {
        let compression = sniff_blob(store, digest)?;
        let actual = match self.known.get(digest) {
            Some(actual) => *actual,
            None => {
                let media_type = crate::media::oci_layer_media_type(compression);
                let (actual, size) = diff_id(store, digest, compression, media_type)?;
                if compression != Compression::None {
                    store.remember_uncompressed(digest, &actual, size);
                }
                self.known.insert(*digest, actual);
                actual
            }
        };
        check_diff_id(member, expected, &actual)?;
        Ok(compression)
    }
}
