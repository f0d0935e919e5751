//! Where an archive saved to a path (`kiln save -o OUT`, `kiln build
//! --output type=oci,dest=OUT`) is written: never a half-written OUT, and
//! nothing left behind by a crash or `kill -9`. [`save_file`] is the whole
//! operation; [`SaveOutput`] the file it writes through.
//!
//! - The archive is written to an anonymous file in OUT's directory
//!   (`O_TMPFILE`): a killed save leaves nothing at all. When complete it is
//!   fsynced and linked in: straight as OUT when OUT does not exist, else under
//!   the temp name `OUT.tmp-<pid>` (OUT's extension replaced) and renamed over
//!   OUT at once, so readers see the old or the new archive, never a mix.
//! - Filesystems without `O_TMPFILE` (NFS, some FUSE) get that named temp file
//!   from the start, removed on every error path.
//! - A `kill -9` inside the short link-then-rename window, or of an older kiln,
//!   leaves `OUT.tmp-<pid>`: every save sweeps those of the same OUT whose pid is
//!   no longer running (a live pid's file may be a concurrent save: kept).
//! - An OUT that exists and is not a regular file (`/dev/null`, `/dev/stdout`,
//!   a FIFO) is written in place: replacing a device node with a file is never
//!   what `save -o /dev/null` means. (The Docker CLI renames over it.)

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::{save, ArchiveError, ArchiveFormat, ArchiveResult};
use crate::{ContentStore, ImageIndex, Reference};

/// Saves `references` as a `format` archive at `out` through a [`SaveOutput`].
pub fn save_file(
    content: &ContentStore,
    index: &ImageIndex,
    references: &[Reference],
    format: ArchiveFormat,
    out: &Path,
) -> ArchiveResult<()> {
    let mut output = SaveOutput::create(out)?;
    let mut writer = save(
        content,
        index,
        references,
        format,
        std::io::BufWriter::new(output.file()),
    )?;
    std::io::Write::flush(&mut writer).map_err(output_err("write", out))?;
    drop(writer);
    output.commit()
}

/// An [`ArchiveError::Output`] for `path`.
fn output_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let path = path.to_path_buf();
    move |source| ArchiveError::Output {
        action,
        path,
        source,
    }
}

/// An archive being written for `save -o`.
pub struct SaveOutput {
    file: File,
    out: PathBuf,
    kind: Kind,
}

/// How the file reaches OUT.
enum Kind {
    /// OUT itself (a device or FIFO).
    InPlace,
    /// An `O_TMPFILE` in OUT's directory, linked in on commit.
    Anonymous,
    /// A named temp file, renamed on commit (removed on drop if not).
    Named(Option<PathBuf>),
}

impl SaveOutput {
    /// Prepares to write `out`, sweeping stale temp files of earlier saves.
    pub fn create(out: &Path) -> ArchiveResult<SaveOutput> {
        if let Ok(meta) = fs::metadata(out) {
            if meta.is_dir() {
                return Err(ArchiveError::OutputIsDirectory {
                    path: out.to_path_buf(),
                });
            }
            if !meta.is_file() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(out)
                    .map_err(output_err("open", out))?;
                return Ok(SaveOutput::new(file, out, Kind::InPlace));
            }
        }
        sweep_stale(out);
        let dir = parent(out);
        let anonymous = OpenOptions::new()
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE)
            .open(dir);
        if let Ok(file) = anonymous {
            return Ok(SaveOutput::new(file, out, Kind::Anonymous));
        }
        let temp = temp_name(out, std::process::id());
        let file = File::create(&temp).map_err(output_err("create", &temp))?;
        Ok(SaveOutput::new(file, out, Kind::Named(Some(temp))))
    }

    fn new(file: File, out: &Path, kind: Kind) -> SaveOutput {
        SaveOutput {
            file,
            out: out.to_path_buf(),
            kind,
        }
    }

    /// The file to write the archive to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Makes the written archive OUT (fsynced first).
    pub fn commit(mut self) -> ArchiveResult<()> {
        let out = self.out.clone();
        let cannot = || output_err("write", &out);
        if matches!(self.kind, Kind::InPlace) {
            return Ok(());
        }
        self.file.sync_all().map_err(cannot())?;
        if let Kind::Named(temp) = &mut self.kind {
            let temp = temp.take().expect("a named temp file until committed");
            let renamed = fs::rename(&temp, &out);
            if renamed.is_err() {
                let _ = fs::remove_file(&temp);
            }
            return renamed.map_err(cannot());
        }
        if link_fd(&self.file, &out).is_ok() {
            return Ok(());
        }
        let temp = temp_name(&out, std::process::id());
        let _ = fs::remove_file(&temp);
        link_fd(&self.file, &temp).map_err(cannot())?;
        let renamed = fs::rename(&temp, &out);
        if renamed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        renamed.map_err(cannot())
    }
}

impl Drop for SaveOutput {
    fn drop(&mut self) {
        if let Kind::Named(Some(temp)) = &self.kind {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Links the anonymous file `file` at `path` (fails if `path` exists).
fn link_fd(file: &File, path: &Path) -> std::io::Result<()> {
    let source = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let target = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `OUT.tmp-<pid>` (OUT's extension replaced), beside OUT.
pub fn temp_name(out: &Path, pid: u32) -> PathBuf {
    out.with_extension(format!("tmp-{pid}"))
}

/// The directory OUT is in (`.` for a bare name).
fn parent(out: &Path) -> &Path {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes `OUT.tmp-<pid>` files of earlier saves of OUT whose pid is gone.
fn sweep_stale(out: &Path) {
    let prefix = temp_name(out, 0);
    let Some(prefix) = prefix.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let Some(prefix) = prefix.strip_suffix('0') else {
        return;
    };
    let Ok(entries) = fs::read_dir(parent(out)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid > 0 && !alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` exists (EPERM means it does, owned by someone else).
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_output_replaces_out_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img.tar");
        fs::write(&out, "old").unwrap();
        let mut output = SaveOutput::create(&out).unwrap();
        output.file().write_all(b"new archive").unwrap();
        assert_eq!(
            fs::read_to_string(&out).unwrap(),
            "old",
            "OUT is untouched until commit"
        );
        output.commit().unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new archive");
        assert_eq!(names(dir.path()), ["img.tar"]);
    }

    #[test]
    fn an_abandoned_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img.tar");
        let mut output = SaveOutput::create(&out).unwrap();
        output.file().write_all(b"half").unwrap();
        drop(output);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_directory_is_refused_and_stale_temps_of_dead_pids_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let err = SaveOutput::create(dir.path()).err().unwrap();
        assert!(
            matches!(err, ArchiveError::OutputIsDirectory { .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: it is a directory", dir.path().display())
        );
        let out = dir.path().join("img.tar");
        // pid_max is at most 2^22: this pid cannot be running.
        let stale = temp_name(&out, 4_194_304 + 1);
        let live = temp_name(&out, std::process::id());
        fs::write(&stale, "x").unwrap();
        fs::write(&live, "y").unwrap();
        SaveOutput::create(&out).unwrap().commit().unwrap();
        assert!(!stale.exists(), "a dead save's temp file is swept");
        assert!(live.exists(), "a live pid's temp file is kept");
    }
}
