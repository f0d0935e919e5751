//! A cap on the bytes tar header extensions may take.
//!
//! The `tar` crate reads a GNU long-name/long-link member or a pax record
//! block wholly into memory before it hands out the entry they describe, and
//! believes the size their header claims: a 1 MB gzip can carry a "long name"
//! of a gigabyte. [`HeaderGuard`] sits under the tar reader and counts bytes:
//! while the next entry is being looked for, the reader may go past the end of
//! the previous entry's data by at most [`MAX_EXTENSIONS`] bytes (headers,
//! long names, pax records); beyond that reads fail and staging reports
//! [`ArchiveError::Limit`](super::error::ArchiveError::Limit). While an
//! entry's data is read there is no limit (layers stream to the store).
//! GNU tar and Go's archive/tar cap these records too (Go: 1 MiB of pax data).

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// How far past the previous entry's data the reader may go while looking
/// for the next entry (headers, long names and pax records together).
pub(crate) const MAX_EXTENSIONS: u64 = 1 << 20;

/// The shared state of a [`Guarded`] reader.
#[derive(Debug, Default)]
struct State {
    /// Bytes read from the stream so far.
    pos: Cell<u64>,
    /// Where the previous entry's data (padded to 512) ends.
    data_end: Cell<u64>,
    /// While looking for an entry: the position reads may not pass.
    limit: Cell<Option<u64>>,
    /// Whether a read was refused for passing the limit.
    tripped: Cell<bool>,
}

/// The handle staging uses to arm and disarm the limit around `next()`.
#[derive(Debug)]
pub(crate) struct HeaderGuard {
    state: Rc<State>,
}

/// The reader given to the tar crate.
#[derive(Debug)]
pub(crate) struct Guarded<R> {
    inner: R,
    state: Rc<State>,
}

impl HeaderGuard {
    /// Wraps `inner`; returns the reader for the tar crate and its guard.
    pub(crate) fn new<R: Read>(inner: R) -> (Guarded<R>, HeaderGuard) {
        let state = Rc::new(State::default());
        let reader = Guarded {
            inner,
            state: Rc::clone(&state),
        };
        (reader, HeaderGuard { state })
    }

    /// Called before looking for the next entry: limits reads to
    /// [`MAX_EXTENSIONS`] past the previous entry's data.
    pub(crate) fn arm(&self) {
        let end = self.state.data_end.get();
        self.state
            .limit
            .set(Some(end.saturating_add(MAX_EXTENSIONS)));
    }

    /// Called with the entry found: lifts the limit and records where its
    /// data ends (the larger of the header's and the pax size, padded).
    pub(crate) fn disarm<R: Read>(&self, entry: &tar::Entry<'_, R>) {
        self.state.limit.set(None);
        let size = entry.size().max(entry.header().entry_size().unwrap_or(0));
        let end = entry
            .raw_file_position()
            .saturating_add(size)
            .saturating_add(511)
            & !511;
        self.state.data_end.set(end);
    }

    /// Whether the limit refused a read (the tar error is then this cap).
    pub(crate) fn tripped(&self) -> bool {
        self.state.tripped.get()
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.state.pos.get();
        let mut len = buf.len();
        if let Some(limit) = self.state.limit.get() {
            let left = limit.saturating_sub(pos);
            if left == 0 && len > 0 {
                self.state.tripped.set(true);
                let msg = format!("tar header extensions over {MAX_EXTENSIONS} bytes");
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            }
            len = len.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let n = self.inner.read(&mut buf[..len])?;
        self.state.pos.set(pos + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar whose only member has a GNU long name of `len` bytes.
    fn long_name_tar(len: usize) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        let name = "n".repeat(len);
        builder.append_data(&mut header, &name, &b"x"[..]).unwrap();
        builder.into_inner().unwrap()
    }

    /// Reads every entry's path through the guard; Err(tripped) on failure.
    fn names(bytes: &[u8]) -> Result<Vec<usize>, bool> {
        let (reader, guard) = HeaderGuard::new(bytes);
        let mut archive = tar::Archive::new(reader);
        let mut entries = archive.entries().unwrap();
        let mut out = Vec::new();
        loop {
            guard.arm();
            let Some(entry) = entries.next() else { break };
            let entry = entry.map_err(|_| guard.tripped())?;
            guard.disarm(&entry);
            out.push(entry.path().unwrap().as_os_str().len());
        }
        Ok(out)
    }

    #[test]
    fn long_names_pass_up_to_the_cap_and_fail_beyond() {
        assert_eq!(names(&long_name_tar(4000)), Ok(vec![4000]));
        assert_eq!(names(&long_name_tar(2 << 20)), Err(true));
    }

    #[test]
    fn entry_data_is_not_limited() {
        let mut builder = tar::Builder::new(Vec::new());
        for name in ["big", "after"] {
            let mut header = tar::Header::new_gnu();
            let data = vec![7u8; 3 << 20];
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, name, &data[..]).unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        assert_eq!(names(&bytes), Ok(vec![3, 5]));
    }
}
