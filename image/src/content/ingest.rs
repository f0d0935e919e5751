//! Writing blobs: streaming ingest through a temp file, and cleanup of temp
//! files left by crashed writers.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ContentStore;
use crate::digest::{Digest, DigestWriter};
use crate::error::{io_err, ImageError, Result};
use crate::fsutil::fsync_dir;

/// Size of the copy buffer: the only per-ingest allocation, whatever the blob size.
const COPY_BUF: usize = 256 * 1024;

/// Per-process counter making temp names unique among concurrent calls.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl ContentStore {
    /// Streams `reader` into the store and returns the blob's digest and size.
    ///
    /// Bytes go to a fresh temp file in `ingest/` while being hashed (memory
    /// use is one fixed buffer), the file is fsynced, and if `expected` is
    /// given and differs, the temp file is removed and
    /// [`ImageError::DigestMismatch`] returned: nothing is published. Otherwise
    /// the file is renamed to `blobs/sha256/<hex>` (or dropped if that blob
    /// already exists: same digest, same bytes) and the directory fsynced.
    ///
    /// If `expected` names a blob that is already present, returns at once
    /// without reading `reader`.
    pub fn ingest<R: Read>(
        &self,
        mut reader: R,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64)> {
        if let Some(d) = expected {
            if self.exists(d)? {
                return Ok((*d, self.size(d)?));
            }
        }
        let temp = TempBlob::create(&self.ingest)?;
        let mut out = DigestWriter::new(EarlyWriteback::new(&temp.file));
        copy_stream(&mut reader, &mut out, &temp.path)?;
        let (_, digest, size) = out.finish();
        if let Some(expected) = expected {
            if *expected != digest {
                let expected = *expected;
                return Err(ImageError::DigestMismatch {
                    expected,
                    actual: digest,
                    size,
                });
            }
        }
        if self.exists(&digest)? {
            // Identical content is already published: no fsync for a copy
            // that is about to be removed (`temp` goes on drop).
            return Ok((digest, size));
        }
        temp.file.sync_all().map_err(io_err("fsync", &temp.path))?;
        self.publish(temp, &digest)?;
        Ok((digest, size))
    }

    /// A blob written by a producer that hashes every byte it writes itself
    /// (the differ computes a layer's digest while it writes it): the bytes
    /// go straight to a temp file, without a second hashing pass, and
    /// [`BlobWriter::commit`] publishes them under the producer's digest.
    /// Dropped without commit, it leaves nothing behind.
    pub fn blob_writer(&self) -> Result<BlobWriter<'_>> {
        let temp = TempBlob::create(&self.ingest)?;
        Ok(BlobWriter {
            store: self,
            temp,
            progress: Writeback::default(),
        })
    }

    /// Convenience for small in-memory blobs (manifests, configs).
    pub fn ingest_bytes(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<(Digest, u64)> {
        self.ingest(bytes, expected)
    }

    /// Moves a complete, verified temp file to its blob path.
    fn publish(&self, temp: TempBlob, digest: &Digest) -> Result<()> {
        let target = self.blob_path(digest);
        if self.exists(digest)? {
            return Ok(()); // identical content already published; `temp` is removed on drop
        }
        temp.file
            .set_permissions(Permissions::from_mode(0o444))
            .map_err(io_err("chmod", &temp.path))?;
        fs::rename(&temp.path, &target).map_err(io_err("rename into place", &target))?;
        temp.disarm();
        fsync_dir(&self.blobs)
    }

    /// Removes files in `ingest/` not modified for `older_than`: leftovers of
    /// writers that crashed. Returns how many were removed. Never touches
    /// `blobs/`. A live ingest keeps its file's mtime fresh as it writes, so
    /// only a writer stalled for longer than `older_than` could be affected;
    /// it would then fail on rename, publishing nothing.
    pub fn gc_ingest(&self, older_than: Duration) -> Result<usize> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(UNIX_EPOCH);
        let entries = fs::read_dir(&self.ingest).map_err(io_err("list", &self.ingest))?;
        let mut removed = 0;
        for entry in entries {
            let path = entry.map_err(io_err("list", &self.ingest))?.path();
            if is_stale(&path, cutoff)? && remove_if_present(&path)? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// How many written bytes are handed to the disk at a time while a blob is
/// still being written, so the final fsync only waits for the tail.
const WRITEBACK_WINDOW: u64 = 8 << 20;

/// Starts the disk write of every full window behind the writer
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`: asynchronous, no wait); the
/// fsync at the end is what makes the blob durable.
fn start_writeback(file: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor; the call only starts writeback of a range.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            from as libc::off64_t,
            (to - from) as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// How far a file has been written and handed to the disk.
#[derive(Default)]
struct Writeback {
    written: u64,
    flushed: u64,
}

impl Writeback {
    /// Writes `buf` to `file`, starting writeback of each full window.
    fn write(&mut self, file: &File, buf: &[u8]) -> io::Result<usize> {
        let n = (&*file).write(buf)?;
        self.written += n as u64;
        if self.written - self.flushed >= WRITEBACK_WINDOW {
            start_writeback(file, self.flushed, self.written);
            self.flushed = self.written;
        }
        Ok(n)
    }
}

/// A file writer that starts writeback behind itself every
/// [`WRITEBACK_WINDOW`] bytes.
struct EarlyWriteback<'a> {
    file: &'a File,
    progress: Writeback,
}

impl<'a> EarlyWriteback<'a> {
    fn new(file: &'a File) -> Self {
        EarlyWriteback {
            file,
            progress: Writeback::default(),
        }
    }
}

impl Write for EarlyWriteback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.progress.write(self.file, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A blob being written by a producer that hashes it itself; see
/// [`ContentStore::blob_writer`].
pub struct BlobWriter<'a> {
    store: &'a ContentStore,
    temp: TempBlob,
    progress: Writeback,
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.progress.write(&self.temp.file, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter<'_> {
    /// Publishes what was written as the blob `digest` (the producer's hash
    /// of exactly these bytes) after checking its `size`: fsync, rename into
    /// place, fsync the directory.
    pub fn commit(self, digest: &Digest, size: u64) -> Result<()> {
        if size != self.progress.written {
            return Err(ImageError::io(
                "commit",
                &self.temp.path,
                io::Error::other(format!(
                    "the producer reports {size} bytes for {digest}, {} were written",
                    self.progress.written
                )),
            ));
        }
        self.temp
            .file
            .sync_all()
            .map_err(io_err("fsync", &self.temp.path))?;
        self.store.publish(self.temp, digest)
    }
}

/// Copies `reader` into `out` with a fixed buffer; read errors name the temp file.
fn copy_stream<R: Read, W: Write>(reader: &mut R, out: &mut W, temp: &Path) -> Result<()> {
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                let path = temp.to_path_buf();
                return Err(ImageError::IngestRead { path, source });
            }
        };
        out.write_all(&buf[..n]).map_err(io_err("write", temp))?;
    }
}

/// Whether `path` is a regular file last modified before `cutoff`.
fn is_stale(path: &Path, cutoff: SystemTime) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(ImageError::io("stat", path, e)),
    };
    let modified = meta.modified().map_err(io_err("stat", path))?;
    Ok(meta.is_file() && modified < cutoff)
}

/// Removes `path`; `Ok(false)` if someone else already did.
fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ImageError::io("remove", path, e)),
    }
}

/// A temp file in `ingest/`, removed on drop unless [`TempBlob::disarm`]ed
/// (i.e. renamed into place). Errors and panics therefore leave nothing behind.
struct TempBlob {
    file: File,
    path: PathBuf,
    armed: bool,
}

impl TempBlob {
    /// Creates a new, uniquely named file in `dir` (`O_EXCL`, retried on clash).
    fn create(dir: &Path) -> Result<TempBlob> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        loop {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}-{nanos}-{n}.partial", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempBlob {
                        file,
                        path,
                        armed: true,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ImageError::io("create", path, e)),
            }
        }
    }

    /// Keeps the file: it has been renamed into place.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: a leftover is harmless and gc_ingest reclaims it.
            let _ = fs::remove_file(&self.path);
        }
    }
}
