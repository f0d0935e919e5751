//! Seccomp programs compiled once and cached by digest
//! (`kiln_runtime::oci::seccomp_bpf`): one entry per profile, reused as is,
//! rebuilt when damaged, and a program that filters like the profile says.

use std::path::{Path, PathBuf};

use kiln_runtime::oci::seccomp_bpf::{cache_key, cacheable, cached_program, compile};
use kiln_runtime::spec::{default_seccomp, effective_capabilities};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscallBuilder,
};

fn docker_default() -> LinuxSeccomp {
    default_seccomp(&effective_capabilities(&[], &[], false).unwrap()).unwrap()
}

/// Every file in `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn one_entry_per_profile_reused_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("seccomp");
    let profile = docker_default();
    let first = cached_program(&cache, &profile).unwrap();
    assert_eq!(
        first,
        compile(&profile).unwrap(),
        "the cache holds what compile makes"
    );
    assert!(
        first.instructions.len() > 8 * 100,
        "Docker's profile is a long program"
    );
    assert!(first.instructions.len().is_multiple_of(8));
    let files = entries(&cache);
    let expected = cache.join(format!("{}.bpf", cache_key(&profile).hex()));
    assert_eq!(
        files,
        vec![expected.clone()],
        "one entry, no temp file left"
    );
    let bytes = std::fs::read(&expected).unwrap();
    let modified = std::fs::metadata(&expected).unwrap().modified().unwrap();

    assert_eq!(cached_program(&cache, &profile).unwrap(), first);
    assert_eq!(
        std::fs::read(&expected).unwrap(),
        bytes,
        "an intact entry is not rewritten"
    );
    assert_eq!(
        std::fs::metadata(&expected).unwrap().modified().unwrap(),
        modified
    );

    // Another capability set is another profile, another entry.
    let caps = effective_capabilities(&["SYS_ADMIN".to_string()], &[], false).unwrap();
    let admin = default_seccomp(&caps).unwrap();
    assert_ne!(cache_key(&admin), cache_key(&profile));
    let second = cached_program(&cache, &admin).unwrap();
    assert_ne!(second, first);
    assert_eq!(entries(&cache).len(), 2);
}

#[test]
fn damaged_entries_are_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let profile = docker_default();
    let good = cached_program(dir.path(), &profile).unwrap();
    let path = dir
        .path()
        .join(format!("{}.bpf", cache_key(&profile).hex()));
    let intact = std::fs::read(&path).unwrap();
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", intact[..intact.len() - 8].to_vec()),
        ("header only", intact[..48].to_vec()),
        ("one flipped program bit", {
            let mut b = intact.clone();
            let last = b.len() - 3;
            b[last] ^= 0x10;
            b
        }),
        ("wrong magic", {
            let mut b = intact.clone();
            b[0] = b'X';
            b
        }),
        ("count too large", {
            let mut b = intact.clone();
            b[12..16].copy_from_slice(&5000u32.to_le_bytes());
            b
        }),
        ("flags changed", {
            let mut b = intact.clone();
            b[8] ^= 1;
            b
        }),
        ("trailing bytes", {
            let mut b = intact.clone();
            b.extend_from_slice(&[0; 8]);
            b
        }),
    ];
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        let program = cached_program(dir.path(), &profile).unwrap();
        assert_eq!(program, good, "{what}: the program is compiled again");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            intact,
            "{what}: the entry is rewritten"
        );
    }
}

#[test]
fn notify_profiles_are_left_to_libcontainer() {
    let notify = LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .syscalls(vec![LinuxSyscallBuilder::default()
            .names(vec!["mkdir".to_string()])
            .action(LinuxSeccompAction::ScmpActNotify)
            .build()
            .unwrap()])
        .build()
        .unwrap();
    assert!(!cacheable(&notify));
    assert!(cacheable(&docker_default()));
}

/// In a forked child: installs the program (the test runs as root, so with
/// `CAP_SYS_ADMIN`), then tries `unshare(CLONE_NEWUSER)`, which Docker's
/// profile refuses with EPERM without `CAP_SYS_ADMIN`, and `getppid`, which
/// it allows. The child's exit code says what happened.
#[test]
fn the_cached_program_filters_like_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let program = cached_program(dir.path(), &docker_default()).unwrap();
    // SAFETY: the child only makes system calls on memory prepared before
    // the fork (no allocation, no lock) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = match program.load() {
            Err(_) => 10,
            Ok(()) => {
                // SAFETY: plain system calls; the child exits right after.
                let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
                let errno = unsafe { *libc::__errno_location() };
                let ppid = unsafe { libc::getppid() };
                match (rc, errno, ppid > 0) {
                    (-1, libc::EPERM, true) => 0,
                    (0, _, _) => 11,
                    (_, _, false) => 12,
                    _ => 13,
                }
            }
        };
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    let code = libc::WEXITSTATUS(status);
    assert_eq!(
        code, 0,
        "10: load failed, 11: unshare allowed, 12: getppid refused, 13: other errno"
    );
    // Without the filter, the same unshare works: the refusal is the filter's.
    // SAFETY: as above.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
        unsafe { libc::_exit(if rc == 0 { 0 } else { 1 }) };
    }
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "unshare(CLONE_NEWUSER) without a filter"
    );
}
