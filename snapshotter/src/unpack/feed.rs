//! The decompressing side of the pipeline: a thread reads a layer blob from the
//! content store, hashes the compressed bytes (checking the blob's digest), and
//! decompresses (gzip, zstd or plain, sniffed by magic bytes) into a bounded
//! channel of chunks that [`Feed`] turns back into a `Read` for `differ::apply`.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use kiln_image::{ContentStore, Digest, ImageError};
use sha2::{Digest as _, Sha256};

/// Bytes per chunk sent over the channel.
const CHUNK: usize = 128 * 1024;
/// Chunks buffered ahead of the reader (so at most 4 MiB per layer in flight).
const DEPTH: usize = 32;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// A message: a chunk of plain tar, the end (empty chunk), or a failure.
type Msg = io::Result<Vec<u8>>;

/// The reading end: plain tar bytes, in order; an error if the decoder failed.
pub(crate) struct Feed {
    rx: Receiver<Msg>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Makes a connected (sender, [`Feed`]) pair.
pub(crate) fn channel() -> (SyncSender<Msg>, Feed) {
    let (tx, rx) = sync_channel(DEPTH);
    let feed = Feed {
        rx,
        chunk: Vec::new(),
        pos: 0,
        done: false,
    };
    (tx, feed)
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => (self.chunk, self.pos) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("layer decoder stopped early")),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Decompresses blob `digest` into `tx` (run on its own thread). The end marker
/// is sent only after the whole blob hashed to `digest`; otherwise the reader
/// gets an error and this returns [`ImageError::BlobCorrupt`]. Returns `Ok` early
/// when the reader hung up (it failed and reports its own error).
pub(crate) fn decode(
    store: &ContentStore,
    digest: &Digest,
    tx: SyncSender<Msg>,
) -> Result<(), ImageError> {
    let fail = |tx: &SyncSender<Msg>, what: String| {
        let _ = tx.send(Err(io::Error::new(io::ErrorKind::InvalidData, what)));
    };
    let file = match store.open(digest) {
        Ok(file) => file,
        Err(e) => {
            fail(&tx, e.to_string());
            return Err(e);
        }
    };
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
    };
    let read_err = |source: io::Error| ImageError::Io {
        op: "read layer blob",
        path: store.blob_path(digest),
        source,
    };
    let pumped = pump(&mut hashing, &tx);
    // Bytes after the compressed stream's end still count towards the digest, and
    // a blob that fails to decompress is most likely corrupt: hash it all first.
    let drained = io::copy(&mut hashing, &mut io::sink());
    let actual_hex = hex::encode(hashing.hasher.finalize());
    if actual_hex != digest.hex() {
        fail(
            &tx,
            format!("layer blob {digest} hashes to sha256:{actual_hex}"),
        );
        let actual = Digest::from_hex(&actual_hex)?;
        return Err(ImageError::BlobCorrupt {
            digest: *digest,
            actual,
        });
    }
    if let Err(e) = pumped.and(drained.map(|_| ())) {
        fail(&tx, format!("decompress layer {digest}: {e}"));
        return Err(read_err(e));
    }
    let _ = tx.send(Ok(Vec::new()));
    Ok(())
}

/// Sends the decompressed content of `blob` in chunks; stops quietly when the
/// reader has gone.
fn pump<R: Read>(blob: &mut R, tx: &SyncSender<Msg>) -> io::Result<()> {
    let mut input = BufReader::with_capacity(CHUNK, blob);
    let head = input.fill_buf()?;
    let mut decoder: Box<dyn Read + '_> = if head.starts_with(GZIP_MAGIC) {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    } else if head.starts_with(ZSTD_MAGIC) {
        Box::new(zstd::Decoder::with_buffer(input)?)
    } else {
        Box::new(input)
    };
    loop {
        let mut chunk = vec![0; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match decoder.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return Ok(());
        }
    }
}
