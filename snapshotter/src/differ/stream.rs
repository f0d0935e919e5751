//! Byte plumbing for layers: hashing while streaming (both directions) and the
//! compression codecs, so no layer is ever held in memory.

use std::io::{self, BufRead, BufReader, Read, Write};

use sha2::{Digest as _, Sha256};

use super::pargz::ParallelGzWriter;
use super::Compression;

/// Formats a finished sha256 as an OCI digest string (`sha256:<hex>`).
fn digest_string(hasher: Sha256) -> String {
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A writer that hashes and counts every byte it passes on.
pub(crate) struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Returns the inner writer, the digest and the byte count of what passed.
    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, digest_string(self.hasher), self.count)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts every byte read through it.
pub(crate) struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream (tar padding after the end marker counts
    /// towards the diff_id), then returns the digest and byte count.
    pub(crate) fn drain_and_finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((digest_string(self.hasher), self.count))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A compressing writer for one of the supported codecs.
pub(crate) enum Encoder<W: Write> {
    /// Plain tar.
    Plain(W),
    /// gzip, one member per 1 MiB chunk compressed on every core (deterministic:
    /// no name, mtime 0, same bytes whatever the thread count).
    Gzip(ParallelGzWriter<W>),
    /// zstd.
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Starts compressing into `inner`.
    pub(crate) fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip => Encoder::Gzip(ParallelGzWriter::new(inner)),
            Compression::Zstd => Encoder::Zstd(zstd::Encoder::new(inner, 3)?),
        })
    }

    /// Writes the codec's trailer and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// A decompressing reader, chosen by the stream's magic bytes.
pub(crate) enum Decoder<R: BufRead> {
    /// Plain tar.
    Plain(R),
    /// gzip (multi-member streams are read to the end).
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    /// zstd.
    Zstd(zstd::Decoder<'static, R>),
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl<R: Read> Decoder<BufReader<R>> {
    /// Peeks at the first bytes of `layer` and picks gzip, zstd or plain.
    pub(crate) fn detect(layer: R) -> io::Result<Self> {
        let mut buf = BufReader::with_capacity(64 * 1024, layer);
        let head = buf.fill_buf()?;
        Ok(if head.starts_with(GZIP_MAGIC) {
            Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buf)))
        } else if head.starts_with(ZSTD_MAGIC) {
            Decoder::Zstd(zstd::Decoder::with_buffer(buf)?)
        } else {
            Decoder::Plain(buf)
        })
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}
