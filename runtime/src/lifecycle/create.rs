//! `create`: from an image and run options to a container in status
//! `created`: record, writable snapshot, volumes, `/etc` files and the OCI
//! bundle. Nothing runs yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_image::{ContentStore, Digest};
use kiln_snapshotter::{unpack, Labels};

use crate::container::{
    new_id, random_name, ContainerConfig, ContainerError, ContainerRecord, ContainerStore,
    HealthConfig, HostConfig, MountPoint, RestartPolicy,
};
use crate::spec::{self, ImageDefaults, MountSpec, NetworkMode, SeccompChoice, SpecOptions};
use crate::volumes::{self, VolumeStore};
use crate::{init_layer, rootfs};

/// What `kiln run`/`kiln create` asks for (Docker's flags, parsed).
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// `--name`.
    pub name: Option<String>,
    /// The image as the user wrote it.
    pub image: String,
    /// Its manifest digest in the content store.
    pub manifest: Digest,
    /// Its ID (`sha256:` + config digest).
    pub image_id: String,
    /// Its config document (JSON).
    pub image_config: serde_json::Value,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    /// Arguments after the image.
    pub args: Vec<String>,
    /// `-e` and `--env-file` entries, in order.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--hostname` (default: the short ID).
    pub hostname: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// `-l`.
    pub labels: BTreeMap<String, String>,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus`.
    pub cpus: Option<f64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `-v` specs.
    pub volumes: Vec<String>,
    /// `--mount` specs.
    pub mounts: Vec<String>,
    /// `--tmpfs` specs (`/path[:options]`).
    pub tmpfs: Vec<String>,
    /// `--network`: `none` or `host`.
    pub network: String,
    /// `--runtime`.
    pub runtime: String,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout`.
    pub stop_timeout: Option<i64>,
    /// `--health-*` overrides and `--no-healthcheck`.
    pub health: HealthOverrides,
    /// `--init`.
    pub init: bool,
}

/// The `--health-*` flags; `None` keeps the image's value.
#[derive(Debug, Clone, Default)]
pub struct HealthOverrides {
    /// `--health-cmd` (run with `/bin/sh -c`).
    pub cmd: Option<String>,
    /// `--health-interval` in ns.
    pub interval: Option<i64>,
    /// `--health-timeout` in ns.
    pub timeout: Option<i64>,
    /// `--health-start-period` in ns.
    pub start_period: Option<i64>,
    /// `--health-retries`.
    pub retries: Option<i64>,
    /// `--no-healthcheck`.
    pub disable: bool,
}

/// Creates the container; returns it. Errors are one line; on error nothing
/// of the container is left (record, snapshot, anonymous volumes).
///
/// Safe to call from several threads at once: the root filesystem is
/// mounted in the calling thread's private mount namespace
/// ([`rootfs::enter_private_mount_namespace`]), never in the host's; it stays
/// mounted there (a foreground run on the same thread reuses it) until the
/// container is removed or the thread ends.
pub fn create(root: &Path, options: &CreateOptions) -> Result<ContainerRecord, String> {
    let store = ContainerStore::open(root).map_err(|e| e.to_string())?;
    let content = ContainerStore::content(root)?;
    let image = ImageDefaults::from_image_config(&options.image_config);
    let argv = spec::resolve_args(&image, options.entrypoint.as_deref(), &options.args)
        .map_err(|e| e.to_string())?;
    spec::check_env("-e", &options.env, true).map_err(|e| e.to_string())?;
    spec::check_env("image config Env", &image.env, false).map_err(|e| e.to_string())?;
    let network = match options.network.as_str() {
        "" | "none" | "default" => NetworkMode::None,
        "host" => NetworkMode::Host,
        other => {
            return Err(format!(
                "network {other} not found: kiln supports --network none and host (bridge networks are not built yet)"
            ))
        }
    };
    let seccomp = parse_security_opts(&options.security_opt)?;
    let id = new_id().map_err(|e| format!("new container ID: {e}"))?;
    let hostname = options
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12].to_string());
    // Every mount below (the overlay probe of a new root included) stays
    // in this thread's private namespace (see the function's docs).
    rootfs::enter_private_mount_namespace().map_err(|e| format!("private mount namespace: {e}"))?;
    let snapshotter = rootfs::open_snapshotter(root, None)?;
    let record = ContainerRecord {
        id: id.clone(),
        name: String::new(),
        created: {
            let (secs, nanos) = kiln_image::time::now();
            kiln_image::time::format_rfc3339_nanos(secs, nanos)
        },
        image_id: options.image_id.clone(),
        manifest: options.manifest.to_string(),
        path: argv[0].clone(),
        args: argv[1..].to_vec(),
        config: ContainerConfig {
            hostname: hostname.clone(),
            user: options.user.clone().unwrap_or_else(|| image.user.clone()),
            tty: options.tty,
            open_stdin: options.interactive,
            env: spec::merge_env(&image.env, &options.env, &hostname, options.tty),
            cmd: if options.entrypoint.is_some() || !options.args.is_empty() {
                (!options.args.is_empty()).then(|| options.args.clone())
            } else {
                image.cmd.clone()
            },
            image: options.image.clone(),
            working_dir: options
                .workdir
                .clone()
                .unwrap_or_else(|| image.working_dir.clone()),
            entrypoint: match options.entrypoint.as_deref() {
                Some("") => None,
                Some(e) => Some(vec![e.to_string()]),
                None => image.entrypoint.clone(),
            },
            labels: {
                let mut labels = image.labels.clone();
                labels.extend(options.labels.clone());
                labels
            },
            stop_signal: options
                .stop_signal
                .clone()
                .or_else(|| image.stop_signal.clone()),
            stop_timeout: options.stop_timeout,
            healthcheck: healthcheck(image.healthcheck.as_ref(), &options.health),
            volumes: image
                .volumes
                .iter()
                .map(|v| (v.clone(), serde_json::json!({})))
                .collect(),
        },
        host_config: HostConfig {
            binds: options.volumes.clone(),
            network_mode: match network {
                NetworkMode::Host => "host".into(),
                _ => "none".into(),
            },
            restart_policy: options.restart.clone(),
            auto_remove: options.auto_remove,
            cap_add: options.cap_add.clone(),
            cap_drop: options.cap_drop.clone(),
            privileged: options.privileged,
            readonly_rootfs: options.read_only,
            security_opt: options.security_opt.clone(),
            tmpfs: options
                .tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((d, o)) => (d.to_string(), o.to_string()),
                    None => (t.clone(), String::new()),
                })
                .collect(),
            memory: options.memory.unwrap_or(0),
            nano_cpus: options.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            pids_limit: options.pids_limit,
            init: options.init.then_some(true),
            runtime: runtime_name(&options.runtime),
        },
        mounts: Vec::new(),
        runtime: runtime_name(&options.runtime),
        snapshotter: snapshotter.name().to_string(),
        snapshot_key: format!("container-{id}"),
    };
    let mut record = claim_name(&store, record, options.name.as_deref())?;
    let dir = store.dir(&id);
    let result = (|| {
        let chain = unpack(&content, &options.manifest, snapshotter.as_ref())
            .map_err(|e| format!("unpack image: {e}"))?;
        // Docker's init layer between the image and the container's layer.
        let init = init_layer::snapshot::init_snapshot(
            snapshotter.as_ref(),
            &chain,
            &dir.join("init-rootfs"),
        )
        .map_err(|e| e.to_string())?;
        snapshotter
            .prepare(&record.snapshot_key, Some(&init), &Labels::new())
            .map_err(|e| format!("prepare root filesystem: {e}"))?;
        let rootfs_dir = dir.join("rootfs");
        rootfs::mount_snapshot(snapshotter.as_ref(), &record.snapshot_key, &rootfs_dir)?;
        let (mut mounts, points) = resolve_mounts(root, options, &image, &rootfs_dir)?;
        spec::resolve_destinations(&rootfs_dir, &mut mounts).map_err(|e| e.to_string())?;
        record.mounts = points;
        let mut all_mounts =
            spec::etc_files(&dir.join("etc"), &hostname, &network).map_err(|e| e.to_string())?;
        all_mounts.extend(mounts);
        let mut process_args = argv.clone();
        if options.init {
            let init =
                crate::init_binary::install(root).map_err(|e| format!("install init: {e}"))?;
            all_mounts.push(MountSpec::Bind {
                source: init,
                destination: crate::init_binary::INIT_PATH.into(),
                read_only: true,
            });
            process_args = [crate::init_binary::INIT_PATH.to_string(), "--".to_string()]
                .into_iter()
                .chain(argv.iter().cloned())
                .collect();
        }
        let spec_options = SpecOptions {
            args: process_args,
            env: record.config.env.clone(),
            cwd: record.config.working_dir.clone(),
            user: record.config.user.clone(),
            hostname: hostname.clone(),
            tty: options.tty,
            privileged: options.privileged,
            cap_add: options.cap_add.clone(),
            cap_drop: options.cap_drop.clone(),
            no_new_privileges: options.security_opt.iter().any(|o| {
                matches!(
                    o.as_str(),
                    "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
                )
            }),
            seccomp,
            read_only: options.read_only,
            memory: options.memory,
            cpus: options.cpus,
            pids_limit: options.pids_limit,
            mounts: all_mounts,
            network: match network {
                // kiln makes the namespace itself (see `crate::netns`).
                NetworkMode::None => NetworkMode::Join(dir.join("netns")),
                other => other,
            },
            cgroups_path: format!("/kiln/{id}"),
            rootfs: rootfs_dir.clone(),
            annotations: BTreeMap::new(),
        };
        let spec = spec::build_spec(&spec_options).map_err(|e| e.to_string())?;
        ensure_workdir(&rootfs_dir, &record.config.working_dir, &spec)?;
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle)
            .map_err(|e| format!("create {}: {e}", bundle.display()))?;
        spec.save(bundle.join("config.json"))
            .map_err(|e| format!("write bundle: {e}"))?;
        store.save_record(&record).map_err(|e| e.to_string())
    })();
    if let Err(message) = result {
        let _ = rootfs::unmount(&dir.join("rootfs"));
        let _ = snapshotter.remove(&record.snapshot_key);
        remove_anonymous_volumes(root, &record);
        let _ = store.remove_dir(&id);
        return Err(message);
    }
    Ok(record)
}

fn runtime_name(name: &str) -> String {
    match name {
        "" | "libcontainer" => "kiln".into(),
        other => other.into(),
    }
}

/// Picks the container's name (given, or random with a numeric suffix when
/// taken) and adds the record to the store.
fn claim_name(
    store: &ContainerStore,
    mut record: ContainerRecord,
    name: Option<&str>,
) -> Result<ContainerRecord, String> {
    if let Some(name) = name {
        record.name = name.strip_prefix('/').unwrap_or(name).to_string();
        store.create(&record).map_err(|e| e.to_string())?;
        return Ok(record);
    }
    let base = random_name(&record.id);
    for attempt in 0..1000 {
        record.name = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}{attempt}")
        };
        match store.create(&record) {
            Ok(()) => return Ok(record),
            Err(ContainerError::NameInUse { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("no free container name".into())
}

fn parse_security_opts(options: &[String]) -> Result<SeccompChoice, String> {
    let mut seccomp = SeccompChoice::Default;
    for option in options {
        let (key, value) = option
            .split_once(['=', ':'])
            .unwrap_or((option.as_str(), ""));
        match (key, value) {
            ("no-new-privileges", "" | "true" | "false") => {}
            ("seccomp", "unconfined") => seccomp = SeccompChoice::Unconfined,
            ("seccomp", path) if !path.is_empty() => {
                seccomp = SeccompChoice::File(PathBuf::from(path))
            }
            ("label" | "apparmor", _) => {}
            _ => return Err(format!("invalid --security-opt: {option:?}")),
        }
    }
    Ok(seccomp)
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
    config.interval = flags.interval.unwrap_or(config.interval);
    config.timeout = flags.timeout.unwrap_or(config.timeout);
    config.start_period = flags.start_period.unwrap_or(config.start_period);
    config.retries = flags.retries.unwrap_or(config.retries);
    Some(config)
}

/// Turns `-v`, `--mount`, `--tmpfs` and the image's VOLUMEs into spec mounts
/// and Docker's `Mounts` entries, creating volumes (with copy-up) and missing
/// bind sources (as `-v` does).
fn resolve_mounts(
    root: &Path,
    options: &CreateOptions,
    image: &ImageDefaults,
    rootfs_dir: &Path,
) -> Result<(Vec<MountSpec>, Vec<MountPoint>), String> {
    let volumes = VolumeStore::open(root)?;
    let mut specs = Vec::new();
    let mut points: Vec<MountPoint> = Vec::new();
    let mut wanted: Vec<(String, String, String, bool, Vec<String>)> = Vec::new(); // kind, source, dest, ro, opts
    for text in &options.volumes {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, dest, mode) = match parts.as_slice() {
            [dest] => ("", *dest, ""),
            [source, dest] => (*source, *dest, ""),
            [source, dest, mode] => (*source, *dest, *mode),
            _ => return Err(format!("invalid volume specification: '{text}'")),
        };
        let modes: Vec<String> = mode
            .split(',')
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect();
        spec::check_destination("-v", text, dest).map_err(|e| e.to_string())?;
        spec::check_volume_modes(text, &modes).map_err(|e| e.to_string())?;
        let read_only = modes.iter().any(|m| m == "ro");
        let kind = if source.is_empty() {
            "anonymous"
        } else if source.starts_with('/') {
            "bind"
        } else {
            "volume"
        };
        wanted.push((kind.into(), source.into(), dest.into(), read_only, modes));
    }
    for text in &options.mounts {
        let mut kind = "volume".to_string();
        let (mut source, mut dest, mut read_only) = (String::new(), String::new(), false);
        let mut tmpfs_opts = Vec::new();
        for field in text.split(',') {
            let (k, v) = field.split_once('=').unwrap_or((field, "true"));
            match k {
                "type" => kind = v.to_string(),
                "source" | "src" => source = v.to_string(),
                "target" | "destination" | "dst" => dest = v.to_string(),
                "readonly" | "ro" => read_only = v != "false" && v != "0",
                "tmpfs-size" => tmpfs_opts.push(format!("size={v}")),
                "tmpfs-mode" => tmpfs_opts.push(format!("mode={v}")),
                "bind-propagation" | "volume-nocopy" | "consistency" => {}
                _ => return Err(format!("invalid field '{k}' in --mount {text}")),
            }
        }
        if dest.is_empty() {
            return Err(format!("invalid --mount {text}: target is required"));
        }
        spec::check_destination("--mount", text, &dest).map_err(|e| e.to_string())?;
        if kind == "tmpfs" {
            spec::check_tmpfs(text, &dest, &tmpfs_opts).map_err(|e| e.to_string())?;
        }
        match kind.as_str() {
            "bind" => {
                if !Path::new(&source).exists() {
                    return Err(format!("invalid mount config for type \"bind\": bind source path does not exist: {source}"));
                }
                wanted.push(("bind".into(), source, dest, read_only, vec![]));
            }
            "volume" => {
                let kind = if source.is_empty() {
                    "anonymous"
                } else {
                    "volume"
                };
                wanted.push((kind.into(), source, dest, read_only, vec![]));
            }
            "tmpfs" => wanted.push(("tmpfs".into(), String::new(), dest, false, tmpfs_opts)),
            other => return Err(format!("invalid --mount {text}: unknown type {other:?}")),
        }
    }
    for text in &options.tmpfs {
        let (dest, opts) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let opts = opts
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect::<Vec<_>>();
        spec::check_tmpfs(text, dest, &opts).map_err(|e| e.to_string())?;
        wanted.push(("tmpfs".into(), String::new(), dest.into(), false, opts));
    }
    for dest in &image.volumes {
        if !wanted
            .iter()
            .any(|w| w.2.trim_end_matches('/') == dest.trim_end_matches('/'))
        {
            wanted.push((
                "anonymous".into(),
                String::new(),
                dest.clone(),
                false,
                vec![],
            ));
        }
    }
    for (kind, source, dest, read_only, opts) in wanted {
        match kind.as_str() {
            "bind" => {
                let path = PathBuf::from(&source);
                if !path.exists() {
                    std::fs::create_dir_all(&path)
                        .map_err(|e| format!("create bind source {source}: {e}"))?;
                }
                specs.push(MountSpec::Bind {
                    source: path,
                    destination: dest.clone(),
                    read_only,
                });
                points.push(MountPoint {
                    kind: "bind".into(),
                    source,
                    destination: dest,
                    mode: opts.join(","),
                    rw: !read_only,
                    ..MountPoint::default()
                });
            }
            "volume" | "anonymous" => {
                let anonymous = kind == "anonymous";
                let name = if anonymous {
                    new_id().map_err(|e| e.to_string())?
                } else {
                    source
                };
                let (volume, _) = volumes.ensure(&name, BTreeMap::new(), anonymous)?;
                if !opts.iter().any(|o| o == "nocopy") {
                    let inside =
                        spec::resolve_in_rootfs(rootfs_dir, &dest).map_err(|e| e.to_string())?;
                    volumes::copy_up(&inside, Path::new(&volume.mountpoint))?;
                }
                specs.push(MountSpec::Bind {
                    source: PathBuf::from(&volume.mountpoint),
                    destination: dest.clone(),
                    read_only,
                });
                points.push(MountPoint {
                    kind: "volume".into(),
                    name,
                    source: volume.mountpoint,
                    destination: dest,
                    mode: opts.join(","),
                    rw: !read_only,
                });
            }
            _ => {
                specs.push(MountSpec::Tmpfs {
                    destination: dest.clone(),
                    options: opts.clone(),
                });
                points.push(MountPoint {
                    kind: "tmpfs".into(),
                    destination: dest,
                    mode: opts.join(","),
                    rw: true,
                    ..MountPoint::default()
                });
            }
        }
    }
    Ok((specs, points))
}

/// Creates the working directory in the root filesystem if missing, owned by
/// the container's user (as Docker does at start).
fn ensure_workdir(
    rootfs_dir: &Path,
    workdir: &str,
    spec: &oci_spec::runtime::Spec,
) -> Result<(), String> {
    if workdir.is_empty() || workdir == "/" {
        return Ok(());
    }
    let path = spec::resolve_in_rootfs(rootfs_dir, workdir).map_err(|e| e.to_string())?;
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&path)
        .map_err(|e| format!("create working directory {workdir}: {e}"))?;
    if let Some(process) = spec.process() {
        let user = process.user();
        let _ = std::os::unix::fs::chown(&path, Some(user.uid()), Some(user.gid()));
    }
    Ok(())
}

/// Removes the anonymous volumes of `record`.
pub fn remove_anonymous_volumes(root: &Path, record: &ContainerRecord) {
    let Ok(volumes) = VolumeStore::open(root) else {
        return;
    };
    for point in &record.mounts {
        if point.kind == "volume" && volumes.get(&point.name).is_some_and(|v| v.anonymous) {
            let _ = volumes.remove(&point.name);
        }
    }
}

impl ContainerStore {
    /// The content store of the same kiln root.
    pub(crate) fn content(root: &Path) -> Result<ContentStore, String> {
        ContentStore::new(root).map_err(|e| e.to_string())
    }
}
