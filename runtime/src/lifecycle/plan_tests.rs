//! Unit tests of the pure create plan: no root, no filesystem.

use std::path::PathBuf;

use kiln_image::Digest;
use kiln_parser::values::{
    parse_extra_host, parse_mount, parse_network, parse_port_spec, parse_restart_policy,
    parse_tmpfs, parse_ulimit, parse_volume, MountKind, RestartPolicy,
};

use super::*;
use crate::lifecycle::network::ResolvedNetwork;
use crate::lifecycle::{ExposedPort, HealthOverrides, LogConfig, Resources, SecurityOptions};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn context() -> PlanContext {
    PlanContext {
        id: ID.into(),
        created: "2026-01-01T00:00:00Z".into(),
        snapshotter: "overlay".into(),
        dir: PathBuf::from("/kiln/containers").join(ID),
        network: ResolvedNetwork::default(),
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
        publish_all: false,
        expose: vec![],
        dns: vec![],
        dns_search: vec![],
        dns_options: vec![],
        domainname: None,
        mac_address: None,
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
fn networks_none_host_default_and_named() {
    let mut o = base();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.network, NetworkMode::None);
    assert_eq!(
        p.spec.network,
        NetworkMode::Join(context().dir.join("netns"))
    );
    assert_eq!(p.record.host_config.network_mode, "none");
    // `default` (no --network) is the predefined bridge network, recorded
    // as Docker 20.10 records it; its namespace is kiln's own.
    o.network = parse_network("default").unwrap();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.record.host_config.network_mode, "default");
    assert_eq!(
        p.spec.network,
        NetworkMode::Join(context().dir.join("netns"))
    );
    assert!(p.record.endpoints_config.contains_key("bridge"));
    o.network = parse_network("host").unwrap();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(
        (p.network.clone(), p.spec.network),
        (NetworkMode::Host, NetworkMode::Host)
    );
    assert_eq!(p.record.host_config.network_mode, "host");
    // The act step has checked that a named network exists.
    o.network = parse_network("front").unwrap();
    let p = plan(&o, &context()).unwrap();
    assert_eq!(p.record.host_config.network_mode, "front");
    assert!(p.record.endpoints_config.contains_key("front"));
    // `container:X` without the act step's lookup is X not found.
    o.network = parse_network("container:db").unwrap();
    let err = plan(&o, &context()).unwrap_err().to_string();
    assert_eq!(err, "network container:db not found");
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
    // `--add-host NAME:host-gateway` and `-p` are applied since bridge
    // networks exist (see the network tests below).
    let mut o = base();
    o.extra_hosts = vec![kiln_parser::values::parse_extra_host("gw:host-gateway").unwrap()];
    o.ports = kiln_parser::values::parse_port_spec("127.0.0.1:8080:80").unwrap();
    assert!(plan(&o, &context()).is_ok());
}

fn named(name: &str) -> NetworkAttachment {
    parse_network(name).unwrap()
}

fn conflict(o: &CreateOptions) -> String {
    let err = plan(o, &context()).unwrap_err();
    assert_eq!(err.exit_code(), 125);
    err.to_string()
}

/// A change to options, for table-driven cases.
type Setter = fn(&mut CreateOptions);

#[test]
fn container_network_takes_its_hostname_and_refuses_what_docker_refuses() {
    let mut o = base();
    o.network = named("container:db");
    let mut ctx = context();
    ctx.network.container = Some(("f".repeat(64), "dbhost".into()));
    let p = plan(&o, &ctx).unwrap();
    assert_eq!(
        p.record.host_config.network_mode,
        format!("container:{}", "f".repeat(64))
    );
    assert_eq!(p.record.config.hostname, "dbhost");
    assert_eq!(p.spec.network, NetworkMode::Join(ctx.dir.join("netns")));
    let cases: [(Setter, &str); 6] = [
        (
            |o| o.hostname = Some("h".into()),
            "conflicting options: hostname and the network mode",
        ),
        (
            |o| o.dns = vec!["1.1.1.1".parse().unwrap()],
            "conflicting options: dns and the network mode",
        ),
        (
            |o| o.extra_hosts = vec![parse_extra_host("a:1.2.3.4").unwrap()],
            "conflicting options: custom host-to-IP mapping and the network mode",
        ),
        (
            |o| o.mac_address = Some([2, 0, 0, 0, 0, 1]),
            "conflicting options: mac-address and the network mode",
        ),
        (
            |o| o.ports = parse_port_spec("80").unwrap(),
            "conflicting options: port publishing and the container type network mode",
        ),
        (
            |o| o.publish_all = true,
            "conflicting options: port publishing and the container type network mode",
        ),
    ];
    for (set, want) in cases {
        let mut o = o.clone();
        set(&mut o);
        let err = plan(&o, &ctx).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn default_bridge_refuses_static_addresses_and_aliases() {
    let mut o = base();
    o.network = NetworkAttachment::Named {
        name: "default".into(),
        aliases: vec![],
        ipv4: Some("10.200.0.5".parse().unwrap()),
        ipv6: None,
    };
    assert_eq!(
        conflict(&o),
        "user specified IP address is supported on user defined networks only"
    );
    o.network = NetworkAttachment::Named {
        name: "bridge".into(),
        aliases: vec!["web".into()],
        ipv4: None,
        ipv6: None,
    };
    assert_eq!(
        conflict(&o),
        "network-scoped alias is supported only for containers in user defined networks"
    );
    o.network = named("host");
    o.mac_address = Some([2, 0, 0, 0, 0, 1]);
    assert_eq!(
        conflict(&o),
        "conflicting options: mac-address and the network mode"
    );
}

#[test]
fn ports_dns_and_hosts_are_recorded_as_docker() {
    let mut o = options(
        serde_json::json!({ "Cmd": ["sh"], "ExposedPorts": { "53/udp": {}, "80/tcp": {} } }),
    );
    o.network = NetworkAttachment::Named {
        name: "front".into(),
        aliases: vec!["web".into()],
        ipv4: Some("10.200.3.7".parse().unwrap()),
        ipv6: None,
    };
    o.ports = parse_port_spec("127.0.0.1:8080:80").unwrap();
    o.ports
        .extend(parse_port_spec("9000-9001:90-91/udp").unwrap());
    o.expose = vec![ExposedPort::parse("7000").unwrap()];
    o.publish_all = true;
    o.dns = vec!["10.0.0.53".parse().unwrap()];
    o.dns_search = vec!["example.test".into()];
    o.dns_options = vec!["ndots:2".into()];
    o.domainname = Some("corp.test".into());
    o.mac_address = Some([0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33]);
    o.extra_hosts = vec![
        parse_extra_host("gw:host-gateway").unwrap(),
        parse_extra_host("db:10.1.2.3").unwrap(),
    ];
    let p = plan(&o, &context()).unwrap();
    let hc = &p.record.host_config;
    let json = serde_json::to_value(hc).unwrap();
    assert_eq!(
        json["PortBindings"],
        serde_json::json!({
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "90/udp": [{"HostIp": "", "HostPort": "9000"}],
            "91/udp": [{"HostIp": "", "HostPort": "9001"}],
        })
    );
    assert!(hc.publish_all_ports);
    assert_eq!(
        (
            hc.dns.clone(),
            hc.dns_search.clone(),
            hc.dns_options.clone()
        ),
        (
            vec!["10.0.0.53".to_string()],
            vec!["example.test".to_string()],
            vec!["ndots:2".to_string()]
        )
    );
    assert_eq!(hc.extra_hosts, ["gw:host-gateway", "db:10.1.2.3"]);
    // Bridge networks get their hosts lines from the monitor (gateway known there).
    assert!(p.extra_hosts.is_empty());
    let exposed: Vec<&str> = p
        .record
        .config
        .exposed_ports
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        exposed,
        ["53/udp", "7000/tcp", "80/tcp", "90/udp", "91/udp"]
    );
    assert_eq!(p.record.config.domainname, "corp.test");
    assert_eq!(p.record.config.mac_address, "92:d0:c6:0a:29:33");
    let endpoint = &p.record.endpoints_config["front"];
    assert_eq!(endpoint.aliases, ["web"]);
    assert_eq!(endpoint.ipv4_address, Some("10.200.3.7".parse().unwrap()));
    assert_eq!(endpoint.mac_address, "92:d0:c6:0a:29:33");
    // Each start publishes the bindings, then -P's other exposed ports on
    // random host ports, sorted by port.
    let publish = network::ports_to_publish(hc, &p.record.config.exposed_ports);
    let shown: Vec<String> = publish.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        shown,
        [
            "127.0.0.1:8080:80/tcp",
            "9000:90/udp",
            "9001:91/udp",
            "53/udp",
            "7000/tcp"
        ]
    );
}

#[test]
fn host_gateway_on_host_and_none_networks_is_the_hosts_address() {
    let mut o = base();
    o.network = named("host");
    o.extra_hosts = vec![
        parse_extra_host("gw:host-gateway").unwrap(),
        parse_extra_host("db=10.1.2.3").unwrap(),
    ];
    let mut ctx = context();
    ctx.network.host_address = Some("192.0.2.10".parse().unwrap());
    let p = plan(&o, &ctx).unwrap();
    assert_eq!(p.extra_hosts, ["192.0.2.10\tgw", "10.1.2.3\tdb"]);
    assert_eq!(
        p.record.host_config.extra_hosts,
        ["gw:host-gateway", "db:10.1.2.3"]
    );
    assert_eq!(
        network::warnings(&o),
        Vec::<String>::new(),
        "no ports, no warning"
    );
    o.ports = parse_port_spec("80").unwrap();
    assert_eq!(
        network::warnings(&o),
        ["Published ports are discarded when using host network mode"]
    );
}

#[test]
fn records_without_network_fields_still_read() {
    let old = serde_json::json!({
        "Binds": [], "NetworkMode": "none", "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": false, "CapAdd": [], "CapDrop": [], "Privileged": false,
        "ReadonlyRootfs": false, "SecurityOpt": [], "Tmpfs": {}, "Memory": 0, "NanoCpus": 0,
        "PidsLimit": null, "Init": null, "Runtime": "kiln"
    });
    let hc: HostConfig = serde_json::from_value(old).unwrap();
    assert!(hc.port_bindings.is_empty() && hc.extra_hosts.is_empty() && !hc.publish_all_ports);
    assert_eq!(
        network::parse_mac("92:D0:c6:0a:29:33"),
        Some([0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33])
    );
    assert_eq!(network::parse_mac("92:d0:c6:0a:29"), None);
}
