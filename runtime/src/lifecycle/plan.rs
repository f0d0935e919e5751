//! The pure half of `create`: options + image config -> a [`CreatePlan`]
//! (the container's record, its mounts checked for conflicts, the inputs of
//! its OCI spec). No file is read or written and nothing is mounted, so the
//! plan is unit-tested without root; [`super::create`] acts on it.
//!
//! Three things are left to the act step on purpose: the OCI spec itself
//! (resolving `-u name` reads the image's `/etc/passwd` inside the mounted
//! root filesystem), the names of new anonymous volumes (random IDs) and the
//! numbers of `--device` nodes (read from the host's node).
//! One input is not from the options: a bare `-e KEY` takes kiln's own
//! environment variable, as Docker's CLI does.
//!
//! Docker is the reference: mounts at the same destination are refused
//! (`Duplicate mount point: /x`); an image VOLUME at a destination a user
//! mount already covers gets no anonymous volume; the network decisions
//! (`default` is the predefined `bridge` network, Docker's conflicts) are
//! [`super::network`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiln_image::Digest;
use kiln_parser::values::{
    DeviceMapping, MountKind, MountRequest, NetworkAttachment, SeccompProfile,
};

use super::network::{self, ResolvedNetwork};
use super::options::{CreateOptions, HealthOverrides};
use crate::container::{ContainerConfig, ContainerRecord, HealthConfig, HostConfig};
use crate::error::{Error, Result};
use crate::spec::{self, ImageDefaults, NetworkMode, Rlimit, SeccompChoice, SpecOptions};

/// What the plan needs besides the options: the container's identity and
/// where its files go.
#[derive(Debug, Clone)]
pub struct PlanContext {
    /// The new container's 64-hex ID.
    pub id: String,
    /// Its creation time (RFC 3339).
    pub created: String,
    /// The snapshotter its root filesystem lives in.
    pub snapshotter: String,
    /// Its directory in the store.
    pub dir: PathBuf,
    /// What [`network::resolve`] looked up about its network.
    pub network: ResolvedNetwork,
}

/// A container decided but not made.
#[derive(Debug, Clone)]
pub struct CreatePlan {
    /// The record to store (its name is claimed, and its `Mounts` filled, by
    /// the act step).
    pub record: ContainerRecord,
    /// The container's network namespace as the spec and `/etc` files see it
    /// (`None` is a namespace kiln makes and joins, see [`crate::netns`]).
    pub network: NetworkMode,
    /// Every mount in order: the user's, then the image's VOLUMEs not
    /// covered by one (anonymous volumes).
    pub mounts: Vec<MountRequest>,
    /// The spec's inputs; `mounts` is filled by the act step (the `/etc`
    /// files and the mounts above, resolved on disk).
    pub spec: SpecOptions,
    /// Whether kiln's init runs as PID 1 (`--init`).
    pub init: bool,
    /// `--device`s, looked up on the host by the act step.
    pub devices: Vec<DeviceMapping>,
    /// `--add-host` lines for `/etc/hosts` (`IP\tNAME`).
    pub extra_hosts: Vec<String>,
    /// The image's manifest, unpacked by the act step.
    pub manifest: Digest,
}

/// Decides everything about a container from `options`.
pub fn plan(options: &CreateOptions, context: &PlanContext) -> Result<CreatePlan> {
    refuse_unsupported(options)?;
    let image = ImageDefaults::from_image_config(&options.image_config);
    let argv = spec::resolve_args(&image, options.entrypoint.as_deref(), &options.args)?;
    spec::check_env("-e", &options.env, true)?;
    spec::check_env("image config Env", &image.env, false)?;
    let net = network::plan_network(options, &context.network)?;
    let mounts = plan_mounts(&options.mounts, &image)?;
    let hostname = net
        .hostname
        .clone()
        .or_else(|| options.hostname.clone())
        .unwrap_or_else(|| context.id[..12].to_string());
    let mut config = container_config(options, &image, &hostname);
    config.exposed_ports = network::exposed_ports(options, &image.exposed_ports);
    let mut host_config = host_config(options, net.network_mode.clone());
    network::fill_host_config(options, &mut host_config);
    let record = ContainerRecord {
        id: context.id.clone(),
        name: String::new(),
        created: context.created.clone(),
        image_id: options.image_id.clone(),
        manifest: options.manifest.to_string(),
        path: argv[0].clone(),
        args: argv[1..].to_vec(),
        host_config,
        config,
        mounts: Vec::new(),
        runtime: runtime_name(&options.runtime),
        snapshotter: context.snapshotter.clone(),
        snapshot_key: format!("container-{}", context.id),
        endpoints_config: net.endpoints.clone(),
    };
    let spec = spec_options(options, &record, argv, &net.mode, context);
    Ok(CreatePlan {
        record,
        network: net.mode,
        mounts,
        spec,
        init: options.init,
        devices: options.devices.clone(),
        extra_hosts: net.extra_host_lines,
        manifest: options.manifest,
    })
}

/// Options kiln holds typed but cannot apply yet (and Docker's conflicts).
fn refuse_unsupported(options: &CreateOptions) -> Result<()> {
    let host_network = options.network == NetworkAttachment::Host;
    if let Some(name) = options
        .sysctls
        .keys()
        .find(|n| host_network && n.starts_with("net."))
    {
        return Err(Error::Unsupported {
            flag: "--sysctl",
            value: name.clone(),
            reason: "not allowed in the host's network namespace (--network host)".into(),
        });
    }
    if options.log.driver != "json-file" {
        return Err(Error::Unsupported {
            flag: "--log-driver",
            value: options.log.driver.clone(),
            reason: "kiln does not apply it yet".into(),
        });
    }
    Ok(())
}

/// The user's mounts checked for duplicates, then the image's VOLUMEs that
/// no user mount covers, as anonymous volumes.
fn plan_mounts(user: &[MountRequest], image: &ImageDefaults) -> Result<Vec<MountRequest>> {
    let clean = |t: &str| t.trim_end_matches('/').to_string();
    let mut seen: Vec<String> = Vec::new();
    for mount in user {
        let target = clean(&mount.target);
        if seen.contains(&target) {
            return Err(Error::DuplicateMount(mount.target.clone()));
        }
        seen.push(target);
    }
    let mut mounts = user.to_vec();
    for dest in &image.volumes {
        if !seen.contains(&clean(dest)) {
            seen.push(clean(dest));
            mounts.push(MountRequest {
                target: dest.clone(),
                read_only: false,
                mode: String::new(),
                kind: MountKind::Volume {
                    name: None,
                    nocopy: false,
                    labels: BTreeMap::new(),
                    driver: None,
                },
            });
        }
    }
    Ok(mounts)
}

/// Docker's `Config`: the image's defaults overridden by the options.
fn container_config(o: &CreateOptions, image: &ImageDefaults, hostname: &str) -> ContainerConfig {
    let mut labels = image.labels.clone();
    labels.extend(o.labels.clone());
    ContainerConfig {
        hostname: hostname.to_string(),
        user: o.user.clone().unwrap_or_else(|| image.user.clone()),
        tty: o.tty,
        open_stdin: o.interactive,
        env: spec::merge_env(&image.env, &o.env, hostname, o.tty),
        cmd: if o.entrypoint.is_some() || !o.args.is_empty() {
            (!o.args.is_empty()).then(|| o.args.clone())
        } else {
            image.cmd.clone()
        },
        image: o.image.clone(),
        working_dir: o
            .workdir
            .clone()
            .unwrap_or_else(|| image.working_dir.clone()),
        entrypoint: match o.entrypoint.as_deref() {
            Some("") => None,
            Some(e) => Some(vec![e.to_string()]),
            None => image.entrypoint.clone(),
        },
        labels,
        stop_signal: o
            .stop_signal
            .as_ref()
            .map(|s| s.written.clone())
            .or_else(|| image.stop_signal.clone()),
        stop_timeout: o.stop_timeout,
        healthcheck: healthcheck(image.healthcheck.as_ref(), &o.health),
        volumes: image
            .volumes
            .iter()
            .map(|v| (v.clone(), serde_json::json!({})))
            .collect(),
        domainname: o.domainname.clone().unwrap_or_default(),
        exposed_ports: BTreeMap::new(),
        mac_address: o.mac_address.map(network::format_mac).unwrap_or_default(),
    }
}

/// Docker's `HostConfig`. `Binds` lists the bind and volume mounts in `-v`
/// form (`SRC:DST[:MODE]`), whichever flag gave them.
fn host_config(o: &CreateOptions, network_mode: String) -> HostConfig {
    let mut binds = Vec::new();
    let mut tmpfs = BTreeMap::new();
    for m in o.mounts.iter() {
        let source = match &m.kind {
            MountKind::Bind { source, .. } => source.clone(),
            MountKind::Volume { name, .. } => name.clone().unwrap_or_default(),
            MountKind::Tmpfs { options } => {
                tmpfs.insert(m.target.clone(), options.join(","));
                continue;
            }
        };
        let mut text = if source.is_empty() {
            m.target.clone()
        } else {
            format!("{source}:{}", m.target)
        };
        if !m.mode.is_empty() {
            text = format!("{text}:{}", m.mode);
        }
        binds.push(text);
    }
    let s = &o.security;
    HostConfig {
        binds,
        network_mode,
        restart_policy: o.restart.into(),
        auto_remove: o.auto_remove,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        privileged: s.privileged,
        readonly_rootfs: o.read_only,
        security_opt: s.docker_words(),
        tmpfs,
        memory: o.resources.memory.unwrap_or(0),
        nano_cpus: o.resources.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        pids_limit: o.resources.pids_limit,
        init: o.init.then_some(true),
        runtime: runtime_name(&o.runtime),
        ..HostConfig::default()
    }
}

/// The spec's inputs (user mounts and the init's bind come in the act step).
fn spec_options(
    o: &CreateOptions,
    record: &ContainerRecord,
    argv: Vec<String>,
    network: &NetworkMode,
    context: &PlanContext,
) -> SpecOptions {
    let args = if o.init {
        [crate::init_binary::INIT_PATH.to_string(), "--".to_string()]
            .into_iter()
            .chain(argv)
            .collect()
    } else {
        argv
    };
    let s = &o.security;
    SpecOptions {
        args,
        env: record.config.env.clone(),
        cwd: record.config.working_dir.clone(),
        user: record.config.user.clone(),
        hostname: record.config.hostname.clone(),
        tty: o.tty,
        privileged: s.privileged,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        no_new_privileges: s.no_new_privileges,
        seccomp: match &s.seccomp {
            SeccompProfile::Default => SeccompChoice::Default,
            SeccompProfile::Unconfined => SeccompChoice::Unconfined,
            SeccompProfile::File(path) => SeccompChoice::File(path.clone()),
        },
        read_only: o.read_only,
        memory: o.resources.memory,
        cpus: o.resources.cpus,
        pids_limit: o.resources.pids_limit.filter(|&p| p > 0),
        mounts: Vec::new(),
        network: match network {
            // kiln makes the namespace itself (see `crate::netns`).
            NetworkMode::None => NetworkMode::Join(context.dir.join("netns")),
            other => other.clone(),
        },
        cgroups_path: format!("/kiln/{}", context.id),
        rootfs: context.dir.join("rootfs"),
        annotations: BTreeMap::new(),
        rlimits: o
            .ulimits
            .iter()
            .map(|u| Rlimit {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
        sysctls: o.sysctls.clone(),
        // Resolved on the host by the act step (see `CreatePlan::devices`).
        devices: Vec::new(),
    }
}

/// `kiln` for the embedded runtime, else the name given.
pub(super) fn runtime_name(name: &str) -> String {
    match name {
        "" | "libcontainer" => "kiln".into(),
        other => other.into(),
    }
}

/// The image's healthcheck with the `--health-*` flags applied.
fn healthcheck(image: Option<&serde_json::Value>, flags: &HealthOverrides) -> Option<HealthConfig> {
    if flags.disable {
        return Some(HealthConfig {
            test: vec!["NONE".into()],
            ..HealthConfig::default()
        });
    }
    let mut config: HealthConfig = image
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if let Some(cmd) = &flags.cmd {
        config.test = vec!["CMD-SHELL".into(), cmd.clone()];
    }
    if config.test.is_empty() {
        return None;
    }
    let nanos = |d: Option<std::time::Duration>, old: i64| d.map_or(old, |d| d.as_nanos() as i64);
    config.interval = nanos(flags.interval, config.interval);
    config.timeout = nanos(flags.timeout, config.timeout);
    config.start_period = nanos(flags.start_period, config.start_period);
    config.retries = flags.retries.unwrap_or(config.retries);
    Some(config)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
