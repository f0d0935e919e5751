//! Helpers shared by the end-to-end tests that drive the `kiln` binary against
//! a temp `--root`. Each test file compiles this module on its own and uses
//! only part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod census;
pub mod net;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `kiln --root ROOT` with `KILN_ROOT` cleared, ready for arguments.
pub fn kiln_cmd(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("--root").arg(root).env_remove("KILN_ROOT");
    cmd
}

/// Runs `kiln --root ROOT ARGS…` to completion.
pub fn kiln(root: &Path, args: &[&str]) -> Output {
    kiln_cmd(root).args(args).output().expect("run kiln")
}

/// Runs `kiln --root ROOT ARGS…` with `input` on its standard input.
pub fn kiln_stdin(root: &Path, args: &[&str], input: &str) -> Output {
    let mut child = kiln_cmd(root)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The standard output of a run that must have succeeded.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "kiln failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`ok`], naming `what` ran in the failure message.
pub fn ok_as(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The standard error of a run that must have failed with exit code 1 and
/// exactly one line of message.
pub fn one_line_error(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// A scratch folder, unique per test binary and name, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates (emptied) `$TMPDIR/kiln-test-<name>-<pid>`.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kiln-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    /// Removes the networking state of every kiln root in the folder (the
    /// folder itself or a child of it: nft table, links, shim rules,
    /// records), then the folder.
    fn drop(&mut self) {
        reset_networks(&self.0);
        if let Ok(children) = std::fs::read_dir(&self.0) {
            for child in children.flatten() {
                reset_networks(&child.path());
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `manage::reset` of `root` when it is a kiln root that used networks.
fn reset_networks(root: &Path) {
    if root.join("networks").is_dir() {
        if let Err(e) = kiln_runtime::network::manage::reset(root) {
            eprintln!("reset networks of {}: {e}", root.display());
        }
    }
}

/// Packs the folder `tree` into the tar file `tar` with the system's tar.
pub fn tar_dir(tree: &Path, tar: &Path) {
    let status = Command::new("tar")
        .arg("-C")
        .arg(tree)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar -C {} failed", tree.display());
}

/// Loads the busybox base image the difftest cases build on
/// (`busybox:local`, from `testdata/difftest/base/busybox-local.tar`) into
/// `root`.
pub fn load_busybox_local(root: &Path) {
    let base =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/difftest/base/busybox-local.tar");
    ok_as(
        kiln(root, &["load", "-i", base.to_str().unwrap()]),
        "kiln load busybox-local.tar",
    );
}
