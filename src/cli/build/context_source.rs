//! Where the build context comes from: a directory (read in place), `-` (a
//! tar archive on standard input, unpacked into a temp folder with the
//! snapshotter's safe extraction), or a git repository (`https://…/repo.git`,
//! `git@host:repo.git`, `git://…`, `ssh://…`, `file://…`, each optionally
//! followed by `#REF` and `#REF:DIR` as in Docker), cloned with the local
//! `git` (`--depth 1` at the ref, all of it when the ref is a commit) into a
//! temp folder. Temp folders live under `<root>/builder/tmp/` and are
//! removed when the [`ContextSource`] is dropped.
//!
//! For tar and git contexts, `-f PATH` names a file inside the context (as
//! Docker does); for a directory it is a path as given.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

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

/// Whether `arg` names a git repository rather than a directory.
pub fn is_git(arg: &str) -> bool {
    let base = arg.split('#').next().unwrap_or(arg);
    base.starts_with("git@")
        || base.starts_with("git://")
        || base.starts_with("ssh://")
        || base.starts_with("file://")
        || ((base.starts_with("https://") || base.starts_with("http://"))
            && (base.ends_with(".git") || arg.contains('#')))
}

/// Prepares the context named by `arg` (`-`, a git URL or a directory).
pub fn prepare(root: &Path, arg: &str) -> Result<ContextSource> {
    if arg == "-" {
        let temp = temp_dir(root, "tar")?;
        let source = ContextSource {
            dir: temp.clone(),
            remote: true,
            temp: Some(temp),
        };
        unpack_stdin(&source.dir)?;
        return Ok(source);
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
        bail!("unable to prepare context: path {arg:?} not found");
    }
    Ok(ContextSource {
        dir,
        remote: false,
        temp: None,
    })
}

fn temp_dir(root: &Path, kind: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = root
        .join("builder/tmp")
        .join(format!("{kind}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("unable to prepare context: create {}", dir.display()))?;
    Ok(dir)
}

/// Unpacks the tar (plain, gzip or zstd) on standard input into `dir`.
fn unpack_stdin(dir: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("unable to prepare context: read the tar context from stdin")?;
    if bytes.is_empty() {
        bail!("unable to prepare context: the tar context on stdin is empty");
    }
    kiln_snapshotter::apply(&bytes[..], dir)
        .map_err(|e| anyhow!("unable to prepare context: unpack the tar on stdin: {e}"))?;
    Ok(())
}

/// Clones `url` (`REPO#REF:DIR`) into `dest`; returns the context folder.
fn clone(url: &str, dest: &Path) -> Result<PathBuf> {
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
    let top = dest
        .canonicalize()
        .with_context(|| format!("git context {url}: {}", dest.display()))?;
    let inside = top
        .join(subdir.trim_start_matches('/'))
        .canonicalize()
        .ok()
        .filter(|d| d.starts_with(&top) && d.is_dir());
    inside.ok_or_else(|| anyhow!("git context {url}: no directory {subdir:?} in the repository"))
}

fn run_git(mut cmd: Command, url: &str) -> Result<()> {
    let out = cmd
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .with_context(|| format!("git context {url}: cannot run git"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        bail!("git context {url}: {}", err.trim());
    }
    Ok(())
}
