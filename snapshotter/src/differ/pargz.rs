//! Parallel gzip: the stream is cut into fixed-size chunks, each compressed as an
//! independent gzip member on a pool of worker threads, and the members are
//! written in order. Concatenated members are one valid gzip stream (RFC 1952
//! §2.2) that Go, containerd, `gzip -d` and flate2's `MultiGzDecoder` read whole.
//!
//! Output depends only on the input bytes and the chunk size: chunk boundaries
//! are byte offsets (not `write` calls), every member has the same fixed header
//! (no name, mtime 0, OS 255) and level, so any thread count gives the same bytes.
//! At most `2 × threads` chunks are in flight, so memory stays flat.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Default chunk size: 1 MiB of input per gzip member.
pub(crate) const CHUNK_SIZE: usize = 1 << 20;
/// gzip level of every member (flate2's default).
const LEVEL: u32 = 6;
/// gzip header OS byte: 255, "unknown", the same on every platform.
const OS_UNKNOWN: u8 = 255;

/// One chunk to compress: its sequence number and bytes.
type Job = (u64, Vec<u8>);
/// One compressed member: its sequence number and bytes (or the error).
type Done = (u64, io::Result<Vec<u8>>);

/// The worker threads and their channels; dropping it stops and joins them.
struct Pool {
    /// Sends chunks to the workers; `None` once shut down.
    jobs: Option<Sender<Job>>,
    /// Receives members from the workers.
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` workers.
    fn start(threads: usize) -> io::Result<Self> {
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
            let handle = std::thread::Builder::new()
                .name(format!("kiln-gzip-{i}"))
                .spawn(move || worker(&job_rx, &done_tx))
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
    chunk_size: usize,
    threads: usize,
    /// Input not yet handed to a worker (less than `chunk_size` bytes).
    buf: Vec<u8>,
    /// The workers, started at the first full chunk.
    pool: Option<Pool>,
    /// Members that arrived before an earlier one, by sequence number.
    pending: BTreeMap<u64, Vec<u8>>,
    /// Sequence number of the next chunk to submit.
    next_submit: u64,
    /// Sequence number of the next member to write to `inner`.
    next_write: u64,
}

impl<W: Write> ParallelGzWriter<W> {
    /// Gzips into `inner` with 1 MiB chunks on `available_parallelism()` threads.
    pub(crate) fn new(inner: W) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(inner, threads, CHUNK_SIZE)
    }

    /// Gzips into `inner` with chunks of `chunk_size` bytes on `threads` worker
    /// threads (both at least 1). Threads start at the first full chunk.
    pub(crate) fn with_threads(inner: W, threads: usize, chunk_size: usize) -> Self {
        let chunk_size = chunk_size.max(1);
        ParallelGzWriter {
            inner,
            chunk_size,
            threads: threads.max(1),
            buf: Vec::with_capacity(chunk_size),
            pool: None,
            pending: BTreeMap::new(),
            next_submit: 0,
            next_write: 0,
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
            self.pool = Some(Pool::start(self.threads)?);
        }
        while self.next_submit - self.next_write >= self.max_in_flight() {
            self.write_next_member()?;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk_size));
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
        self.inner.write_all(&member)?;
        self.next_write += 1;
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
    /// returns the inner writer. An empty input still gives one (empty) member,
    /// so the output is always a valid gzip stream.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.next_submit == 0 {
            // One chunk in all: compress it here, no threads needed.
            let member = compress(&self.buf)?;
            self.inner.write_all(&member)?;
        } else {
            if !self.buf.is_empty() {
                self.submit()?;
            }
            self.drain()?;
        }
        if let Some(mut pool) = self.pool.take() {
            pool.shutdown()?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.chunk_size - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.chunk_size {
            self.submit()?;
        }
        Ok(n)
    }

    /// Writes every full chunk's member and flushes `inner`. The partial chunk
    /// stays buffered (cutting it here would make the output depend on flushes).
    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}

/// Compresses jobs until the job channel closes.
fn worker(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>) {
    loop {
        // Hold the lock only while taking a job, not while compressing it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = job else { return };
        if done.send((seq, compress(&chunk))).is_err() {
            return;
        }
    }
}

/// One gzip member of `chunk` with the fixed header.
fn compress(chunk: &[u8]) -> io::Result<Vec<u8>> {
    let out = Vec::with_capacity(chunk.len() / 2 + 64);
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(OS_UNKNOWN)
        .write(out, flate2::Compression::new(LEVEL));
    gz.write_all(chunk)?;
    gz.finish()
}

/// The error for a worker that is no longer there (it panicked).
fn worker_gone(op: &str) -> io::Error {
    io::Error::other(format!("gzip worker thread gone: could not {op} it"))
}
