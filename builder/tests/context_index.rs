//! The persistent stat-keyed hash index: unchanged files are not re-read, racy
//! timestamps are re-hashed, a corrupt index is rebuilt, and concurrent builds
//! sharing one index stay correct.

use std::fs;
use std::path::Path;

use kiln_builder::context::{index_path, Context, Ignore, IndexStatus, OpenOptions, Selection};

const OLD: i64 = 1_600_000_000;

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn set_mtime(path: &Path, secs: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), [t, t].as_ptr(), 0) };
    assert_eq!(rc, 0);
}

/// A context of `n` files with old mtimes (safe from the racy-timestamp rule).
fn fixture(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let rel = format!("d{}/f{i}.txt", i % 7);
        write(
            dir.path(),
            &rel,
            format!("content {i}").repeat(i + 1).as_bytes(),
        );
        set_mtime(&dir.path().join(rel), OLD);
    }
    dir
}

fn open(dir: &Path, kiln_root: &Path) -> Context {
    let options = OpenOptions {
        ignore: Ignore::Nothing,
        kiln_root: Some(kiln_root.to_path_buf()),
    };
    Context::open(dir, options).unwrap()
}

fn all() -> Selection {
    Selection::new(["."])
}

#[test]
fn unchanged_files_are_not_reread() {
    let ctx_dir = fixture(50);
    let root = tempfile::tempdir().unwrap();
    let cold = open(ctx_dir.path(), root.path());
    assert_eq!(cold.index_status(), &IndexStatus::Missing);
    let sum = cold.checksum(&all()).unwrap();
    assert_eq!(cold.stats().files_hashed, 50);
    assert_eq!(cold.stats().index_writes, 1);
    assert!(index_path(root.path(), &fs::canonicalize(ctx_dir.path()).unwrap()).is_file());

    let warm = open(ctx_dir.path(), root.path());
    assert_eq!(warm.index_status(), &IndexStatus::Loaded(50));
    assert_eq!(warm.checksum(&all()).unwrap(), sum);
    let stats = warm.stats();
    assert_eq!(
        (
            stats.files_hashed,
            stats.bytes_hashed,
            stats.index_hits,
            stats.index_writes
        ),
        (0, 0, 50, 0)
    );

    // Changing one file re-reads exactly that file, same size and mtime or not.
    let changed = ctx_dir.path().join("d3/f3.txt");
    let len = fs::metadata(&changed).unwrap().len() as usize;
    fs::write(&changed, vec![b'x'; len]).unwrap();
    set_mtime(&changed, OLD);
    let after = open(ctx_dir.path(), root.path());
    assert_ne!(after.checksum(&all()).unwrap(), sum);
    assert_eq!(
        (after.stats().files_hashed, after.stats().bytes_hashed),
        (1, len as u64)
    );
}

#[test]
fn recently_modified_files_are_hashed_again() {
    let ctx_dir = fixture(3);
    write(ctx_dir.path(), "fresh.txt", b"just written");
    let root = tempfile::tempdir().unwrap();
    open(ctx_dir.path(), root.path()).checksum(&all()).unwrap();
    // fresh.txt's mtime is within the racy margin of the first scan: not trusted.
    let second = open(ctx_dir.path(), root.path());
    second.checksum(&all()).unwrap();
    assert_eq!(second.stats().files_hashed, 1);
    assert_eq!(second.stats().bytes_hashed, b"just written".len() as u64);
}

#[test]
fn corrupt_index_is_ignored_and_rebuilt() {
    let ctx_dir = fixture(10);
    let root = tempfile::tempdir().unwrap();
    let sum = open(ctx_dir.path(), root.path()).checksum(&all()).unwrap();
    let idx = index_path(root.path(), &fs::canonicalize(ctx_dir.path()).unwrap());
    let good = fs::read(&idx).unwrap();
    let corruptions: Vec<Vec<u8>> = vec![
        Vec::new(),
        good[..good.len() / 2].to_vec(),
        {
            let mut b = good.clone();
            b[40] ^= 0xff;
            b
        },
        b"not an index at all".repeat(10),
    ];
    for bad in corruptions {
        fs::write(&idx, &bad).unwrap();
        let ctx = open(ctx_dir.path(), root.path());
        assert!(
            matches!(ctx.index_status(), IndexStatus::Corrupt(_)),
            "{:?}",
            ctx.index_status()
        );
        assert_eq!(ctx.checksum(&all()).unwrap(), sum);
        assert_eq!(ctx.stats().files_hashed, 10);
        let again = open(ctx_dir.path(), root.path());
        assert_eq!(again.index_status(), &IndexStatus::Loaded(10));
    }
}

#[test]
fn concurrent_builds_share_the_index_safely() {
    let ctx_dir = fixture(200);
    let root = tempfile::tempdir().unwrap();
    let expected = {
        let plain = Context::open(
            ctx_dir.path(),
            OpenOptions {
                ignore: Ignore::Nothing,
                kiln_root: None,
            },
        )
        .unwrap();
        plain.checksum(&all()).unwrap()
    };
    // Eight builds at once, each selecting a different part, all writing the index.
    std::thread::scope(|s| {
        for t in 0..8 {
            let (dir, root) = (ctx_dir.path(), root.path());
            s.spawn(move || {
                for round in 0..5 {
                    let ctx = open(dir, root);
                    assert!(!matches!(ctx.index_status(), IndexStatus::Corrupt(_)));
                    let part = format!("d{}", (t + round) % 7);
                    ctx.checksum(&Selection::new([part])).unwrap();
                    assert_eq!(ctx.checksum(&all()).unwrap(), expected);
                }
            });
        }
    });
    // Whatever writer won, the surviving index is complete and correct.
    let ctx = open(ctx_dir.path(), root.path());
    assert_eq!(ctx.index_status(), &IndexStatus::Loaded(200));
    assert_eq!(ctx.checksum(&all()).unwrap(), expected);
    assert_eq!(ctx.stats().files_hashed, 0);
    let leftovers: Vec<_> = fs::read_dir(index_path(root.path(), ctx_dir.path()).parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary index files left behind");
}

#[test]
fn concurrent_processes_share_the_index_safely() {
    // Child mode: one checksum run, print the digest.
    if let (Ok(dir), Ok(root)) = (
        std::env::var("KILN_CTX_DIR"),
        std::env::var("KILN_CTX_ROOT"),
    ) {
        let ctx = open(Path::new(&dir), Path::new(&root));
        println!("DIGEST {}", ctx.checksum(&all()).unwrap());
        return;
    }
    let ctx_dir = fixture(300);
    let root = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "concurrent_processes_share_the_index_safely",
                    "--nocapture",
                ])
                .env("KILN_CTX_DIR", ctx_dir.path())
                .env("KILN_CTX_ROOT", root.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let expected = open(ctx_dir.path(), tempfile::tempdir().unwrap().path())
        .checksum(&all())
        .unwrap();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("DIGEST {expected}")), "{text}");
    }
    let ctx = open(ctx_dir.path(), root.path());
    assert_eq!(ctx.index_status(), &IndexStatus::Loaded(300));
    assert_eq!(ctx.checksum(&all()).unwrap(), expected);
    assert_eq!(ctx.stats().files_hashed, 0);
}
