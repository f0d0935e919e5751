//! Capabilities: Docker's defaults, --cap-add/--cap-drop, privileged.

use kiln_runtime::spec::{
    all_capabilities, effective_capabilities, normalize_capability, SpecError, DEFAULT_CAPABILITIES,
};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn default_set_is_dockers() {
    let caps = effective_capabilities(&[], &[], false).unwrap();
    let want = s(&[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]);
    assert_eq!(caps, want);
    assert_eq!(DEFAULT_CAPABILITIES.len(), 14);
}

#[test]
fn add_and_drop_accept_any_case_and_prefix() {
    let caps = effective_capabilities(
        &s(&["sys_admin", "CAP_NET_ADMIN"]),
        &s(&["cap_chown", "Kill"]),
        false,
    )
    .unwrap();
    assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
    assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
    assert!(!caps.contains(&"CAP_CHOWN".to_string()));
    assert!(!caps.contains(&"CAP_KILL".to_string()));
    assert_eq!(caps.len(), 14);
}

#[test]
fn drop_all_keeps_only_adds_and_add_all_keeps_all_but_drops() {
    let caps = effective_capabilities(&s(&["NET_BIND_SERVICE"]), &s(&["ALL"]), false).unwrap();
    assert_eq!(caps, s(&["CAP_NET_BIND_SERVICE"]));
    let caps = effective_capabilities(&s(&["all"]), &s(&["SYS_ADMIN"]), false).unwrap();
    assert_eq!(caps.len(), all_capabilities().len() - 1);
    assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
    assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
}

#[test]
fn unknown_capability_is_named() {
    let err = effective_capabilities(&s(&["CAP_FLY"]), &[], false).unwrap_err();
    assert!(matches!(&err, SpecError::UnknownCapability(n) if n == "CAP_FLY"));
    assert!(err.to_string().contains("CAP_FLY"));
    assert!(normalize_capability("nope").is_err());
    assert_eq!(normalize_capability(" net_raw ").unwrap(), "CAP_NET_RAW");
}

/// kiln's own bounding set (`CapBnd`), as a count of capabilities up to
/// `cap_last_cap`.
fn bounding_count(last: usize) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let set = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    (0..=last.min(40))
        .filter(|bit| set & (1 << bit) != 0)
        .count()
}

#[test]
fn privileged_gets_every_kernel_capability_in_the_bounding_set() {
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(40);
    let caps = effective_capabilities(&[], &s(&["ALL"]), true).unwrap();
    assert_eq!(caps.len(), bounding_count(last));
    assert_eq!(caps[0], "CAP_CHOWN");
    assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
}
