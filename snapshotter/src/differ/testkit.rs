//! Helpers for tests of the differ and of its callers (like [`crate::conformance`]
//! for snapshotters): a walked manifest of a tree to compare trees by, a tree with
//! every file type to round-trip, and raw tar entries to build hostile layers with.
//! They panic on failure, as test helpers do; they need root (owners, devices).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::sys;

fn mknod(path: &Path, kind: libc::mode_t, major: u32, minor: u32) {
    let rdev = libc::makedev(major, minor);
    sys::mknod(path, kind | 0o640, rdev).unwrap_or_else(|e| panic!("mknod {path:?}: {e}"));
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let name = CString::new(name).expect("xattr name");
    sys::set_xattr(path, &name, value).unwrap_or_else(|e| panic!("set xattr {path:?}: {e}"));
}

/// `user.*` xattrs of `path` itself, as sorted `name=value` strings.
fn user_xattrs(path: &Path) -> Vec<String> {
    let names = sys::list_xattrs(path).unwrap_or_else(|e| panic!("list xattrs {path:?}: {e}"));
    let mut out: Vec<String> = names
        .iter()
        .filter(|n| n.as_bytes().starts_with(b"user."))
        .map(|n| {
            let value = sys::get_xattr(path, n).unwrap_or_else(|e| panic!("xattr {path:?}: {e}"));
            format!(
                "{}={}",
                n.to_string_lossy(),
                String::from_utf8_lossy(&value)
            )
        })
        .collect();
    out.sort();
    out
}

/// One line per entry below `root` (the root itself excluded), by relative path:
/// type, mode, owner, mtime, size, sha256, link count, symlink target, device
/// number and `user.*` xattrs. Two trees are equal for a layer when these are.
pub fn manifest(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let md = fs::symlink_metadata(&path).unwrap();
        let ft = md.file_type();
        let (kind, extra) = if ft.is_dir() {
            ("dir", String::new())
        } else if ft.is_file() {
            let digest = hex::encode(Sha256::digest(fs::read(&path).unwrap()));
            (
                "file",
                format!("size={} sha256={digest} nlink={}", md.len(), md.nlink()),
            )
        } else if ft.is_symlink() {
            (
                "symlink",
                format!("-> {}", fs::read_link(&path).unwrap().display()),
            )
        } else {
            (
                "node",
                format!("rdev={} fmt={:o}", md.rdev(), md.mode() & libc::S_IFMT),
            )
        };
        let line = format!(
            "{kind} mode={:o} uid={} gid={} mtime={} {extra} {:?}",
            md.mode() & 0o7777,
            md.uid(),
            md.gid(),
            md.mtime(),
            user_xattrs(&path)
        );
        out.insert(path.strip_prefix(root).unwrap().display().to_string(), line);
        if ft.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// Sets every mtime below `root` to `secs` (symlinks themselves, not their targets).
pub fn fix_times(root: &Path, secs: i64) {
    for rel in manifest(root).into_keys() {
        let path = root.join(rel);
        super::apply::set_mtime(&path, secs).unwrap_or_else(|e| panic!("utimensat {path:?}: {e}"));
    }
}

/// Fills `root` with every file type, setuid and sticky modes, owners (also ones
/// above ustar's limit), `user.*` xattrs, hard links, and names and symlink
/// targets longer than 100 bytes; all mtimes are then set to one second.
pub fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("a/b/file.txt"), "hello\n").unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(root.join("top.bin"), big).unwrap();
    fs::write(root.join("suid"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir(root.join("tmp")).unwrap();
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(root.join("owned"), "o").unwrap();
    std::os::unix::fs::lchown(root.join("owned"), Some(1234), Some(5678)).unwrap();
    fs::write(root.join("biguid"), "b").unwrap();
    std::os::unix::fs::lchown(root.join("biguid"), Some(3_000_000), Some(3_000_001)).unwrap();
    symlink("a/b/file.txt", root.join("link-rel")).unwrap();
    symlink("/etc/passwd", root.join("link-abs")).unwrap();
    symlink("x".repeat(150), root.join("link-long")).unwrap();
    fs::write(root.join("hard1"), "shared").unwrap();
    fs::hard_link(root.join("hard1"), root.join("a/hard2")).unwrap();
    mknod(&root.join("dev-null"), libc::S_IFCHR, 1, 3);
    mknod(&root.join("blk"), libc::S_IFBLK, 7, 200);
    mknod(&root.join("fifo"), libc::S_IFIFO, 0, 0);
    set_xattr(&root.join("top.bin"), "user.kiln", b"value");
    set_xattr(&root.join("a"), "user.dir", b"d");
    let long_dir = root.join("l".repeat(150));
    fs::create_dir(&long_dir).unwrap();
    fs::write(long_dir.join("f".repeat(200)), "long").unwrap();
    fs::create_dir(root.join("empty")).unwrap();
    fix_times(root, 1_600_000_000);
}

/// `"<path> <EntryType>"` for each entry of a plain (uncompressed) layer tar.
pub fn tar_entries(layer: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(layer);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let kind = format!("{:?}", entry.header().entry_type());
        out.push(format!("{} {kind}", entry.path().unwrap().display()));
    }
    out
}

/// Appends an entry whose name and link name go into the ustar header verbatim
/// (no `..` checks), owned by root at mtime 0: for building hostile layers.
pub fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    assert!(
        name.len() <= 100 && link.len() <= 100,
        "raw_entry: names fit 100 bytes"
    );
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}
