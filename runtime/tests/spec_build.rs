//! The whole spec: process, mounts, namespaces, resources, paths, JSON.

use std::collections::BTreeMap;

use kiln_runtime::spec::{
    build_spec, current_nofile_hard, MountSpec, NetworkMode, SeccompChoice, SpecError, SpecOptions,
    MASKED_PATHS,
};
use oci_spec::runtime::{Capability, LinuxNamespaceType, Spec};

fn rootfs() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::write(
        d.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n",
    )
    .unwrap();
    d
}

fn options(root: &std::path::Path) -> SpecOptions {
    SpecOptions {
        args: vec!["sh".into()],
        env: vec!["PATH=/bin".into()],
        hostname: "box".into(),
        cgroups_path: "/kiln/abc".into(),
        rootfs: root.to_path_buf(),
        ..Default::default()
    }
}

fn ns_types(spec: &Spec) -> Vec<LinuxNamespaceType> {
    spec.linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect()
}

#[test]
fn defaults_match_docker() {
    let r = rootfs();
    let spec = build_spec(&options(r.path())).unwrap();
    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &vec!["sh".to_string()]);
    assert_eq!(
        p.env().as_ref().unwrap(),
        &vec!["PATH=/bin".to_string(), "HOME=/root".to_string()]
    );
    assert_eq!(p.cwd().to_str(), Some("/"));
    assert_eq!(p.terminal(), Some(false));
    let caps = p.capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    assert!(caps
        .effective()
        .as_ref()
        .unwrap()
        .contains(&Capability::NetBindService));
    assert!(!caps
        .permitted()
        .as_ref()
        .unwrap()
        .contains(&Capability::SysAdmin));
    assert!(caps.inheritable().is_none() && caps.ambient().is_none());
    let rl = &p.rlimits().as_ref().unwrap()[0];
    let hard = current_nofile_hard().unwrap();
    assert_eq!((rl.soft(), rl.hard()), (1024.min(hard), 524_288.min(hard)));
    assert_eq!(spec.hostname().as_deref(), Some("box"));
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(false));
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(
        linux.cgroups_path().as_ref().unwrap().to_str(),
        Some("/kiln/abc")
    );
    assert_eq!(
        linux.masked_paths().as_ref().unwrap().len(),
        MASKED_PATHS.len()
    );
    assert!(linux
        .readonly_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/sys".to_string()));
    let types = ns_types(&spec);
    for t in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Network,
    ] {
        assert!(types.contains(&t), "{t:?}");
    }
    assert!(!types.contains(&LinuxNamespaceType::User));
    let devices: Vec<String> = linux
        .devices()
        .as_ref()
        .unwrap()
        .iter()
        .map(|d| d.path().display().to_string())
        .collect();
    assert_eq!(
        devices,
        [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty"
        ]
    );
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert!(!rules[0].allow() && rules[0].access().as_deref() == Some("rwm"));
    assert_eq!(rules[1].to_string(), "c *:* m");
    assert!(rules.iter().any(|r| r.to_string() == "c 136:* rwm"));
}

#[test]
fn default_mounts_then_user_mounts() {
    let r = rootfs();
    let mut o = options(r.path());
    o.mounts = vec![
        MountSpec::Bind {
            source: "/srv/data".into(),
            destination: "/data".into(),
            read_only: true,
        },
        MountSpec::Tmpfs {
            destination: "/run".into(),
            options: vec!["size=64m".into(), "exec".into()],
        },
        MountSpec::Tmpfs {
            destination: "/dev/shm".into(),
            options: vec![],
        },
    ];
    let spec = build_spec(&o).unwrap();
    let mounts = spec.mounts().as_ref().unwrap();
    let dests: Vec<String> = mounts
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/data",
            "/run",
            "/dev/shm"
        ]
    );
    let opts = |i: usize| mounts[i].options().clone().unwrap();
    assert_eq!(
        opts(1),
        ["nosuid", "strictatime", "mode=755", "size=65536k"]
    );
    assert!(opts(2).contains(&"newinstance".to_string()) && opts(2).contains(&"gid=5".to_string()));
    assert!(opts(3).contains(&"ro".to_string()));
    assert_eq!(mounts[6].typ().as_deref(), Some("bind"));
    assert_eq!(opts(6), ["rbind", "rprivate", "ro"]);
    assert_eq!(opts(7), ["rw", "nosuid", "nodev", "exec", "size=64m"]);
    assert_eq!(opts(8), ["rw", "nosuid", "nodev", "noexec"]);
}

#[test]
fn relative_mount_destination_is_rejected() {
    let r = rootfs();
    let mut o = options(r.path());
    o.mounts = vec![MountSpec::Tmpfs {
        destination: "tmp".into(),
        options: vec![],
    }];
    assert!(matches!(
        build_spec(&o),
        Err(SpecError::InvalidMountDestination(_))
    ));
}

#[test]
fn privileged_has_all_caps_no_seccomp_no_masks_rw_sys() {
    let r = rootfs();
    let mut o = options(r.path());
    o.privileged = true;
    let spec = build_spec(&o).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert!(caps
        .bounding()
        .as_ref()
        .unwrap()
        .contains(&Capability::SysAdmin));
    assert!(caps.bounding().as_ref().unwrap().len() > 30);
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().is_none() && linux.readonly_paths().is_none());
    let sys = spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination().to_str() == Some("/sys"))
        .unwrap();
    assert!(sys.options().as_ref().unwrap().contains(&"rw".to_string()));
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
}

#[test]
fn resources_memory_cpus_pids() {
    let r = rootfs();
    let mut o = options(r.path());
    o.memory = Some(64 * 1024 * 1024);
    o.cpus = Some(1.5);
    o.pids_limit = Some(100);
    let spec = build_spec(&o).unwrap();
    let res = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    let mem = res.memory().unwrap();
    assert_eq!(mem.limit(), Some(64 * 1024 * 1024));
    assert_eq!(mem.swap(), Some(128 * 1024 * 1024));
    let cpu = res.cpu().clone().unwrap();
    assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
    assert_eq!(res.pids().unwrap().limit(), 100);
    o.memory = Some(1024);
    assert!(matches!(build_spec(&o), Err(SpecError::InvalidResource(_))));
    o.memory = None;
    o.cpus = Some(f64::NAN);
    assert!(matches!(build_spec(&o), Err(SpecError::InvalidResource(_))));
    o.cpus = None;
    o.pids_limit = Some(-1);
    let spec = build_spec(&o).unwrap();
    assert!(spec
        .linux()
        .as_ref()
        .unwrap()
        .resources()
        .as_ref()
        .unwrap()
        .pids()
        .is_none());
}

#[test]
fn network_modes() {
    let r = rootfs();
    let mut o = options(r.path());
    o.network = NetworkMode::Host;
    assert!(!ns_types(&build_spec(&o).unwrap()).contains(&LinuxNamespaceType::Network));
    o.network = NetworkMode::Join("/run/netns/kiln-1".into());
    let spec = build_spec(&o).unwrap();
    let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
    let net = ns
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert_eq!(
        net.path().as_ref().unwrap().to_str(),
        Some("/run/netns/kiln-1")
    );
    o.network = NetworkMode::None;
    let spec = build_spec(&o).unwrap();
    let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
    let net = ns
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert!(net.path().is_none());
}

#[test]
fn read_only_root_tty_user_cwd_annotations() {
    let r = rootfs();
    let mut o = options(r.path());
    o.read_only = true;
    o.tty = true;
    o.user = "1234:99".into();
    o.cwd = "/work".into();
    o.no_new_privileges = true;
    o.env.push("HOME=/custom".into());
    o.annotations = BTreeMap::from([("org.kiln.id".to_string(), "abc".to_string())]);
    let spec = build_spec(&o).unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.no_new_privileges(), Some(true));
    assert_eq!((p.user().uid(), p.user().gid()), (1234, 99));
    assert_eq!(p.cwd().to_str(), Some("/work"));
    assert_eq!(
        p.env()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|e| e.starts_with("HOME="))
            .count(),
        1
    );
    assert_eq!(spec.annotations().as_ref().unwrap()["org.kiln.id"], "abc");
}

#[test]
fn bad_input_is_an_error() {
    let r = rootfs();
    let mut o = options(r.path());
    o.cwd = "relative".into();
    assert!(matches!(build_spec(&o), Err(SpecError::RelativeCwd(_))));
    let mut o = options(r.path());
    o.args.clear();
    assert!(matches!(build_spec(&o), Err(SpecError::NoCommand)));
    let mut o = options(r.path());
    o.rootfs = "rel/root".into();
    assert!(matches!(build_spec(&o), Err(SpecError::RelativeRootfs(_))));
    let mut o = options(r.path());
    o.hostname = "a b\n".into();
    assert!(matches!(build_spec(&o), Err(SpecError::InvalidHostname(_))));
    let mut o = options(r.path());
    o.cgroups_path.clear();
    assert!(matches!(build_spec(&o), Err(SpecError::EmptyCgroupsPath)));
    let mut o = options(r.path());
    o.user = "nobody".into();
    assert!(matches!(build_spec(&o), Err(SpecError::UnknownUser(_))));
    let mut o = options(r.path());
    o.cap_add = vec!["bogus".into()];
    assert!(matches!(
        build_spec(&o),
        Err(SpecError::UnknownCapability(_))
    ));
}

#[test]
fn json_has_the_expected_keys() {
    let r = rootfs();
    let mut o = options(r.path());
    o.memory = Some(10 << 20);
    let spec = build_spec(&o).unwrap();
    let text = serde_json::to_string(&spec).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["ociVersion"], "1.0.2-dev");
    assert_eq!(v["root"]["path"], r.path().to_str().unwrap());
    assert_eq!(v["process"]["user"]["uid"], 0);
    assert!(v["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .contains(&"CAP_CHOWN".into()));
    assert_eq!(v["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
    assert_eq!(v["mounts"][0]["type"], "proc");
    assert_eq!(v["linux"]["cgroupsPath"], "/kiln/abc");
    assert_eq!(v["linux"]["resources"]["memory"]["limit"], 10 << 20);
    assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert!(v["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .contains(&"/proc/kcore".into()));
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "pid"));
    // Round-trips through oci-spec's own parser.
    let back: Spec = serde_json::from_str(&text).unwrap();
    assert_eq!(back, spec);
    let _ = SeccompChoice::Unconfined;
}

#[test]
fn no_oci_spec_defaults_leak_in() {
    let r = rootfs();
    let mut o = options(r.path());
    o.hostname.clear();
    let spec = build_spec(&o).unwrap();
    assert!(spec.hostname().is_none());
    assert!(spec.annotations().is_none());
    assert!(spec.hooks().is_none());
}
