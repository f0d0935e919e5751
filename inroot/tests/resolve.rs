//! Paths named by input stay inside their root, whatever links they meet.

use std::os::fd::AsFd;
use std::os::unix::fs::symlink;
use std::path::Path;

use kiln_inroot::{bind_fd, Resolve, Root};

/// A root with a host-side secret beside it: `host/secret` and `root/…`.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("host")).unwrap();
    std::fs::write(dir.path().join("host/secret"), "HOST").unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/inside"), "INSIDE").unwrap();
    (dir, root)
}

fn read(root: &Root, rel: &str) -> Option<String> {
    root.read_file(rel, 1 << 20)
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn absolute_and_climbing_links_resolve_inside_the_root() {
    let (dir, root_path) = setup();
    let host = dir.path().join("host");
    symlink(&host, root_path.join("abs")).unwrap();
    symlink("../../../../../../host", root_path.join("rel")).unwrap();
    symlink("/etc", root_path.join("etc-link")).unwrap();
    let root = Root::open(&root_path).unwrap();
    assert_eq!(
        read(&root, "abs/secret"),
        None,
        "absolute link left the root"
    );
    assert_eq!(
        read(&root, "rel/secret"),
        None,
        "relative link left the root"
    );
    assert_eq!(read(&root, "../host/secret"), None, ".. left the root");
    assert_eq!(read(&root, "etc-link/inside").as_deref(), Some("INSIDE"));
    assert_eq!(read(&root, "/../../etc/inside").as_deref(), Some("INSIDE"));
}

#[test]
fn a_link_to_a_host_file_named_directly_is_not_read() {
    let (dir, root_path) = setup();
    symlink(dir.path().join("host/secret"), root_path.join("Dockerfile")).unwrap();
    let root = Root::open(&root_path).unwrap();
    assert_eq!(read(&root, "Dockerfile"), None);
    assert!(!root.is_file("Dockerfile"));
}

#[test]
fn beneath_follows_no_link_at_all() {
    let (_dir, root_path) = setup();
    symlink("etc", root_path.join("e")).unwrap();
    let root = Root::open(&root_path).unwrap();
    let err = root
        .open_at("e/inside", libc::O_RDONLY, Resolve::Beneath)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    assert!(root
        .open_at("etc/inside", libc::O_RDONLY, Resolve::Beneath)
        .is_ok());
}

#[test]
fn read_file_is_bounded_and_typed() {
    let (_dir, root_path) = setup();
    std::fs::write(root_path.join("big"), vec![b'x'; 100]).unwrap();
    let root = Root::open(&root_path).unwrap();
    let err = root.read_file("big", 10).unwrap_err();
    assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
    let err = root.read_file("etc", 10).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn a_bind_of_a_resolved_descriptor_survives_a_later_swap() {
    let (dir, root_path) = setup();
    let root = Root::open(&root_path).unwrap();
    let fd = root.resolve("etc").unwrap();
    // The attacker swaps `etc` for a link to the host after the check.
    std::fs::rename(root_path.join("etc"), root_path.join("etc.old")).unwrap();
    symlink(dir.path().join("host"), root_path.join("etc")).unwrap();
    let target = dir.path().join("mnt");
    bind_fd(fd.as_fd(), &target).unwrap();
    let seen = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    unmount(&target);
    assert_eq!(seen, vec!["inside".to_string()]);
}

#[test]
fn a_file_source_gets_a_file_mount_point() {
    let (dir, root_path) = setup();
    let root = Root::open(&root_path).unwrap();
    let fd = root.resolve("etc/inside").unwrap();
    let target = dir.path().join("work/file");
    bind_fd(fd.as_fd(), &target).unwrap();
    let text = std::fs::read_to_string(&target).unwrap();
    unmount(&target);
    assert_eq!(text, "INSIDE");
}

fn unmount(target: &Path) {
    let c = std::ffi::CString::new(target.to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) }, 0);
}
