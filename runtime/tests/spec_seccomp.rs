//! Seccomp: the default profile conditioned on capabilities, user files.

use kiln_runtime::spec::{
    build_spec, default_seccomp, effective_capabilities, etc_files, seccomp_from_file, MountSpec,
    NetworkMode, SeccompChoice, SpecError, SpecOptions,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

fn caps(add: &[&str]) -> Vec<String> {
    let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
    effective_capabilities(&add, &[], false).unwrap()
}

fn allowed(profile: &LinuxSeccomp, name: &str) -> bool {
    profile.syscalls().as_ref().unwrap().iter().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow
            && r.args().is_none()
            && r.names().iter().any(|n| n == name)
    })
}

#[test]
fn default_profile_denies_with_eperm_and_allows_basics() {
    let p = default_seccomp(&caps(&[])).unwrap();
    assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret(), Some(1));
    for name in ["read", "write", "execve", "openat", "futex", "arch_prctl"] {
        assert!(allowed(&p, name), "{name}");
    }
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "reboot",
        "init_module",
        "clone",
    ] {
        assert!(!allowed(&p, name), "{name}");
    }
    if cfg!(target_arch = "x86_64") {
        let arches = serde_json::to_value(p.architectures()).unwrap();
        assert_eq!(
            arches,
            serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
    }
}

#[test]
fn clone_is_filtered_and_clone3_is_enosys_without_sys_admin() {
    let p = default_seccomp(&caps(&[])).unwrap();
    let rules = p.syscalls().as_ref().unwrap();
    let clone = rules
        .iter()
        .find(|r| r.names() == &vec!["clone".to_string()])
        .unwrap();
    let arg = clone.args().as_ref().unwrap()[0];
    assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(arg.value(), 0x7E02_0000);
    let clone3 = rules
        .iter()
        .find(|r| r.names() == &vec!["clone3".to_string()])
        .unwrap();
    assert_eq!(clone3.action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3.errno_ret(), Some(38));
    let personality = rules
        .iter()
        .filter(|r| r.names() == &vec!["personality".to_string()])
        .count();
    assert_eq!(personality, 5);
}

#[test]
fn sys_admin_unlocks_mount_and_plain_clone() {
    let p = default_seccomp(&caps(&["SYS_ADMIN"])).unwrap();
    for name in ["mount", "umount2", "unshare", "setns", "clone", "clone3"] {
        assert!(allowed(&p, name), "{name}");
    }
    let rules = p.syscalls().as_ref().unwrap();
    assert!(!rules
        .iter()
        .any(|r| r.action() == LinuxSeccompAction::ScmpActErrno));
    let p = default_seccomp(&caps(&[
        "SYS_PTRACE",
        "SYS_MODULE",
        "SYS_TIME",
        "SYS_NICE",
        "SYS_BOOT",
    ]))
    .unwrap();
    for name in ["kcmp", "init_module", "settimeofday", "mbind", "reboot"] {
        assert!(allowed(&p, name), "{name}");
    }
}

#[test]
fn spec_uses_profile_choice() {
    let r = tempfile::tempdir().unwrap();
    let mut o = SpecOptions {
        args: vec!["sh".into()],
        cgroups_path: "/kiln/x".into(),
        rootfs: r.path().to_path_buf(),
        ..Default::default()
    };
    let spec = build_spec(&o).unwrap();
    assert!(spec.linux().as_ref().unwrap().seccomp().is_some());
    o.seccomp = SeccompChoice::Unconfined;
    assert!(build_spec(&o)
        .unwrap()
        .linux()
        .as_ref()
        .unwrap()
        .seccomp()
        .is_none());
    let file = r.path().join("profile.json");
    std::fs::write(
        &file,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    o.seccomp = SeccompChoice::File(file.clone());
    let spec = build_spec(&o).unwrap();
    let sc = spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(
        sc.syscalls().as_ref().unwrap()[0].names(),
        &vec!["mount".to_string()]
    );
}

#[test]
fn bad_profile_file_error_names_the_file() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("broken.json");
    std::fs::write(&file, "{ not json").unwrap();
    let err = seccomp_from_file(&file, &[]).unwrap_err();
    assert!(matches!(err, SpecError::SeccompProfile { .. }));
    assert!(err.to_string().contains("broken.json"), "{err}");
    let missing = seccomp_from_file(&d.path().join("nope.json"), &[]).unwrap_err();
    assert!(missing.to_string().contains("nope.json"));
}

#[test]
fn etc_files_are_written_and_mounted() {
    let d = tempfile::tempdir().unwrap();
    let mounts = etc_files(d.path(), "web1", &NetworkMode::None).unwrap();
    let dests: Vec<&str> = mounts.iter().map(|m| m.destination()).collect();
    assert_eq!(dests, ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]);
    assert!(matches!(
        &mounts[0],
        MountSpec::Bind {
            read_only: false,
            ..
        }
    ));
    assert_eq!(
        std::fs::read_to_string(d.path().join("hostname")).unwrap(),
        "web1\n"
    );
    let hosts = std::fs::read_to_string(d.path().join("hosts")).unwrap();
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
    assert!(hosts.ends_with("127.0.1.1\tweb1\n"));
    let resolv = std::fs::read_to_string(d.path().join("resolv.conf")).unwrap();
    assert!(!resolv.contains("nameserver"));
    assert!(etc_files(d.path(), "bad\nname", &NetworkMode::None).is_err());
}
