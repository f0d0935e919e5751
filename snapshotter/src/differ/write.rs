//! The tar side of `diff`: one [`TarWriter`] turns filesystem entries, whiteouts
//! and opaque markers into ustar headers (plus PAX records for xattrs, long names
//! and big ids) and streams them through the hashing/compressing sink.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use kiln_image::content::MemberIndex;

use super::stream::{Encoder, HashWriter};
use super::{DiffOptions, LayerDigests, OPAQUE, WHITEOUT_PREFIX};
use crate::{sys, Error, Result};

/// Largest id an ustar header holds in octal; bigger ones go in PAX records.
const MAX_USTAR_ID: u64 = 0o7777777;
/// Xattrs overlayfs keeps for itself; never part of a layer.
const OVERLAY_XATTR_PREFIX: &[u8] = b"trusted.overlay.";

type Sink<W> = HashWriter<Encoder<HashWriter<W>>>;

/// Writes one layer tar; see the module docs of `differ` for the format choices.
pub(crate) struct TarWriter<W: Write> {
    builder: tar::Builder<Sink<W>>,
    /// First archived path of each multiply-linked inode, by (dev, ino).
    links: HashMap<(u64, u64), PathBuf>,
    epoch: Option<i64>,
}

/// Maps an I/O error while writing `entry` into the crate error.
fn write_err(entry: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::LayerEntry {
        entry: entry.to_path_buf(),
        op: "write to layer",
        source,
    }
}

impl<W: Write> TarWriter<W> {
    /// Starts a layer written to `out`; gzip reuses members from `index`.
    pub(crate) fn new(out: W, opts: &DiffOptions, index: Option<&MemberIndex>) -> Result<Self> {
        let encoder =
            Encoder::new(HashWriter::new(out), opts.compression, index).map_err(|source| {
                Error::LayerStream {
                    op: "start compression",
                    source,
                }
            })?;
        Ok(TarWriter {
            builder: tar::Builder::new(HashWriter::new(encoder)),
            links: HashMap::new(),
            epoch: opts.source_date_epoch,
        })
    }

    /// Archives the entry at `disk` under the layer path `rel`. Sockets are skipped
    /// (tar cannot carry them).
    pub(crate) fn add(&mut self, rel: &Path, disk: &Path) -> Result<()> {
        let md = fs::symlink_metadata(disk).map_err(Error::io("inspect", disk))?;
        let names = sys::list_xattrs(disk).map_err(Error::io("list xattrs", disk))?;
        self.add_inspected(rel, disk, &md, names)
    }

    /// [`TarWriter::add`] for an entry whose metadata and xattr names the
    /// caller already read (the overlay walk needs them too: one `lstat`
    /// and one `llistxattr` per entry in all).
    pub(crate) fn add_inspected(
        &mut self,
        rel: &Path,
        disk: &Path,
        md: &Metadata,
        xattr_names: Vec<CString>,
    ) -> Result<()> {
        let md = md.clone();
        let ft = md.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        let mut header = self.base_header(&md);
        let mut pax = ids_pax(&md);
        pax.extend(xattrs_pax(disk, xattr_names)?);
        if let Some(first) = self.earlier_link(rel, &md) {
            header.set_entry_type(tar::EntryType::Link);
            set_name(&mut header, &mut pax, "linkpath", &first);
            return self.append(rel, header, pax, io::empty());
        }
        if ft.is_file() {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(md.len());
            let file = File::open(disk).map_err(Error::io("open", disk))?;
            let data = ExactReader {
                inner: file.take(md.len()),
                remaining: md.len(),
            };
            return self.append(rel, header, pax, data);
        }
        if ft.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
        } else if ft.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            let target = fs::read_link(disk).map_err(Error::io("read link", disk))?;
            set_name(
                &mut header,
                &mut pax,
                "linkpath",
                target.as_os_str().as_bytes(),
            );
        } else {
            set_special(&mut header, &md, rel)?;
        }
        self.append(rel, header, pax, io::empty())
    }

    /// For the second and later paths of a multiply-linked inode, the first one's
    /// path (the entry becomes a hard link); remembers first paths.
    fn earlier_link(&mut self, rel: &Path, md: &Metadata) -> Option<Vec<u8>> {
        if md.is_dir() || md.nlink() < 2 {
            return None;
        }
        let key = (md.dev(), md.ino());
        if let Some(first) = self.links.get(&key) {
            return Some(first.as_os_str().as_bytes().to_vec());
        }
        self.links.insert(key, rel.to_path_buf());
        None
    }

    /// Writes a whiteout for the deleted layer path `rel` (`<dir>/.wh.<name>`).
    pub(crate) fn whiteout(&mut self, rel: &Path) -> Result<()> {
        let mut name = WHITEOUT_PREFIX.as_bytes().to_vec();
        name.extend_from_slice(rel.file_name().unwrap_or_default().as_bytes());
        let path = rel.with_file_name(std::ffi::OsStr::from_bytes(&name));
        self.marker(&path)
    }

    /// Writes the opaque marker for directory `rel`, right after its own entry.
    pub(crate) fn opaque(&mut self, rel: &Path) -> Result<()> {
        self.marker(&rel.join(OPAQUE))
    }

    /// Ends the archive and the compression, returning the digests.
    pub(crate) fn finish(self) -> Result<LayerDigests> {
        let err = |op| move |source| Error::LayerStream { op, source };
        let sink = self.builder.into_inner().map_err(err("finish tar"))?;
        let (encoder, diff_id, uncompressed_size) = sink.finish();
        let (counted, log) = encoder.finish().map_err(err("finish compression"))?;
        let (mut out, digest, size) = counted.finish();
        out.flush().map_err(err("flush output"))?;
        Ok(LayerDigests {
            diff_id,
            digest,
            size,
            uncompressed_size,
            members: log.members,
            members_reused: log.reused,
        })
    }

    /// An empty regular file entry, owned by root, mode 0644, at mtime 0.
    fn marker(&mut self, path: &Path) -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(0);
        self.append(path, header, Vec::new(), io::empty())
    }

    /// Mode, owner and (clamped) mtime from `md`; type and size are set by callers.
    fn base_header(&self, md: &Metadata) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.set_mode(md.mode() & 0o7777);
        header.set_uid(md.uid().into());
        header.set_gid(md.gid().into());
        let mut mtime = md.mtime();
        if let Some(epoch) = self.epoch {
            mtime = mtime.min(epoch);
        }
        header.set_mtime(mtime.max(0) as u64);
        header.set_size(0);
        header
    }

    /// Sets the name (PAX `path` when long), writes the PAX records if any, then
    /// the header and data.
    fn append(
        &mut self,
        rel: &Path,
        mut header: tar::Header,
        mut pax: Vec<(String, Vec<u8>)>,
        data: impl Read,
    ) -> Result<()> {
        let mut name = rel.as_os_str().as_bytes().to_vec();
        if header.entry_type() == tar::EntryType::Directory {
            name.push(b'/');
        }
        set_name(&mut header, &mut pax, "path", &name);
        header.set_cksum();
        if !pax.is_empty() {
            let records = pax.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            self.builder
                .append_pax_extensions(records)
                .map_err(write_err(rel))?;
        }
        self.builder.append(&header, data).map_err(write_err(rel))
    }
}

/// Puts `value` into the header's name (`key == "path"`) or link name field; when
/// it does not fit, the field gets a truncated copy and a PAX record the full value.
fn set_name(header: &mut tar::Header, pax: &mut Vec<(String, Vec<u8>)>, key: &str, value: &[u8]) {
    let old = header.as_old_mut();
    let field = if key == "path" {
        &mut old.name
    } else {
        &mut old.linkname
    };
    let n = value.len().min(field.len());
    field.fill(0);
    field[..n].copy_from_slice(&value[..n]);
    if value.len() > field.len() {
        pax.push((key.to_string(), value.to_vec()));
    }
}

/// Type and device numbers of a character/block device or FIFO.
fn set_special(header: &mut tar::Header, md: &Metadata, rel: &Path) -> Result<()> {
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        tar::EntryType::Char
    } else if ft.is_block_device() {
        tar::EntryType::Block
    } else {
        tar::EntryType::Fifo
    };
    header.set_entry_type(kind);
    if kind != tar::EntryType::Fifo {
        let rdev = md.rdev() as libc::dev_t;
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        header
            .set_device_major(major)
            .and_then(|()| header.set_device_minor(minor))
            .map_err(write_err(rel))?;
    }
    Ok(())
}

/// PAX `uid`/`gid` records for ids an ustar header cannot hold.
fn ids_pax(md: &Metadata) -> Vec<(String, Vec<u8>)> {
    let mut pax = Vec::new();
    for (key, id) in [("uid", md.uid()), ("gid", md.gid())] {
        if u64::from(id) > MAX_USTAR_ID {
            pax.push((key.to_string(), id.to_string().into_bytes()));
        }
    }
    pax
}

/// `SCHILY.xattr.<name>` records for the entry's xattrs, sorted by name, without
/// overlayfs's own `trusted.overlay.*`.
pub(crate) fn xattrs_pax(disk: &Path, mut names: Vec<CString>) -> Result<Vec<(String, Vec<u8>)>> {
    names.retain(|n| !n.as_bytes().starts_with(OVERLAY_XATTR_PREFIX));
    names.sort();
    let mut pax = Vec::with_capacity(names.len());
    for name in names {
        let value = sys::get_xattr(disk, &name).map_err(Error::io("read xattr", disk))?;
        let key = format!("SCHILY.xattr.{}", name.to_string_lossy());
        pax.push((key, value));
    }
    Ok(pax)
}

/// Reads exactly `remaining` bytes or fails: a file that shrinks while it is
/// archived must not produce a tar whose header disagrees with its data.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being archived",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
