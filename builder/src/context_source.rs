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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_parser::dockerfile::limits::MAX_DOCKERFILE_BYTES;

/// Why a context could not be prepared, in `docker build`'s words.
#[derive(Debug, thiserror::Error)]
pub enum ContextSourceError {
    /// A directory context that does not exist.
    #[error("unable to prepare context: path {arg:?} not found")]
    NotFound {
        /// The argument as given.
        arg: String,
    },
    /// The temp folder could not be made.
    #[error("unable to prepare context: create {}", .path.display())]
    CreateTemp {
        /// The folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Standard input could not be read.
    #[error("unable to prepare context: read the tar context from stdin")]
    ReadStdin(#[source] std::io::Error),
    /// Standard input was empty.
    #[error("unable to prepare context: the tar context on stdin is empty")]
    EmptyStdin,
    /// The tar on standard input could not be unpacked.
    #[error("unable to prepare context: unpack the tar on stdin: {reason}")]
    Unpack {
        /// The snapshotter's complaint.
        reason: String,
    },
    /// `git` could not be started.
    #[error("git context {url}: cannot run git")]
    GitRun {
        /// The context argument.
        url: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `git` failed.
    #[error("git context {url}: {message}")]
    Git {
        /// The context argument.
        url: String,
        /// git's first line on standard error.
        message: String,
    },
    /// Reading the Dockerfile from standard input failed.
    #[error("read Dockerfile from stdin")]
    DockerfileStdin(#[source] Box<ContextSourceError>),
    /// A `-f` file on the host could not be opened.
    #[error("failed to read dockerfile: open {}", .path.display())]
    DockerfileOpen {
        /// The path as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `-f` file on the host could not be read.
    #[error("failed to read dockerfile {}", .path.display())]
    DockerfileRead {
        /// The path as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: Box<ContextSourceError>,
    },
    /// Reading failed.
    #[error(transparent)]
    DockerfileIo(std::io::Error),
    /// The Dockerfile is larger than the parser accepts.
    #[error("the Dockerfile is over kiln's limit of {max} bytes")]
    DockerfileTooBig {
        /// The limit.
        max: usize,
    },
    /// The context could not be opened, or the Dockerfile in it read.
    #[error("failed to read dockerfile: {0}")]
    DockerfileInRoot(kiln_inroot::Error),
    /// No such Dockerfile in the context.
    #[error("failed to read dockerfile: open {}: no such file in the build context", .shown.display())]
    DockerfileMissing {
        /// The Dockerfile's path under the context.
        shown: PathBuf,
    },
    /// The Dockerfile is not UTF-8.
    #[error("failed to read dockerfile {}: not UTF-8 text", .shown.display())]
    DockerfileNotUtf8 {
        /// The Dockerfile's path under the context.
        shown: PathBuf,
    },
    /// The clone or its `:DIR` could not be opened.
    #[error("git context {url}: no directory {subdir:?} in the repository")]
    GitSubdir {
        /// The context argument.
        url: String,
        /// The `:DIR` part.
        subdir: String,
    },
}

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

impl ContextSource {
    /// Reads the Dockerfile: `file` `-` is standard input; with a tar or git
    /// context `file` (default `Dockerfile`) is resolved inside the context
    /// (kiln-inroot), as BuildKit, where the Dockerfile is transferred as part
    /// of the context; an explicit `file` next to a directory context is a
    /// host path the user typed, read as given (as docker does). Returns the
    /// text and the path to show in messages. At most the parser's
    /// `MAX_DOCKERFILE_BYTES` are read (`-f /dev/zero` fails, not fills memory).
    pub fn read_dockerfile(
        &self,
        file: Option<&str>,
    ) -> Result<(String, PathBuf), ContextSourceError> {
        let rel = match file {
            Some("-") => {
                let text = read_bounded(std::io::stdin().lock())
                    .map_err(|e| ContextSourceError::DockerfileStdin(Box::new(e)))?;
                return Ok((text, PathBuf::from("Dockerfile")));
            }
            Some(path) if !self.remote => return read_host_file(Path::new(path)),
            Some(path) => path,
            None => "Dockerfile",
        };
        let shown = self.dir.join(rel.trim_start_matches('/'));
        let root =
            kiln_inroot::Root::open(&self.dir).map_err(ContextSourceError::DockerfileInRoot)?;
        let bytes = root
            .read_file(rel, MAX_DOCKERFILE_BYTES as u64)
            .map_err(ContextSourceError::DockerfileInRoot)?
            .ok_or_else(|| ContextSourceError::DockerfileMissing {
                shown: shown.clone(),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ContextSourceError::DockerfileNotUtf8 {
            shown: shown.clone(),
        })?;
        Ok((text, shown))
    }
}

/// A `-f` Dockerfile on the host, read as given.
fn read_host_file(path: &Path) -> Result<(String, PathBuf), ContextSourceError> {
    let file = std::fs::File::open(path).map_err(|source| ContextSourceError::DockerfileOpen {
        path: path.to_path_buf(),
        source,
    })?;
    let text = read_bounded(file).map_err(|e| ContextSourceError::DockerfileRead {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok((text, path.to_path_buf()))
}

/// All of `reader` as UTF-8 text, refusing more than the parser's
/// [`MAX_DOCKERFILE_BYTES`] before holding it.
fn read_bounded(reader: impl Read) -> Result<String, ContextSourceError> {
    let mut text = String::new();
    reader
        .take(MAX_DOCKERFILE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(ContextSourceError::DockerfileIo)?;
    if text.len() > MAX_DOCKERFILE_BYTES {
        return Err(ContextSourceError::DockerfileTooBig {
            max: MAX_DOCKERFILE_BYTES,
        });
    }
    Ok(text)
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
        source.dir = clone(arg, &temp.join("repo"))?;
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

/// Clones `url` (`REPO#REF:DIR`) into `dest`; returns the context folder.
fn clone(url: &str, dest: &Path) -> Result<PathBuf, ContextSourceError> {
    let (repo, fragment) = url.split_once('#').unwrap_or((url, ""));
    let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
    let is_commit = reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit());
    let mut cmd = Command::new("git");
    cmd.arg("clone").arg("--quiet");
    if !is_commit {
        cmd.arg("--depth").arg("1");
        if !reference.is_empty() {
            cmd.arg("--branch").arg(reference);
        }
    }
    cmd.arg("--").arg(repo).arg(dest);
    run_git(cmd, url)?;
    if is_commit {
        let mut checkout = Command::new("git");
        checkout
            .arg("-C")
            .arg(dest)
            .args(["checkout", "--quiet", reference]);
        run_git(checkout, url)?;
    }
    subdir_in(dest, subdir).ok_or_else(|| ContextSourceError::GitSubdir {
        url: url.into(),
        subdir: subdir.into(),
    })
}

/// The directory `subdir` of the clone `top`, resolved inside it.
fn subdir_in(top: &Path, subdir: &str) -> Option<PathBuf> {
    let top = top.canonicalize().ok()?;
    let rel = subdir.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let root = kiln_inroot::Root::open(&top).ok()?;
    let fd = root
        .open_at(
            rel,
            libc::O_PATH | libc::O_DIRECTORY,
            kiln_inroot::Resolve::InRoot,
        )
        .ok()?;
    let real = std::fs::read_link(kiln_inroot::fd_path(std::os::fd::AsFd::as_fd(&fd))).ok()?;
    real.starts_with(&top).then_some(real)
}

fn run_git(mut cmd: Command, url: &str) -> Result<(), ContextSourceError> {
    let out = cmd
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|source| ContextSourceError::GitRun {
            url: url.into(),
            source,
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(ContextSourceError::Git {
            url: url.into(),
            message: err.trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dockerfile_of_a_remote_context_is_read_inside_it() {
        let root = tempfile::tempdir().unwrap();
        let source = prepare_tar(
            root.path(),
            &tar_of(&[("sub/Dockerfile.x", "FROM scratch\n")])[..],
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", source.dir.join("Dockerfile")).unwrap();
        let (text, shown) = source.read_dockerfile(Some("/sub/Dockerfile.x")).unwrap();
        assert_eq!(
            (text.as_str(), shown),
            ("FROM scratch\n", source.dir.join("sub/Dockerfile.x"))
        );
        // The default name is a symlink to a host file: resolved in the context, it is missing.
        let err = source.read_dockerfile(None).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "failed to read dockerfile: open {}: no such file in the build context",
                source.dir.join("Dockerfile").display()
            )
        );
    }

    #[test]
    fn a_host_dockerfile_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let source = prepare(dir.path(), dir.path().to_str().unwrap()).unwrap();
        let big = dir.path().join("Big");
        std::fs::write(&big, vec![b'#'; MAX_DOCKERFILE_BYTES + 1]).unwrap();
        let err = source.read_dockerfile(big.to_str()).err().unwrap();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert_eq!(
            chain,
            format!(
                "failed to read dockerfile {}: the Dockerfile is over kiln's limit of {MAX_DOCKERFILE_BYTES} bytes",
                big.display()
            )
        );
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            builder
                .append_data(&mut header, name, text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

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

    #[test]
    fn a_subdir_symlink_cannot_leave_the_clone() {
        let top = tempfile::tempdir().unwrap();
        std::fs::create_dir(top.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc", top.path().join("out")).unwrap();
        std::os::unix::fs::symlink("../../..", top.path().join("up")).unwrap();
        let real = top.path().canonicalize().unwrap();
        assert_eq!(subdir_in(top.path(), "sub"), Some(real.join("sub")));
        assert_eq!(subdir_in(top.path(), ""), Some(real.clone()));
        // Resolved inside the clone: /etc there does not exist, `..` stops at the top.
        assert_eq!(subdir_in(top.path(), "out"), None);
        assert_eq!(subdir_in(top.path(), "up"), Some(real));
    }
}
