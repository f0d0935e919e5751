//! Unit tests of the pure create plan: no root, no filesystem.

use std::path::PathBuf;

use kiln_image::Digest;
use kiln_parser::values::{
    parse_mount, parse_network, parse_restart_policy, parse_tmpfs, parse_ulimit, parse_volume,
    MountKind, RestartPolicy,
};

use super::*;
use crate::lifecycle::{HealthOverrides, LogConfig, Resources, SecurityOptions};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn context() -> PlanContext {
    PlanContext {
        id: ID.into(),
        created: "2026-01-01T00:00:00Z".into(),
        snapshotter: "overlay".into(),
        dir: PathBuf::from("/kiln/containers").join(ID),
    }
}

/// Options for an image with `config` (the image config's `config` object).
fn options(config: serde_json::Value) -> CreateOptions {
    CreateOptions {
        name: None,
        image: "busybox:local".into(),
        manifest: Digest::of(b"manifest"),
        image_id: "sha256:abc".into(),
        image_config: serde_json::json!({ "config": config }),
        entrypoint: None,
        args: vec![],
        env: vec![],
        workdir: None,
        user: None,
        hostname: None,
        tty: false,
        interactive: false,
        labels: BTreeMap::new(),
        restart: RestartPolicy::No,
        auto_remove: false,
        security: SecurityOptions::default(),
        read_only: false,
        resources: Resources::default(),
        mounts: vec![],
        network: NetworkAttachment::None,
        ports: vec![],
        runtime: "kiln".into(),
        stop_signal: None,
        stop_timeout: None,
        health: HealthOverrides::default(),
        init: false,
        ulimits: vec![],
        sysctls: BTreeMap::new(),
        devices: vec![],
        extra_hosts: vec![],
        log: LogConfig::default(),
    }
}

fn base() -> CreateOptions {
    options(serde_json::json!({ "Cmd": ["sh"], "Env": ["PATH=/bin", "A=image"] }))
}

fn targets(plan: &CreatePlan) -> Vec<&str> {
    plan.mounts.iter().map(|m| m.target.as_str()).collect()
}

#[test]
fn volumes_binds_and_tmpfs_in_order_with_image_volumes_last() {
    let mut o = options(serde_json::json!({
        "Cmd": ["sh"],
        "Volumes": { "/data": {}, "/logs": {} }
    }));
    o.mounts = vec![
        parse_volume("/host:/srv:ro").unwrap(),
        parse_volume("named:/data").unwrap(),
        parse_mount("type=tmpfs,target=/tmp").unwrap(),
    ];
    let plan = plan(&o, &context()).unwrap();
    // `/data` is covered by the named volume: no anonymous volume there.
    assert_eq!(targets(&plan), ["/srv", "/data", "/tmp", "/logs"]);
    assert!(matches!(
        plan.mounts[0].kind,
        MountKind::Bind {
            create_source: true,
            ..
        }
    ));
    assert!(plan.mounts[0].read_only);
    assert!(matches!(
        plan.mounts[3].kind,
        MountKind::Volume { name: None, .. }
    ));
    let hc = &plan.record.host_config;
    assert_eq!(hc.binds, ["/host:/srv:ro", "named:/data"]);
    assert_eq!(hc.tmpfs.get("/tmp").map(String::as_str), Some(""));
    assert_eq!(plan.record.config.volumes.len(), 2);
}

#[test]
fn duplicate_mount_points_are_refused() {
    let mut o = base();
    o.mounts = vec![parse_volume("/a:/x").unwrap(), parse_tmpfs("/x/").unwrap()];
    let err = plan(&o, &context()).unwrap_err();
    assert_eq!(err.to_string(), "Duplicate mount point: /x/");
    assert_eq!(err.exit_code(), 125);
}

#[test]
fn read_only_user_and_workdir() {
    let mut o = options(serde_json::json!({ "Cmd": ["id"], "User": "nobody", "WorkingDir": "/w" }));
    let p = plan(&o, &context()).unwrap();
    assert_eq!(
        (p.spec.user.as_str(), p.spec.cwd.as_str()),
        ("nobody", "/w")
    );
    assert!(!p.spec.read_only);
    o.read_only = true;
    o.user = Some("1000:1000".into());
    o.workdir = Some("/tmp".into());
    let p = plan(&o, &context()).unwrap();
    assert!(p.spec.read_only && p.record.host_config.readonly_rootfs);
    assert_eq!(p.record.config.user, "1000:1000");
    assert_eq!(p.spec.cwd, "/tmp");
    assert_eq!(p.spec.rootfs, context().dir.join("rootfs"));
}

#[test]
fn environment_merges_image_then_flags() {
    let mut o = base();
    o.env = vec!["A=flag".into(), "B=2".into()];
    o.hostname = Some("web".into());
    o.tty = true;
    let p = plan(&o, &context()).unwrap();
    assert_eq!(
        p.spec.env,
        ["PATH=/bin", "HOSTNAME=web", "TERM=xterm", "A=flag", "B=2"]
    );
    o.env = vec!["=x".into()];
    assert!(plan(&o, &context())
        .unwrap_err()
        .to_string()
        .contains("environment variable name can't be empty"));
}

#[test]
fn networks_none_host_and_refused() {
    let mut o = base();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.network, NetworkMode::None);
    assert_eq!(
        p.spec.network,
        NetworkMode::Join(context().dir.join("netns"))
    );
    assert_eq!(p.record.host_config.network_mode, "none");
    o.network = parse_network("default").unwrap();
    assert_eq!(plan(&o, &context()).unwrap().network, NetworkMode::None);
    o.network = parse_network("host").unwrap();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(
        (p.network.clone(), p.spec.network),
        (NetworkMode::Host, NetworkMode::Host)
    );
    assert_eq!(p.record.host_config.network_mode, "host");
    for (value, name) in [("container:db", "container:db"), ("front", "front")] {
        o.network = parse_network(value).unwrap();
        let err = plan(&o, &context()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("network {name} not found")),
            "{err}"
        );
    }
}

#[test]
fn restart_stop_signal_and_health() {
    let mut o = options(serde_json::json!({
        "Cmd": ["sh"],
        "Healthcheck": { "Test": ["CMD", "true"], "Interval": 5, "Retries": 2 }
    }));
    o.restart = parse_restart_policy("on-failure:3").unwrap();
    o.stop_signal = Some(crate::lifecycle::StopSignal::parse("usr1").unwrap());
    o.health.timeout = Some(std::time::Duration::from_secs(2));
    let p = plan(&o, &context()).unwrap();
    let hc = &p.record.host_config;
    assert_eq!(
        (
            hc.restart_policy.name.as_str(),
            hc.restart_policy.maximum_retry_count
        ),
        ("on-failure", 3)
    );
    assert_eq!(p.record.config.stop_signal.as_deref(), Some("usr1"));
    let health = p.record.config.healthcheck.unwrap();
    assert_eq!(
        (health.interval, health.timeout, health.retries),
        (5, 2_000_000_000, 2)
    );
    o.health.disable = true;
    let health = plan(&o, &context())
        .unwrap()
        .record
        .config
        .healthcheck
        .unwrap();
    assert_eq!(health.test, ["NONE"]);
}

#[test]
fn entrypoint_command_and_init() {
    let mut o = options(serde_json::json!({ "Entrypoint": ["/ep"], "Cmd": ["x"] }));
    let p = plan(&o, &context()).unwrap();
    assert_eq!(
        (p.record.path.as_str(), p.record.args.as_slice()),
        ("/ep", &["x".to_string()][..])
    );
    o.entrypoint = Some(String::new());
    o.args = vec!["echo".into(), "hi".into()];
    o.init = true;
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.record.path, "echo");
    assert_eq!(p.record.config.entrypoint, None);
    assert_eq!(
        p.spec.args[..2],
        [crate::init_binary::INIT_PATH.to_string(), "--".into()]
    );
    assert!(p.init && p.record.host_config.init == Some(true));
    o.args.clear();
    o.image_config = serde_json::json!({ "config": {} });
    assert_eq!(
        plan(&o, &context()).unwrap_err().to_string(),
        "No command specified"
    );
}

#[test]
fn security_and_resources() {
    let mut o = base();
    o.security.no_new_privileges = true;
    o.security.seccomp = kiln_parser::values::SeccompProfile::Unconfined;
    o.security.cap_add = vec!["NET_ADMIN".into()];
    o.resources = Resources {
        memory: Some(64 << 20),
        cpus: Some(0.5),
        pids_limit: Some(-1),
    };
    let p = plan(&o, &context()).unwrap();
    assert!(p.spec.no_new_privileges);
    assert_eq!(p.spec.seccomp, SeccompChoice::Unconfined);
    assert_eq!(p.spec.pids_limit, None);
    assert_eq!(p.spec.cgroups_path, format!("/kiln/{ID}"));
    let hc = &p.record.host_config;
    assert_eq!(hc.security_opt, ["no-new-privileges", "seccomp=unconfined"]);
    assert_eq!((hc.memory, hc.nano_cpus), (64 << 20, 500_000_000));
}

#[test]
fn ulimits_sysctls_and_extra_hosts() {
    let mut o = base();
    o.ulimits = vec![
        parse_ulimit("nofile=10:20").unwrap(),
        parse_ulimit("core=-1").unwrap(),
    ];
    o.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
    o.extra_hosts = vec![kiln_parser::values::parse_extra_host("db:10.0.0.2").unwrap()];
    let p = plan(&o, &context()).unwrap();
    let names: Vec<_> = p
        .spec
        .rlimits
        .iter()
        .map(|r| (r.name.as_str(), r.soft, r.hard))
        .collect();
    assert_eq!(names, [("nofile", 10, 20), ("core", -1, -1)]);
    assert_eq!(
        p.spec
            .sysctls
            .get("net.ipv4.ip_forward")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(p.extra_hosts, ["10.0.0.2\tdb"]);
    o.devices = vec![kiln_parser::values::parse_device("/dev/zero:/dev/z:r").unwrap()];
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.devices[0].container_path, "/dev/z");
    // Docker: no net.* sysctl in the host's network namespace.
    o.network = NetworkAttachment::Host;
    assert!(plan(&o, &context())
        .unwrap_err()
        .to_string()
        .contains("--sysctl \"net.ipv4.ip_forward\""));
}

#[test]
fn options_not_applied_yet_are_refused() {
    let mut o = base();
    o.log.driver = "syslog".into();
    assert_eq!(
        plan(&o, &context()).unwrap_err().to_string(),
        "--log-driver \"syslog\" is not supported: kiln does not apply it yet"
    );
    let mut o = base();
    o.extra_hosts = vec![kiln_parser::values::parse_extra_host("gw:host-gateway").unwrap()];
    assert!(plan(&o, &context()).is_err());
    let mut o = base();
    o.ports = kiln_parser::values::parse_port_spec("127.0.0.1:8080:80").unwrap();
    assert!(plan(&o, &context()).unwrap_err().to_string().starts_with(
        "-p \"127.0.0.1:8080:80/tcp\" is not supported: publishing ports needs a bridge network"
    ));
}
