//! [`ensure`] and [`Guard::undo`] on real directory trees (no mounts).

use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;

/// A rootfs with the busybox-like basics and a host directory beside it.
fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    let host = tmp.path().join("host");
    for dir in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("secret"), "HOST").unwrap();
    (tmp, rootfs, host)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_real_dir(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_dir())
}

#[test]
fn permanent_mode_replaces_links_and_files_and_never_writes_through_them() {
    let (_tmp, rootfs, host) = tree();
    std::fs::remove_dir(rootfs.join("dev")).unwrap();
    symlink(&host, rootfs.join("dev")).unwrap();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    symlink("../../../../../../..", rootfs.join("proc")).unwrap();
    std::fs::remove_dir(rootfs.join("sys")).unwrap();
    std::fs::write(rootfs.join("sys"), "a file").unwrap();
    symlink(host.join("secret"), rootfs.join("etc/hosts")).unwrap();
    std::fs::create_dir(rootfs.join("etc/hostname")).unwrap();
    std::fs::write(rootfs.join("etc/hostname/inner"), "x").unwrap();
    let guard = ensure(&rootfs, CONTAINER_PATHS, Mode::Permanent).unwrap();
    assert!(!guard.is_empty());
    for dir in ["dev", "dev/pts", "dev/shm", "proc", "sys", "etc"] {
        assert!(is_real_dir(&rootfs.join(dir)), "{dir}");
    }
    for file in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        assert!(
            rootfs.join(file).symlink_metadata().unwrap().is_file(),
            "{file}"
        );
    }
    assert_eq!(
        std::fs::read_link(rootfs.join("etc/mtab")).unwrap(),
        Path::new("/proc/mounts")
    );
    assert_eq!(listing(&host), ["secret"]);
    assert_eq!(
        std::fs::read_to_string(host.join("secret")).unwrap(),
        "HOST"
    );
    // A second pass finds nothing to do.
    assert!(ensure(&rootfs, CONTAINER_PATHS, Mode::Permanent)
        .unwrap()
        .is_empty());
}

#[test]
fn an_etc_symlink_becomes_a_real_directory() {
    let (_tmp, rootfs, host) = tree();
    std::fs::remove_dir(rootfs.join("etc")).unwrap();
    symlink(&host, rootfs.join("etc")).unwrap();
    drop(ensure(&rootfs, CONTAINER_PATHS, Mode::Permanent).unwrap());
    assert!(is_real_dir(&rootfs.join("etc")));
    assert_eq!(listing(&host), ["secret"]);
}

#[test]
fn reversible_mode_is_undone_exactly() {
    let (_tmp, rootfs, host) = tree();
    std::fs::remove_dir(rootfs.join("dev")).unwrap();
    symlink(&host, rootfs.join("dev")).unwrap();
    std::fs::remove_dir(rootfs.join("etc")).unwrap();
    symlink("../host", rootfs.join("etc")).unwrap();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    let before = listing(&rootfs);
    let guard = ensure(&rootfs, BUILD_PATHS, Mode::Reversible).unwrap();
    assert!(is_real_dir(&rootfs.join("dev/pts")));
    assert!(is_real_dir(&rootfs.join("proc")));
    assert!(rootfs.join("etc/hosts").is_file());
    guard.undo().unwrap();
    assert_eq!(listing(&rootfs), before);
    assert_eq!(std::fs::read_link(rootfs.join("dev")).unwrap(), host);
    assert_eq!(
        std::fs::read_link(rootfs.join("etc")).unwrap(),
        Path::new("../host")
    );
    assert_eq!(listing(&host), ["secret"]);
}

#[test]
fn what_a_step_wrote_over_a_fix_is_kept() {
    let (_tmp, rootfs, _host) = tree();
    std::fs::remove_dir(rootfs.join("etc")).unwrap();
    symlink("/elsewhere", rootfs.join("etc")).unwrap();
    let guard = ensure(&rootfs, BUILD_PATHS, Mode::Reversible).unwrap();
    std::fs::write(rootfs.join("etc/app.conf"), "step").unwrap();
    guard.undo().unwrap();
    assert!(is_real_dir(&rootfs.join("etc")));
    assert_eq!(listing(&rootfs.join("etc")), ["app.conf"]);
    assert!(!listing(&rootfs).iter().any(|n| n.contains("kiln-init")));
}
