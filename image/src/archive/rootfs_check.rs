//! Checks a rootfs tar given to `import` while it is stored: entries that
//! could never be applied (a `..` component, a root `./` that is not a
//! directory, a hard link climbing out or to the root, a whiteout of `.`/`..`,
//! an entry type kiln cannot create) fail the import with one line naming the
//! entry, instead of an image that fails at its first `run`. These are the
//! static refusals of the snapshotter's layer applier; what depends on the
//! tree (symlinks on the way, missing link targets) is still checked when
//! the layer is applied. Empty input (zero bytes) is not a tar at all and fails
//! too. (`docker import` checks nothing here; a layer that can never be
//! unpacked is refused where it is cheapest to explain.)
//!
//! The tar is parsed on a worker thread from a copy of the bytes the store
//! reads, so the input is still read once and never held whole in memory.

use std::io::{self, Read};
use std::path::{Component, Path};
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::error::{ArchiveError, ArchiveResult};
use super::guard::{HeaderGuard, MAX_EXTENSIONS};

/// Chunks the reader may run ahead of the checker.
const DEPTH: usize = 8;
/// What whiteout names start with.
const WHITEOUT_PREFIX: &str = ".wh.";

/// Runs `store` on a reader of `tar` while a worker checks the same bytes as
/// a rootfs tar; `store`'s error first, then the checker's.
pub(crate) fn checked<R, T>(
    tar: R,
    store: impl FnOnce(&mut dyn Read) -> ArchiveResult<T>,
) -> ArchiveResult<T>
where
    R: Read,
{
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH);
    std::thread::scope(|scope| {
        let checker = scope.spawn(move || check_entries(ChannelReader::new(rx)));
        let mut tee = Tee {
            inner: tar,
            tx: Some(tx),
            total: 0,
        };
        let stored = store(&mut tee);
        let total = tee.total;
        drop(tee);
        let verdict = checker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let stored = stored?;
        if total == 0 {
            return Err(bad("", "empty input: not a tar archive"));
        }
        verdict.map(|()| stored)
    })
}

/// Checks every entry of the tar `reader` yields.
fn check_entries<R: Read>(reader: R) -> ArchiveResult<()> {
    let (guarded, guard) = HeaderGuard::new(reader);
    let mut archive = tar::Archive::new(guarded);
    let mut entries = archive.entries().map_err(not_tar)?;
    loop {
        guard.arm();
        let Some(entry) = entries.next() else {
            return Ok(());
        };
        let entry = entry.map_err(|e| {
            if guard.tripped() {
                ArchiveError::limit("bytes of tar header extensions per member", MAX_EXTENSIONS)
            } else {
                not_tar(e)
            }
        })?;
        guard.disarm(&entry);
        check_entry(&entry)?;
    }
}

/// The static checks of one entry.
fn check_entry<R: Read>(entry: &tar::Entry<'_, R>) -> ArchiveResult<()> {
    use tar::EntryType as T;
    let raw = entry.path_bytes();
    let name = String::from_utf8_lossy(&raw).into_owned();
    let kind = entry.header().entry_type();
    if matches!(kind, T::XGlobalHeader | T::XHeader) {
        return Ok(());
    }
    if !matches!(
        kind,
        T::Regular
            | T::Continuous
            | T::Directory
            | T::Symlink
            | T::Link
            | T::Char
            | T::Block
            | T::Fifo
    ) {
        return Err(bad(&name, "unsupported tar entry type"));
    }
    let Some(base) = plain_base(&name)? else {
        if kind != T::Directory {
            return Err(bad(&name, "the root of the layer must be a directory"));
        }
        return Ok(());
    };
    if let Some(target) = base.strip_prefix(WHITEOUT_PREFIX) {
        if matches!(target, "" | "." | "..") {
            return Err(bad(&name, "whiteout of `.`, `..` or nothing"));
        }
    }
    if kind == T::Link {
        let target = entry.link_name_bytes().unwrap_or_default();
        let target = String::from_utf8_lossy(&target).into_owned();
        match plain_base(&target) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(bad(&name, "hard link to the root")),
            Err(_) => return Err(bad(&name, "hard link target contains `..`")),
        }
    }
    Ok(())
}

/// The last component of a tar name (`None` for the root itself); a `..`
/// anywhere is refused, as the applier refuses it.
fn plain_base(name: &str) -> ArchiveResult<Option<String>> {
    let mut last = None;
    for component in Path::new(name).components() {
        match component {
            Component::Normal(c) => last = Some(c.to_string_lossy().into_owned()),
            Component::ParentDir => return Err(bad(name, "path contains a `..` component")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(last)
}

/// A [`ArchiveError::BadRootfs`] for `entry`.
fn bad(entry: &str, reason: &str) -> ArchiveError {
    ArchiveError::BadRootfs {
        entry: entry.to_string(),
        reason: reason.to_string(),
    }
}

/// The input is not a (well-formed) tar.
fn not_tar(e: io::Error) -> ArchiveError {
    bad("", &format!("not a tar archive: {e}"))
}

/// Hands a copy of every chunk read to the checker (until it stops listening).
struct Tee<R> {
    inner: R,
    tx: Option<SyncSender<Vec<u8>>>,
    total: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if n > 0 {
            if let Some(tx) = &self.tx {
                // The checker returned (a verdict or the end of the tar): stop copying.
                if tx.send(buf[..n].to_vec()).is_err() {
                    self.tx = None;
                }
            }
        }
        Ok(n)
    }
}

/// The checker's end: the chunks, in order; a closed channel is the end.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            current: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar of (name, type, link target) entries, raw names kept.
    fn tar_of(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, link) in entries {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(0);
            header.set_mode(0o755);
            if !link.is_empty() {
                header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
        }
        out.extend_from_slice(&[0; 1024]);
        out
    }

    fn verdict(bytes: &[u8]) -> Result<(), String> {
        checked(bytes, |r| {
            io::copy(r, &mut io::sink()).unwrap();
            Ok(())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn applicable_tars_pass() {
        use tar::EntryType as T;
        let ok = tar_of(&[
            ("./", T::Directory, ""),
            ("./a", T::Regular, ""),
            ("./b", T::Link, "a"),
        ]);
        assert_eq!(verdict(&ok), Ok(()));
        assert_eq!(
            verdict(&[0; 1024]),
            Ok(()),
            "an empty tar is an empty layer"
        );
    }

    #[test]
    fn unapplicable_entries_are_named() {
        use tar::EntryType as T;
        let cases = [
            (
                tar_of(&[("../x", T::Regular, "")]),
                "rootfs tar entry ../x: path contains a `..` component",
            ),
            (
                tar_of(&[("./", T::Regular, "")]),
                "rootfs tar entry ./: the root of the layer must be a directory",
            ),
            (
                tar_of(&[("l", T::Link, "../../etc/passwd")]),
                "rootfs tar entry l: hard link target contains `..`",
            ),
            (
                tar_of(&[("d/.wh..", T::Regular, "")]),
                "rootfs tar entry d/.wh..: whiteout of `.`, `..` or nothing",
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(verdict(&bytes).unwrap_err(), want);
        }
        assert_eq!(
            verdict(&[]).unwrap_err(),
            "rootfs tar: empty input: not a tar archive"
        );
    }
}
