//! One temp `--root` per test with the busybox test image imported, plus the
//! small waiting and parsing helpers the container tests share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::support::{kiln, kiln_cmd, tar_dir, Scratch};

/// The busybox test image every container test runs.
pub const IMG: &str = "kiln-test/busybox";
/// An image whose config has `Cmd ["echo","default","cmd"]`, `Env FOO=bar`
/// and `WorkingDir /tmp` (loaded with [`Root::load_config_images`]).
pub const CMD_IMG: &str = "kiln-test/cmd:1";
/// An image whose config has `Entrypoint ["echo","ep"]` and `Cmd ["dflt"]`.
pub const EP_IMG: &str = "kiln-test/ep:1";

/// The busybox rootfs tar, made once per test binary by the repository's
/// script (kept in memory so nothing outlives the run).
fn rootfs_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = Scratch::new("ctr-rootfs");
        let out = dir.0.join("bb.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
        let run = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        std::fs::read(&out).unwrap()
    })
}

/// A test's own kiln root (with [`IMG`] imported); removes every container
/// it holds, then the folder, when dropped.
pub struct Root {
    pub dir: PathBuf,
    pub root: PathBuf,
    _scratch: Scratch,
}

impl Root {
    pub fn new(name: &str) -> Root {
        let scratch = Scratch::new(&format!("ctr-{name}"));
        let dir = scratch.0.clone();
        let root = dir.join("root");
        let tar = dir.join("bb.tar");
        std::fs::write(&tar, rootfs_tar()).unwrap();
        let r = Root {
            dir,
            root,
            _scratch: scratch,
        };
        r.ok(&["import", tar.to_str().unwrap(), IMG]);
        r
    }

    /// Runs kiln with these arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        kiln(&self.root, args)
    }

    /// A `kiln --root` command to add arguments and settings to.
    pub fn cmd(&self) -> Command {
        kiln_cmd(&self.root)
    }

    /// Standard output of a kiln run that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kiln {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `run -d ARGS…`, returning the printed container id.
    pub fn detach(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert!(is_full_id(&id), "run -d printed {id:?}");
        id
    }

    /// `inspect -f FORMAT CONTAINER`, trimmed.
    pub fn inspect(&self, format: &str, container: &str) -> String {
        self.ok(&["inspect", "-f", format, container])
            .trim()
            .to_string()
    }

    /// `inspect CONTAINER` as JSON (the one object of the array).
    pub fn inspect_json(&self, container: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", container]);
        let all: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("inspect printed bad JSON ({e}): {text}"));
        assert_eq!(all.as_array().map(Vec::len), Some(1), "{text}");
        all[0].clone()
    }

    /// Polls `inspect -f FORMAT` until it prints `want`; panics with the last
    /// value after `timeout`.
    pub fn wait_inspect(&self, format: &str, container: &str, want: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            let got = self.inspect(format, container);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < end,
                "{container}: {format} is {got:?}, still not {want:?} after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `logs CONTAINER` until its standard output contains `needle`.
    pub fn wait_log(&self, container: &str, needle: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            let logs = self.ok(&["logs", container]);
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                Instant::now() < end,
                "{container}: logs never showed {needle:?}: {logs:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Loads [`CMD_IMG`] and [`EP_IMG`]: a docker-archive made here whose
    /// configs carry the Cmd/Entrypoint/Env/WorkingDir the tests check.
    pub fn load_config_images(&self) {
        let tree = self.dir.join("archive");
        std::fs::create_dir_all(&tree).unwrap();
        let layer = rootfs_tar();
        std::fs::write(tree.join("layer.tar"), layer).unwrap();
        let diff_id = format!("sha256:{}", hex(&Sha256::digest(layer)));
        let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        let configs = [
            (
                CMD_IMG,
                serde_json::json!({"Cmd": ["echo", "default", "cmd"],
                    "Env": [path, "FOO=bar"], "WorkingDir": "/tmp"}),
            ),
            (
                EP_IMG,
                serde_json::json!({"Entrypoint": ["echo", "ep"], "Cmd": ["dflt"],
                    "Env": [path]}),
            ),
        ];
        let mut manifest = Vec::new();
        for (tag, config) in configs {
            let doc = serde_json::json!({
                "architecture": "amd64", "os": "linux", "config": config,
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created_by": "kiln test"}],
            });
            let bytes = serde_json::to_vec(&doc).unwrap();
            let name = format!("{}.json", hex(&Sha256::digest(&bytes)));
            std::fs::write(tree.join(&name), &bytes).unwrap();
            manifest.push(serde_json::json!({
                "Config": name, "RepoTags": [tag], "Layers": ["layer.tar"]}));
        }
        std::fs::write(
            tree.join("manifest.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let archive = self.dir.join("images.tar");
        tar_dir(&tree, &archive);
        self.ok(&["load", "-i", archive.to_str().unwrap()]);
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let out = kiln(&self.root, &["ps", "-a", "-q", "--no-trunc"]);
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = kiln(&self.root, &["rm", "-f", id]);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A full container id: 64 lowercase hex digits.
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// stdout, stderr and exit code of a run.
pub fn parts(out: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// Asserts a run failed with `code` and exactly one line on stderr
/// containing `needle`; returns that line.
pub fn fails_with(out: Output, code: i32, needle: &str) -> String {
    let (stdout, stderr, got) = parts(&out);
    assert_eq!(
        got,
        Some(code),
        "exit code; stdout {stdout:?} stderr {stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr:?}");
    assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    stderr
}

/// Runs `f` on a thread per item and waits for all (panics propagate).
pub fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| {
                let f = &f;
                s.spawn(move || f(item))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    })
}
