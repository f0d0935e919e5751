//! Where saved archives go: a deterministic tar stream ([`TarSink`]) or an
//! OCI layout directory ([`DirSink`]).
//!
//! Tar entries are written with mtime 0, uid/gid 0 (no names), mode 0644
//! for files and 0755 for directories, each directory once, before its
//! first file, in the order the caller writes members; the same images always
//! give the same bytes.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::error::{ArchiveError, ArchiveResult};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::ImageError;

/// A destination for archive members.
pub(crate) trait Sink {
    /// Writes a small member.
    fn bytes(&mut self, name: &str, data: &[u8]) -> ArchiveResult<()>;
    /// Writes `size` bytes from `reader` as member `name`.
    fn stream(&mut self, name: &str, size: u64, reader: &mut dyn Read) -> ArchiveResult<()>;

    /// Copies a stored blob as member `name`.
    fn blob(&mut self, name: &str, store: &ContentStore, digest: &Digest) -> ArchiveResult<()> {
        let size = store.size(digest)?;
        let mut file = store.open(digest)?;
        self.stream(name, size, &mut file)
    }
}

/// The copy buffer of [`TarSink`]: large writes mean few syscalls (the
/// writer's own buffer passes writes this large straight through) and large
/// reads let the decompressor and hasher work on big runs.
const COPY_BUFFER: usize = 1 << 20;

/// A tar stream being written.
pub(crate) struct TarSink<W: Write> {
    builder: tar::Builder<W>,
    dirs: BTreeSet<String>,
    buffer: Vec<u8>,
}

impl<W: Write> TarSink<W> {
    /// Starts a tar stream on `out`.
    pub(crate) fn new(out: W) -> Self {
        TarSink {
            builder: tar::Builder::new(out),
            dirs: BTreeSet::new(),
            buffer: Vec::new(),
        }
    }

    /// Writes the end-of-archive marker and returns the writer.
    pub(crate) fn finish(self) -> ArchiveResult<W> {
        self.builder
            .into_inner()
            .map_err(ArchiveError::write("end of archive"))
    }

    /// Writes directory entries for every parent of `name` not written yet.
    fn parents(&mut self, name: &str) -> ArchiveResult<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            prefix.push_str(part);
            prefix.push('/');
            if self.dirs.insert(prefix.clone()) {
                let mut header = header(tar::EntryType::Directory, 0o755, 0);
                self.builder
                    .append_data(&mut header, &prefix, io::empty())
                    .map_err(ArchiveError::write(&prefix))?;
            }
        }
        Ok(())
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn bytes(&mut self, name: &str, data: &[u8]) -> ArchiveResult<()> {
        self.stream(name, data.len() as u64, &mut &data[..])
    }

    fn stream(&mut self, name: &str, size: u64, reader: &mut dyn Read) -> ArchiveResult<()> {
        self.parents(name)?;
        let mut header = header(tar::EntryType::Regular, 0o644, size);
        let mut exact = ExactReader {
            inner: reader,
            left: size,
        };
        if header.set_path(name).is_err() {
            // Too long for the header: let tar write a GNU long-name entry.
            return self
                .builder
                .append_data(&mut header, name, &mut exact)
                .map_err(ArchiveError::write(name));
        }
        // What `append_data` writes for a name that fits (header, content,
        // zero padding to 512), with a large buffer instead of io::copy's 8 KiB.
        header.set_cksum();
        if self.buffer.len() < COPY_BUFFER {
            self.buffer.resize(COPY_BUFFER, 0);
        }
        let out = self.builder.get_mut();
        let copied = out.write_all(header.as_bytes()).and_then(|()| {
            loop {
                let n = match exact.read(&mut self.buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                out.write_all(&self.buffer[..n])?;
            }
            let pad = (512 - size % 512) % 512;
            out.write_all(&[0; 512][..pad as usize])
        });
        copied.map_err(ArchiveError::write(name))
    }
}

/// A header with kiln's fixed metadata.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Reads exactly `left` bytes from `inner`: fails if it ends early (a header
/// announcing more than follows would corrupt the tar), stops at `left`.
struct ExactReader<'a> {
    inner: &'a mut dyn Read,
    left: u64,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf.len().min(self.left.try_into().unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            let msg = format!("content ended {} bytes early", self.left);
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An OCI layout directory being written. Blobs are copied only when missing
/// (or of the wrong size); `index.json` and `oci-layout` are replaced. Every
/// file is written to a temp name, fsynced and renamed (then the directory
/// fsynced), so a crash never leaves a torn `index.json` or blob.
pub(crate) struct DirSink {
    dir: PathBuf,
}

impl DirSink {
    /// Writes into `dir` (created if missing).
    pub(crate) fn new(dir: &Path) -> ArchiveResult<Self> {
        fs::create_dir_all(dir).map_err(|e| ImageError::io("create directory", dir, e))?;
        Ok(DirSink {
            dir: dir.to_path_buf(),
        })
    }

    /// The path of member `name`, with its parent created.
    fn prepare(&self, name: &str) -> ArchiveResult<PathBuf> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| ImageError::io("create directory", parent, e))?;
        }
        Ok(path)
    }
}

impl Sink for DirSink {
    fn bytes(&mut self, name: &str, data: &[u8]) -> ArchiveResult<()> {
        self.stream(name, data.len() as u64, &mut &data[..])
    }

    fn stream(&mut self, name: &str, size: u64, reader: &mut dyn Read) -> ArchiveResult<()> {
        let path = self.prepare(name)?;
        let tmp = path.with_extension("kiln-tmp");
        let mut file = File::create(&tmp).map_err(|e| ImageError::io("create", &tmp, e))?;
        let mut exact = ExactReader {
            inner: reader,
            left: size,
        };
        io::copy(&mut exact, &mut file).map_err(ArchiveError::write(name))?;
        file.sync_all()
            .map_err(|e| ImageError::io("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| ImageError::io("rename into place", &path, e))?;
        let parent = path.parent().unwrap_or(&self.dir);
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| ImageError::io("fsync directory", parent, e))?;
        Ok(())
    }

    fn blob(&mut self, name: &str, store: &ContentStore, digest: &Digest) -> ArchiveResult<()> {
        let size = store.size(digest)?;
        let path = self.dir.join(name);
        if fs::metadata(&path).is_ok_and(|m| m.len() == size) {
            return Ok(());
        }
        let mut file = store.open(digest)?;
        self.stream(name, size, &mut file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_content_is_an_error_not_a_corrupt_tar() {
        let mut sink = TarSink::new(Vec::new());
        let err = sink.stream("x", 10, &mut &b"abc"[..]).unwrap_err();
        assert!(
            err.to_string().contains("writing archive member x"),
            "{err}"
        );
    }

    #[test]
    fn tar_entries_are_deterministic_with_parents_once() {
        let mut sink = TarSink::new(Vec::new());
        sink.bytes("a/b/c", b"1").unwrap();
        sink.bytes("a/b/d", b"2").unwrap();
        let bytes = sink.finish().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().mtime().unwrap(), 0);
                e.path().unwrap().display().to_string()
            })
            .collect();
        assert_eq!(names, ["a/", "a/b/", "a/b/c", "a/b/d"]);
    }
}
