//! Parallel gzip: the stream is cut into content-defined chunks (see
//! [`super::cdc`]: 256 KiB to 4 MiB, about 1 MiB on average), each compressed
//! as an independent gzip member on a pool of worker threads, and the members
//! are written in order. Concatenated members are one valid gzip stream (RFC
//! 1952 §2.2) that Go, containerd, `gzip -d` and flate2's `MultiGzDecoder` read
//! whole.
//!
//! Output depends only on the input bytes: cut points depend on the bytes
//! around them (not on `write` calls), every member has the same fixed header
//! (no name, mtime 0, OS 255) and level (6, or stored for a chunk whose byte
//! entropy says it would not shrink), so any thread count gives the same
//! bytes. At most `2 × threads` chunks are in flight, so memory stays flat.
//!
//! Reuse: given a [`MemberIndex`], each worker hashes its chunk (sha256) and,
//! when the index has a member for it whose gzip trailer (CRC-32 and size)
//! matches the chunk, writes those stored bytes instead of compressing; they
//! are the bytes compressing would give, since the codec name
//! [`GZIP_MEMBER_CODEC`] pins everything that decides them. Every member's
//! chunk digest and offset is then logged ([`MemberLog`]) so the caller can
//! record the finished blob in the index.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use kiln_image::content::{MemberIndex, MemberRecord};
use kiln_image::Digest;

use super::cdc::{CdcParams, Chunker, LAYER_CDC};

/// The member index codec of this writer's members: gzip level 6, the fixed
/// header (no name, mtime 0, OS 255), flate2 on its zlib-rs backend. Bump the
/// version when anything changes the compressed bytes of a chunk (a test pins
/// them: `member_bytes_are_pinned`).
pub const GZIP_MEMBER_CODEC: &str = "gzip6-store7.98-os255-flate2-zlibrs-v2";
/// gzip level of every member (flate2's default).
const LEVEL: u32 = 6;
/// gzip header OS byte: 255, "unknown", the same on every platform.
const OS_UNKNOWN: u8 = 255;
/// The 10-byte header every member starts with.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, OS_UNKNOWN];

/// One chunk to compress: its sequence number and bytes.
type Job = (u64, Vec<u8>);
/// One compressed member: its sequence number and the member (or the error).
type Done = (u64, io::Result<Member>);

/// A compressed chunk on its way to the output.
struct Member {
    /// The gzip member.
    bytes: Vec<u8>,
    /// sha256 of the chunk (only when reusing).
    chunk: Option<Digest>,
    /// Length of the chunk.
    uncompressed_len: u64,
    /// Whether `bytes` came from the index.
    reused: bool,
}

/// What a writer with a member index wrote: one record per member, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemberLog {
    /// Every member written, with its offset in the output.
    pub(crate) members: Vec<MemberRecord>,
    /// How many of them were copied from the index.
    pub(crate) reused: u64,
}

/// The worker threads and their channels; dropping it stops and joins them.
struct Pool {
    /// Sends chunks to the workers; `None` once shut down.
    jobs: Option<Sender<Job>>,
    /// Receives members from the workers.
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` workers, reusing members from `index` if given.
    fn start(threads: usize, index: Option<&MemberIndex>) -> io::Result<Self> {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let mut pool = Pool {
            jobs: Some(job_tx),
            done: done_rx,
            workers: Vec::with_capacity(threads),
        };
        for i in 0..threads {
            let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
            let index = index.cloned();
            let handle = std::thread::Builder::new()
                .name(format!("kiln-gzip-{i}"))
                .spawn(move || worker(&job_rx, &done_tx, index.as_ref()))
                .map_err(|e| io::Error::new(e.kind(), format!("start gzip worker: {e}")))?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    /// Closes the job channel and joins the workers; errors if one panicked.
    fn shutdown(&mut self) -> io::Result<()> {
        self.jobs = None;
        let mut panicked = false;
        for handle in self.workers.drain(..) {
            panicked |= handle.join().is_err();
        }
        if panicked {
            return Err(worker_gone("join"));
        }
        Ok(())
    }
}

impl Drop for Pool {
    /// Stops the workers of a writer dropped without finishing.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A writer that gzips on every core; see the module docs for the format.
pub(crate) struct ParallelGzWriter<W: Write> {
    inner: W,
    threads: usize,
    /// Finds the chunk boundaries.
    chunker: Chunker,
    /// Capacity of a fresh chunk buffer.
    typical: usize,
    /// Input of the current chunk, not yet handed to a worker.
    buf: Vec<u8>,
    /// Where to look for members to reuse (and whether to log members).
    index: Option<MemberIndex>,
    /// The workers, started at the first complete chunk.
    pool: Option<Pool>,
    /// Members that arrived before an earlier one, by sequence number.
    pending: BTreeMap<u64, Member>,
    /// Sequence number of the next chunk to submit.
    next_submit: u64,
    /// Sequence number of the next member to write to `inner`.
    next_write: u64,
    /// Bytes written to `inner` so far.
    written: u64,
    /// The members written (only with an index).
    log: MemberLog,
}

impl<W: Write> ParallelGzWriter<W> {
    /// Gzips into `inner` with layer chunking on `available_parallelism()`
    /// threads, reusing members from `index` if given.
    pub(crate) fn new(inner: W, index: Option<&MemberIndex>) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(inner, threads, LAYER_CDC, index)
    }

    /// Gzips into `inner` with chunks cut by `params` on `threads` worker
    /// threads (at least 1). Threads start at the first complete chunk.
    pub(crate) fn with_threads(
        inner: W,
        threads: usize,
        params: CdcParams,
        index: Option<&MemberIndex>,
    ) -> Self {
        ParallelGzWriter {
            inner,
            threads: threads.max(1),
            chunker: Chunker::new(params),
            typical: params.typical(),
            buf: Vec::with_capacity(params.typical()),
            index: index.cloned(),
            pool: None,
            pending: BTreeMap::new(),
            next_submit: 0,
            next_write: 0,
            written: 0,
            log: MemberLog::default(),
        }
    }

    /// Most chunks queued or being compressed at once.
    fn max_in_flight(&self) -> u64 {
        2 * self.threads as u64
    }

    /// Hands the buffered chunk to a worker, first waiting (and writing members)
    /// while too many chunks are in flight.
    fn submit(&mut self) -> io::Result<()> {
        if self.pool.is_none() {
            self.pool = Some(Pool::start(self.threads, self.index.as_ref())?);
        }
        while self.next_submit - self.next_write >= self.max_in_flight() {
            self.write_next_member()?;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(self.typical));
        let jobs = self.pool.as_ref().and_then(|p| p.jobs.as_ref());
        jobs.ok_or_else(|| worker_gone("send a chunk to"))?
            .send((self.next_submit, chunk))
            .map_err(|_| worker_gone("send a chunk to"))?;
        self.next_submit += 1;
        Ok(())
    }

    /// Waits for the next member in order and writes it to `inner`.
    fn write_next_member(&mut self) -> io::Result<()> {
        let member = loop {
            if let Some(member) = self.pending.remove(&self.next_write) {
                break member;
            }
            let pool = self
                .pool
                .as_ref()
                .ok_or_else(|| worker_gone("receive a member from"))?;
            let (seq, result) = pool
                .done
                .recv()
                .map_err(|_| worker_gone("receive a member from"))?;
            let member =
                result.map_err(|e| io::Error::new(e.kind(), format!("gzip chunk {seq}: {e}")))?;
            self.pending.insert(seq, member);
        };
        self.emit(member)?;
        self.next_write += 1;
        Ok(())
    }

    /// Writes `member` to `inner` and logs it.
    fn emit(&mut self, member: Member) -> io::Result<()> {
        self.inner.write_all(&member.bytes)?;
        let len = member.bytes.len() as u64;
        if let Some(chunk) = member.chunk {
            self.log.members.push(MemberRecord {
                chunk,
                uncompressed_len: member.uncompressed_len,
                offset: self.written,
                len,
            });
            self.log.reused += u64::from(member.reused);
        }
        self.written += len;
        Ok(())
    }

    /// Writes every submitted member to `inner`.
    fn drain(&mut self) -> io::Result<()> {
        while self.next_write < self.next_submit {
            self.write_next_member()?;
        }
        Ok(())
    }

    /// Compresses what is buffered, writes all members, stops the workers and
    /// returns the inner writer and the member log (empty without an index).
    /// An empty input still gives one (empty) member, so the output is always
    /// a valid gzip stream.
    pub(crate) fn finish(mut self) -> io::Result<(W, MemberLog)> {
        if self.next_submit == 0 {
            // One chunk in all: compress it here, no threads needed.
            let member = make_member(std::mem::take(&mut self.buf), self.index.as_ref())?;
            self.emit(member)?;
        } else {
            if !self.buf.is_empty() {
                self.submit()?;
            }
            self.drain()?;
        }
        if let Some(mut pool) = self.pool.take() {
            pool.shutdown()?;
        }
        Ok((self.inner, self.log))
    }
}

impl<W: Write> Write for ParallelGzWriter<W> {
    /// Takes bytes up to the next cut (all of `data` if there is none).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.chunker.next_cut(data) {
            Some(n) => {
                self.buf.extend_from_slice(&data[..n]);
                self.submit()?;
                Ok(n)
            }
            None => {
                self.buf.extend_from_slice(data);
                Ok(data.len())
            }
        }
    }

    /// Writes every complete chunk's member and flushes `inner`. The partial
    /// chunk stays buffered (cutting it here would make the output depend on
    /// flushes).
    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}

/// Compresses jobs until the job channel closes.
fn worker(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>, index: Option<&MemberIndex>) {
    loop {
        // Hold the lock only while taking a job, not while compressing it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = job else { return };
        if done.send((seq, make_member(chunk, index))).is_err() {
            return;
        }
    }
}

/// The member for `chunk`: from `index` when it has a matching one, else
/// compressed here.
fn make_member(chunk: Vec<u8>, index: Option<&MemberIndex>) -> io::Result<Member> {
    let uncompressed_len = chunk.len() as u64;
    let Some(index) = index else {
        return Ok(Member {
            bytes: compress(&chunk)?,
            chunk: None,
            uncompressed_len,
            reused: false,
        });
    };
    let digest = Digest::of(&chunk);
    let stored = index
        .lookup(GZIP_MEMBER_CODEC, &digest, uncompressed_len)
        .filter(|bytes| trailer_matches(bytes, &chunk));
    let reused = stored.is_some();
    let bytes = match stored {
        Some(bytes) => bytes,
        None => compress(&chunk)?,
    };
    Ok(Member {
        bytes,
        chunk: Some(digest),
        uncompressed_len,
        reused,
    })
}

/// Whether `member` has our header and a trailer (CRC-32, size mod 2^32)
/// matching `chunk`: a cheap check that a stored member really holds it.
fn trailer_matches(member: &[u8], chunk: &[u8]) -> bool {
    let Some(trailer) = member.len().checked_sub(8).map(|at| &member[at..]) else {
        return false;
    };
    let mut crc = flate2::Crc::new();
    crc.update(chunk);
    let mut expected = [0u8; 8];
    expected[..4].copy_from_slice(&crc.sum().to_le_bytes());
    expected[4..].copy_from_slice(&(chunk.len() as u32).to_le_bytes());
    member.len() >= HEADER.len() + 8 && member.starts_with(&HEADER) && trailer == expected
}

/// Chunks whose bytes carry at least this many bits of entropy per byte
/// (order 0) are stored in the member, not deflated: random or already
/// compressed data (media, archives, the output of `dd if=/dev/urandom`)
/// would not shrink, and deflating it at level 6 costs about 25 ms per MiB.
/// Text and binaries are far below (about 4.5 and 6 bits).
const STORE_ENTROPY_BITS: f64 = 7.98;

/// Whether `chunk` looks incompressible (see [`STORE_ENTROPY_BITS`]).
fn looks_incompressible(chunk: &[u8]) -> bool {
    if chunk.len() < 4096 {
        return false;
    }
    // Four tables so consecutive equal bytes do not wait on each other.
    let mut counts = [[0u32; 256]; 4];
    let mut quads = chunk.chunks_exact(4);
    for q in &mut quads {
        counts[0][q[0] as usize] += 1;
        counts[1][q[1] as usize] += 1;
        counts[2][q[2] as usize] += 1;
        counts[3][q[3] as usize] += 1;
    }
    for &b in quads.remainder() {
        counts[0][b as usize] += 1;
    }
    let total = chunk.len() as f64;
    let entropy: f64 = (0..256)
        .map(|i| counts.iter().map(|t| t[i]).sum::<u32>())
        .filter(|&c| c > 0)
        .map(|c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum();
    entropy >= STORE_ENTROPY_BITS
}

/// One gzip member of `chunk` with the fixed header: deflated at level 6,
/// or stored when the chunk looks incompressible (a function of the bytes
/// alone, so the output stays deterministic).
pub(crate) fn compress(chunk: &[u8]) -> io::Result<Vec<u8>> {
    let level = if looks_incompressible(chunk) {
        flate2::Compression::none()
    } else {
        flate2::Compression::new(LEVEL)
    };
    let out = Vec::with_capacity(chunk.len() / 2 + 64);
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(OS_UNKNOWN)
        .write(out, level);
    gz.write_all(chunk)?;
    gz.finish()
}

/// The error for a worker that is no longer there (it panicked).
fn worker_gone(op: &str) -> io::Error {
    io::Error::other(format!("gzip worker thread gone: could not {op} it"))
}
