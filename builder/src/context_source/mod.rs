//! Where the build context comes from: a directory (read in place), `-` (a
//! tar archive on standard input, unpacked into a temp folder with the
//! snapshotter's safe extraction), or a git repository (`https://…/repo.git`,
//! `git@host:repo.git`, `git://…`, `ssh://…`, `file://…`, each optionally
//! followed by `#REF` and `#REF:DIR` as in Docker), cloned with the local
//! `git` (`--depth 1` at the ref, all of it when the ref is a commit) into a
//! temp folder. Temp folders live under `<root>/builder/tmp/` and are
//! removed when the [`ContextSource`] is dropped.
//!
//! The `:DIR` of a git context is resolved inside the clone with
//! `kiln-inroot` (`RESOLVE_IN_ROOT`): a symlink in the repository cannot
//! point the build at a host directory.
//!
//! For tar and git contexts, `-f PATH` names a file inside the context (as
//! Docker does); for a directory it is a path as given.
//!
//! Modules: `error` ([`ContextSourceError`]), `git` (clone and `:DIR`),
//! `dockerfile` ([`ContextSource::read_dockerfile`]).

mod dockerfile;
mod error;
mod git;

pub use error::ContextSourceError;

use std::io::Read;
use std::path::{Path, PathBuf};

/// A ready context directory, and the temp folder to remove afterwards.
pub struct ContextSource {
    /// The directory to build from.
    pub dir: PathBuf,
    /// Whether `-f` paths are relative to the context (tar and git).
    pub remote: bool,
    temp: Option<PathBuf>,
}

impl Drop for ContextSource {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// Whether `arg` names a git repository rather than a directory (Docker's
/// `urlutil.IsGitURL` plus `#` fragments on http(s)).
pub fn is_git(arg: &str) -> bool {
    let base = arg.split('#').next().unwrap_or(arg);
    base.starts_with("git@")
        || base.starts_with("git://")
        || base.starts_with("ssh://")
        || base.starts_with("file://")
        || ((base.starts_with("https://") || base.starts_with("http://"))
            && (base.ends_with(".git") || arg.contains('#')))
}

/// Prepares the context named by `arg` (`-`: the tar on standard input, a
/// git URL or a directory), temp folders under `root`.
pub fn prepare(root: &Path, arg: &str) -> Result<ContextSource, ContextSourceError> {
    if arg == "-" {
        return prepare_tar(root, std::io::stdin());
    }
    if is_git(arg) {
        let temp = temp_dir(root, "git")?;
        let mut source = ContextSource {
            dir: temp.clone(),
            remote: true,
            temp: Some(temp.clone()),
        };
        source.dir = git::clone(arg, &temp.join("repo"))?;
        return Ok(source);
    }
    let dir = PathBuf::from(arg);
    if !dir.is_dir() {
        return Err(ContextSourceError::NotFound { arg: arg.into() });
    }
    Ok(ContextSource {
        dir,
        remote: false,
        temp: None,
    })
}

/// Prepares a context from a tar stream (plain, gzip or zstd), unpacked
/// with the snapshotter's safe extraction into a temp folder under `root`.
pub fn prepare_tar(root: &Path, mut input: impl Read) -> Result<ContextSource, ContextSourceError> {
    let temp = temp_dir(root, "tar")?;
    let source = ContextSource {
        dir: temp.clone(),
        remote: true,
        temp: Some(temp),
    };
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(ContextSourceError::ReadStdin)?;
    if bytes.is_empty() {
        return Err(ContextSourceError::EmptyStdin);
    }
    kiln_snapshotter::apply(&bytes[..], &source.dir).map_err(|e| ContextSourceError::Unpack {
        reason: e.to_string(),
    })?;
    Ok(source)
}

fn temp_dir(root: &Path, kind: &str) -> Result<PathBuf, ContextSourceError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = root
        .join("builder/tmp")
        .join(format!("{kind}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| ContextSourceError::CreateTemp {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_as_docker_detects_them() {
        for git in [
            "git@github.com:a/b.git",
            "git://host/repo",
            "ssh://host/repo",
            "file:///srv/repo",
            "https://host/repo.git",
            "https://host/repo#main",
        ] {
            assert!(is_git(git), "{git}");
        }
        for dir in [".", "/srv/ctx", "https://host/archive.tar.gz", "ctx#x"] {
            assert!(!is_git(dir), "{dir}");
        }
    }

    #[test]
    fn a_tar_context_is_unpacked_and_removed_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        builder
            .append_data(&mut header, "Dockerfile", &b"FROM "[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let source = prepare_tar(root.path(), &bytes[..]).unwrap();
        assert!(source.remote);
        let dockerfile = std::fs::read_to_string(source.dir.join("Dockerfile")).unwrap();
        assert_eq!(dockerfile, "FROM ");
        let dir = source.dir.clone();
        drop(source);
        assert!(!dir.exists(), "the temp folder goes with the source");
    }

    #[test]
    fn empty_input_and_missing_directories_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let err = prepare_tar(root.path(), &b""[..]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "unable to prepare context: the tar context on stdin is empty"
        );
        let missing = root.path().join("nope");
        let err = prepare(root.path(), missing.to_str().unwrap())
            .err()
            .unwrap();
        assert!(matches!(err, ContextSourceError::NotFound { .. }), "{err}");
    }
}
