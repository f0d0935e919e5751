//! Hashing file contents in parallel, beneath the root, with a stable stat.

use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use super::entry::Stat;
use super::error::{ContextError, Result};
use super::fs;
use crate::Digest;

/// A file to hash: its position in the context and its context path.
pub(crate) struct Job<'a> {
    pub idx: usize,
    pub path: &'a str,
    pub size: u64,
}

/// A hashed file: the digest and the stat it was read under (the caller keeps
/// it out of the index when it differs from the walk's).
pub(crate) struct Hashed {
    pub idx: usize,
    pub digest: Digest,
    pub stat: Stat,
    pub bytes: u64,
}

/// How many times a file that changes under the reader is retried.
const ATTEMPTS: usize = 3;

/// Hashes every job, spreading them over the machine's cores (largest first,
/// so a few big files do not end up on one thread). The first error stops the
/// other workers and is returned.
pub(crate) fn hash_all(
    root: RawFd,
    root_path: &Path,
    mut jobs: Vec<Job<'_>>,
) -> Result<Vec<Hashed>> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(jobs.len());
    if threads <= 1 {
        let mut buf = vec![0u8; 1 << 20];
        return jobs
            .iter()
            .map(|j| hash_one(root, root_path, j, &mut buf))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let first_error = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                let mut local = Vec::new();
                while !failed.load(Ordering::Relaxed) {
                    let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    match hash_one(root, root_path, job, &mut buf) {
                        Ok(h) => local.push(h),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                        }
                    }
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(local);
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(results.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Hashes one file: open beneath the root, fstat, read, fstat again; retried
/// when the two stats differ (the file changed while being read).
fn hash_one(root: RawFd, root_path: &Path, job: &Job<'_>, buf: &mut [u8]) -> Result<Hashed> {
    let err = |op| move |e| ContextError::io(op, root_path.join(job.path), e);
    for _ in 0..ATTEMPTS {
        let fd = fs::open_file_beneath(root, job.path).map_err(err("open"))?;
        let before = fs::stat_fd(fd.as_raw_fd()).map_err(err("stat"))?;
        let mut file = std::fs::File::from(fd);
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        loop {
            let n = match file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err("read")(e)),
            };
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        let after = fs::stat_fd(file.as_raw_fd()).map_err(err("stat"))?;
        if before == after && bytes == after.size {
            return Ok(Hashed {
                idx: job.idx,
                digest: Digest::from_bytes(hasher.finalize().into()),
                stat: after,
                bytes,
            });
        }
    }
    Err(ContextError::Unstable(
        root_path.join(job.path).display().to_string(),
    ))
}
