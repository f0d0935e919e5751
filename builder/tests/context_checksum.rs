//! Content checksums of selections: stable across `touch`, different after a
//! chmod, a content change or a rename; only the selected files count.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use kiln_builder::context::{Context, Ignore, OpenOptions, Selection};
use kiln_builder::Digest;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Sets the mtime of `path` (like `touch -d`), never following symlinks.
fn set_mtime(path: &Path, secs: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            [t, t].as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(rc, 0);
}

fn sum(dir: &Path, sources: &[&str]) -> Digest {
    let ctx = Context::open(
        dir,
        OpenOptions {
            ignore: Ignore::ContextFile,
            kiln_root: None,
        },
    )
    .unwrap();
    ctx.checksum(&Selection::new(sources.iter().copied()))
        .unwrap()
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/main.rs", "fn main() {}");
    write(dir.path(), "src/lib.rs", "pub fn f() {}");
    write(dir.path(), "README", "hello");
    symlink("src/main.rs", dir.path().join("link")).unwrap();
    dir
}

#[test]
fn touch_keeps_the_checksum() {
    let dir = fixture();
    let before = sum(dir.path(), &["."]);
    set_mtime(&dir.path().join("src/main.rs"), 1_000_000);
    set_mtime(&dir.path().join("src"), 2_000_000);
    set_mtime(&dir.path().join("link"), 3_000_000);
    assert_eq!(sum(dir.path(), &["."]), before);
    // Rewriting identical bytes (new mtime, ctime) is still the same content.
    write(dir.path(), "README", "hello");
    assert_eq!(sum(dir.path(), &["."]), before);
}

#[test]
fn chmod_content_rename_and_owner_change_it() {
    let dir = fixture();
    let root = dir.path();
    let base = sum(root, &["."]);
    let mut seen = vec![base];
    let mut differs = |label: &str| {
        let now = sum(root, &["."]);
        assert!(!seen.contains(&now), "{label} did not change the checksum");
        seen.push(now);
    };
    fs::set_permissions(root.join("README"), fs::Permissions::from_mode(0o600)).unwrap();
    differs("chmod 600");
    fs::set_permissions(root.join("README"), fs::Permissions::from_mode(0o4600)).unwrap();
    differs("setuid");
    write(root, "README", "hellO");
    differs("content");
    fs::rename(root.join("src/lib.rs"), root.join("src/lib2.rs")).unwrap();
    differs("rename");
    std::os::unix::fs::lchown(root.join("src/lib2.rs"), Some(1234), Some(5678)).unwrap();
    differs("chown");
    fs::remove_file(root.join("link")).unwrap();
    symlink("src/lib2.rs", root.join("link")).unwrap();
    differs("link target");
    fs::set_permissions(root.join("src"), fs::Permissions::from_mode(0o700)).unwrap();
    differs("directory mode");
}

#[test]
fn only_selected_files_count() {
    let dir = fixture();
    let root = dir.path();
    let src = sum(root, &["src"]);
    let readme = sum(root, &["README"]);
    write(root, "README", "changed");
    write(root, "other.txt", "new file");
    assert_eq!(sum(root, &["src"]), src);
    assert_ne!(sum(root, &["README"]), readme);
    // An ignored file is outside every selection.
    let all = sum(root, &["."]);
    write(root, ".dockerignore", "scratch\n");
    let with_ignore = sum(root, &["."]);
    write(root, "scratch", "noise");
    assert_eq!(sum(root, &["."]), with_ignore);
    assert_ne!(all, with_ignore);
}

#[test]
fn same_tree_elsewhere_has_the_same_checksum() {
    let a = fixture();
    let b = fixture();
    set_mtime(&b.path().join("README"), 42);
    assert_eq!(sum(a.path(), &["."]), sum(b.path(), &["."]));
    assert_eq!(sum(a.path(), &["src/*.rs"]), sum(b.path(), &["src/*.rs"]));
}
