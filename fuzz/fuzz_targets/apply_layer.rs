//! Fuzzes layer application (`kiln_snapshotter::apply`, what `kiln import`,
//! `load`, `run` and `FROM` use to unpack layers): any bytes, read as a layer
//! (plain tar, or gzip/zstd when the magic says so), applied into a fresh
//! snapshot directory `TMP/root/snap`. It must never panic, and it must never
//! create or change anything outside the snapshot directory: afterwards `TMP`
//! holds exactly `root/`, `root/snap/`, the sentinel `root/sentinel` and the
//! directory `host/` with its file `host/secret`, and both files (content, mode,
//! owner, inode, link count, mtime) are unchanged. Links made inside may point
//! anywhere (absolute, `..`, at the sentinel); following one on the host instead
//! of inside the snapshot would create or change something outside, which the
//! checks catch.
//!
//! `TMP` is `/tmp/kiln-fuzz-apply` so seeds can aim absolute links and hard
//! links at the sentinel (`/tmp/kiln-fuzz-apply/root/sentinel`); a second process
//! (a `-jobs` or `-fork` worker) that finds it locked uses `TMP.<pid>` instead.
//!
//! A layer that applies is applied a second time gzip-compressed into another
//! fresh snapshot: the decompressing path must give the same tree and diff_id.
//! Runs as root (the apply sets owners, makes device nodes and whiteouts).
//!
//! Seeds: `python3 apply_layer_seeds.py corpus/apply_layer` (the committed
//! corpus already holds them, minimized). Run (from `fuzz/`), with the host's
//! system directories read-only in a private mount namespace as a second fence:
//!
//! ```sh
//! unshare -m --propagation private sh -c 'for d in /etc /usr /var /boot /home /opt /srv; do
//!   [ -d $d ] && mount --bind -o ro $d $d; done
//!   exec nice cargo +nightly fuzz run -O apply_layer corpus/apply_layer -- -max_total_time=600'
//! ```
//!
//! The oracle was checked by breaking the library on purpose (names joined to
//! the target on the host instead of resolved in it): the `symlink-abs-then-file`
//! seed then fails with "something was created outside the snapshot".

#![no_main]

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The fixed scratch directory the seeds' absolute links aim at.
const FIXED: &str = "/tmp/kiln-fuzz-apply";
const SENTINEL: &[u8] = b"sentinel: must never change\n";

/// The scratch directory of this process and the lock that reserves it.
struct Scratch {
    tmp: PathBuf,
    _lock: File,
}

/// Identity and content of a file that must not change.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    nlink: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    content: Vec<u8>,
}

fn stamp(path: &Path) -> Stamp {
    let md = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        md.is_file(),
        "{} is no longer a regular file",
        path.display()
    );
    Stamp {
        ino: md.ino(),
        nlink: md.nlink(),
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
        mtime: (md.mtime(), md.mtime_nsec()),
        content: fs::read(path).unwrap(),
    }
}

/// Reserves `FIXED` (or `FIXED.<pid>` when another process holds it).
fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        for tmp in [
            PathBuf::from(FIXED),
            PathBuf::from(format!("{FIXED}.{}", std::process::id())),
        ] {
            fs::create_dir_all(&tmp).unwrap();
            let lock = File::open(&tmp).unwrap();
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                reset(&tmp);
                return Scratch { tmp, _lock: lock };
            }
        }
        panic!("no scratch directory under {FIXED}");
    })
}

/// Makes `tmp` hold exactly the expected layout, with an empty `root/snap`.
fn reset(tmp: &Path) {
    for entry in fs::read_dir(tmp).unwrap() {
        let path = entry.unwrap().path();
        match fs::symlink_metadata(&path) {
            Ok(md) if md.is_dir() => fs::remove_dir_all(&path).unwrap(),
            Ok(_) => fs::remove_file(&path).unwrap(),
            Err(_) => {}
        }
    }
    fs::create_dir_all(tmp.join("root/snap")).unwrap();
    fs::create_dir_all(tmp.join("host")).unwrap();
    fs::write(tmp.join("root/sentinel"), SENTINEL).unwrap();
    fs::write(tmp.join("host/secret"), SENTINEL).unwrap();
}

/// Everything under `tmp` outside `root/snap`, as sorted relative paths.
fn outside(tmp: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in fs::read_dir(tmp.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if rel == Path::new("root/snap") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(rel.clone());
            }
            found.push(rel.display().to_string());
        }
    }
    found.sort();
    found
}

/// Applies `layer` into a fresh `root/snap` and checks nothing outside moved.
/// Returns the tree listing and diff_id when the layer applied.
fn apply_checked(tmp: &Path, layer: &[u8]) -> Option<(String, kiln_snapshotter::Applied)> {
    let snap = tmp.join("root/snap");
    let _ = fs::remove_dir_all(&snap);
    fs::create_dir(&snap).unwrap();
    let before = [
        stamp(&tmp.join("root/sentinel")),
        stamp(&tmp.join("host/secret")),
    ];
    let result = kiln_snapshotter::apply(layer, &snap);
    if let Err(e) = &result {
        let _ = e.to_string();
    }
    let expected = ["host", "host/secret", "root", "root/sentinel"];
    assert_eq!(
        outside(tmp),
        expected,
        "something was created outside the snapshot"
    );
    let after = [
        stamp(&tmp.join("root/sentinel")),
        stamp(&tmp.join("host/secret")),
    ];
    assert_eq!(before, after, "a file outside the snapshot changed");
    let md = fs::symlink_metadata(&snap).unwrap();
    assert!(md.is_dir(), "the snapshot directory itself was replaced");
    let applied = result.ok()?;
    let listing = kiln_snapshotter::tree_listing(&snap).unwrap();
    Some((listing, applied))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let tmp = &scratch().tmp;
    let Some((listing, applied)) = apply_checked(tmp, data) else {
        return;
    };
    // Already compressed input (gzip/zstd magic) is not wrapped again.
    if data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return;
    }
    let (again, applied_gz) =
        apply_checked(tmp, &gzip(data)).expect("the gzip of a layer that applied must apply");
    assert_eq!(listing, again, "plain and gzip applies differ");
    assert_eq!(applied, applied_gz);
});
