//! Byte plumbing for layers: hashing while streaming (both directions) and the
//! compression codecs, so no layer is ever held in memory.

use std::io::{self, BufRead, BufReader, Read, Write};

use sha2::{Digest as _, Sha256};

use kiln_image::content::MemberIndex;

use super::pargz::{MemberLog, ParallelGzWriter};
use super::Compression;

/// Formats a finished sha256 as an OCI digest string (`sha256:<hex>`).
fn digest_string(hasher: Sha256) -> String {
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A writer that hashes and counts every byte it passes on.
///
/// The hashing runs on a thread of its own ([`BackgroundHasher`]), so the
/// writing thread (which builds the tar, or writes the compressed members)
/// is not held up by sha256: a layer is hashed twice (diff_id and blob
/// digest), and with gzip members reused from an earlier blob the hashing
/// is most of the work left.
pub(crate) struct HashWriter<W> {
    inner: W,
    hasher: BackgroundHasher,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: BackgroundHasher::new(),
            count: 0,
        }
    }

    /// Returns the inner writer, the digest and the byte count of what passed.
    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, self.hasher.finish(), self.count)
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

/// Bytes gathered before a batch goes to the hashing thread.
const HASH_BATCH: usize = 128 * 1024;
/// Batches queued for the hashing thread at most (bounds memory to about a
/// MiB: the batches are recycled).
const HASH_QUEUE: usize = 8;

/// The hashing thread's channels: batches to hash, and hashed batches back
/// for reuse (so buffers are allocated and freed by the writing thread).
struct HashThread {
    batches: std::sync::mpsc::SyncSender<Vec<u8>>,
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
    handle: std::thread::JoinHandle<Sha256>,
}

/// sha256 on a background thread: bytes are copied into batches and sent
/// over a bounded channel; [`BackgroundHasher::finish`] joins the thread.
/// Falls back to hashing inline if the thread cannot be started.
struct BackgroundHasher {
    batch: Vec<u8>,
    worker: Option<HashThread>,
    inline: Sha256,
    /// The hashing thread went away with bytes sent to it: no digest.
    failed: bool,
}

impl BackgroundHasher {
    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let worker = std::thread::Builder::new()
            .name("kiln-sha256".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for batch in rx {
                    hasher.update(&batch);
                    let _ = back_tx.send(batch);
                }
                hasher
            })
            .ok()
            .map(|handle| HashThread {
                batches: tx,
                recycled: back_rx,
                handle,
            });
        BackgroundHasher {
            batch: Vec::with_capacity(if worker.is_some() { HASH_BATCH } else { 0 }),
            worker,
            inline: Sha256::new(),
            failed: false,
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        let Some(thread) = &self.worker else {
            self.inline.update(bytes);
            return;
        };
        while !bytes.is_empty() {
            let take = (HASH_BATCH - self.batch.len()).min(bytes.len());
            self.batch.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.batch.len() < HASH_BATCH {
                return;
            }
            let next = match thread.recycled.try_recv() {
                Ok(mut used) => {
                    used.clear();
                    used
                }
                Err(_) => Vec::with_capacity(HASH_BATCH),
            };
            let full = std::mem::replace(&mut self.batch, next);
            if thread.batches.send(full).is_err() {
                // Only a panic ends the thread early.
                self.failed = true;
                self.worker = None;
                return;
            }
        }
    }

    /// The digest (`sha256:<hex>`); a string that is not a digest if the
    /// hashing thread failed, so that parsing it fails loudly.
    fn finish(mut self) -> String {
        const FAILED: &str = "sha256:hashing-thread-failed";
        let Some(thread) = self.worker.take() else {
            return if self.failed {
                FAILED.to_string()
            } else {
                digest_string(self.inline)
            };
        };
        let rest = std::mem::take(&mut self.batch);
        let sent = rest.is_empty() || thread.batches.send(rest).is_ok();
        drop(thread.batches);
        let hashed = thread.handle.join();
        // The buffers are freed here, by the thread that made them.
        thread.recycled.try_iter().for_each(drop);
        match hashed {
            Ok(hasher) if sent => digest_string(hasher),
            _ => FAILED.to_string(),
        }
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
    /// gzip, one member per content-defined chunk (about 1 MiB) compressed on
    /// every core (deterministic: no name, mtime 0, same bytes whatever the
    /// thread count), members reused from an index when one is given.
    Gzip(Box<ParallelGzWriter<W>>),
    /// zstd.
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Starts compressing into `inner`; gzip reuses members from `index`.
    pub(crate) fn new(
        inner: W,
        compression: Compression,
        index: Option<&MemberIndex>,
    ) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip => Encoder::Gzip(Box::new(ParallelGzWriter::new(inner, index))),
            Compression::Zstd => Encoder::Zstd(zstd::Encoder::new(inner, 3)?),
        })
    }

    /// Writes the codec's trailer and returns the inner writer and the gzip
    /// member log (empty for other codecs or without an index).
    pub(crate) fn finish(self) -> io::Result<(W, MemberLog)> {
        match self {
            Encoder::Plain(w) => Ok((w, MemberLog::default())),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => Ok((e.finish()?, MemberLog::default())),
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
