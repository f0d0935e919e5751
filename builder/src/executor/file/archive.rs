//! ADD of a local tar archive: detection by content (Docker's rule: a gzip,
//! bzip2, xz or zstd stream, or none, whose first 512 bytes are a valid tar
//! header) and extraction into the destination directory.
//!
//! Extraction is chroot-style at the destination directory (as Docker's
//! `chrootarchive`): names have leading `/` and `.` dropped, a `..` component
//! refuses the archive, and parents are resolved with `RESOLVE_IN_ROOT` at the
//! destination, so a link in the archive (`a -> /`) followed by `a/x` writes
//! `<dest>/x`, never outside. Entries keep the archive's mode, owner and
//! mtime; an existing file is replaced, an existing directory gets the
//! entry's attributes. Whiteout files (`.wh.*`) are extracted as plain files,
//! as Docker's `Untar` does. PAX and GNU long names are honoured.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::write::{Body, Meta, Writer};
use super::FileError;

/// A compression format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// The xz decoder runs on a thread feeding a bounded channel of chunks
/// (lzma-rs decodes from a `BufRead` into a `Write`, it is not a `Read`).
struct XzReader {
    chunks: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    worker: Option<JoinHandle<Result<(), String>>>,
}

impl Read for XzReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => {
                    if let Some(worker) = self.worker.take() {
                        let result = worker
                            .join()
                            .unwrap_or_else(|_| Err("xz decoder panicked".into()));
                        result.map_err(|e| {
                            io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e}"))
                        })?;
                    }
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The decoder thread's output: chunks sent to the reader (an error once it
/// has gone away stops the decoder).
struct ChunkWriter(SyncSender<Vec<u8>>);

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A decompressing reader over `file` from its start.
fn decoder(mut file: File) -> io::Result<Box<dyn Read>> {
    let mut head = [0u8; 6];
    let n = read_up_to(&mut file, &mut head)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(match detect(&head[..n]) {
        Compression::None => Box::new(BufReader::new(file)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(file))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
        Compression::Xz => {
            let (tx, chunks) = sync_channel(16);
            let worker = std::thread::spawn(move || {
                let mut input = BufReader::new(file);
                let mut out = io::BufWriter::with_capacity(1 << 16, ChunkWriter(tx));
                lzma_rs::xz_decompress(&mut input, &mut out).map_err(|e| e.to_string())?;
                out.flush().map_err(|e| e.to_string())
            });
            Box::new(XzReader {
                chunks,
                current: Vec::new(),
                at: 0,
                worker: Some(worker),
            })
        }
    })
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether a 512-byte block is a tar header with a correct checksum.
fn valid_header(block: &[u8]) -> bool {
    if block.len() < 512 || block.iter().all(|&b| b == 0) {
        return false;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == Some(sum)
}

/// Whether `file` is a (possibly compressed) tar archive.
pub(super) fn is_archive(file: File) -> bool {
    let Ok(mut r) = decoder(file) else {
        return false;
    };
    let mut block = [0u8; 512];
    matches!(read_up_to(&mut r, &mut block), Ok(512)) && valid_header(&block)
}

/// Normalises an entry name; `None` for the root itself.
fn clean_name(raw: &str) -> Result<String, FileError> {
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(FileError(format!(
                    "refusing archive entry {raw:?}: it climbs out of the destination"
                )))
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Extracts the archive `file` into the writer's root (see the module docs).
/// `shown` names the archive in errors.
pub(super) fn extract(file: File, dest: &mut Writer, shown: &str) -> Result<(), FileError> {
    let reader = decoder(file).map_err(|e| FileError::io("read archive", shown, e))?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| FileError::io("read archive", shown, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| FileError::io("read archive", shown, e))?;
        let raw = entry
            .path()
            .map_err(|e| FileError::io("read archive entry name", shown, e))?;
        let raw = raw
            .to_str()
            .ok_or_else(|| FileError(format!("{shown}: archive entry name is not UTF-8")))?
            .to_string();
        let rel = clean_name(&raw)?;
        let h = entry.header();
        let mtime = h.mtime().unwrap_or(0) as i64;
        let meta = Meta {
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            uid: h.uid().unwrap_or(0) as u32,
            gid: h.gid().unwrap_or(0) as u32,
            atime: (mtime, 0),
            mtime: (mtime, 0),
        };
        let kind = h.entry_type();
        let link = || -> Result<String, FileError> {
            let l = entry
                .link_name()
                .map_err(|e| FileError::io("read link name", shown, e))?;
            let l =
                l.ok_or_else(|| FileError(format!("{shown}: link entry {raw:?} has no target")))?;
            l.to_str()
                .map(str::to_string)
                .ok_or_else(|| FileError(format!("{shown}: link target is not UTF-8")))
        };
        let body = match kind {
            tar::EntryType::Directory => Body::Dir,
            tar::EntryType::Symlink => Body::Symlink(link()?),
            tar::EntryType::Link => Body::HardLink(clean_name(&link()?)?),
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let t = match kind {
                    tar::EntryType::Char => libc::S_IFCHR,
                    tar::EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                Body::Node(t, libc::makedev(major, minor))
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                dest.put(&rel, &meta, Body::File(&mut entry), false)?;
                continue;
            }
            _ => continue,
        };
        if rel.is_empty() && !matches!(body, Body::Dir) {
            return Err(FileError(format!(
                "{shown}: archive entry {raw:?} has no name"
            )));
        }
        dest.put(&rel, &meta, body, false)?;
    }
    Ok(())
}
