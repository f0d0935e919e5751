//! Git contexts: `REPO#REF:DIR` cloned with the local `git`; `:DIR`
//! resolved inside the clone (kiln-inroot).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ContextSourceError;

/// Clones `url` (`REPO#REF:DIR`) into `dest`; returns the context folder.
pub(super) fn clone(url: &str, dest: &Path) -> Result<PathBuf, ContextSourceError> {
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
