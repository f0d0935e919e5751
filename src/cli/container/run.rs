//! `kiln run` and `kiln create`: Docker's flags turned into
//! [`CreateOptions`], then — for `run` — the container started in the
//! foreground (this process is its monitor) or detached (a monitor process).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{ArgAction, Args};
use kiln_image::{ContentStore, ImageIndex};
use kiln_parser::values::{self, MountRequest, SecurityOpt};
use kiln_runtime::container::ContainerStore;
use kiln_runtime::lifecycle::{
    self, CreateOptions, HealthOverrides, LogConfig, Resources, SecurityOptions, StopSignal,
};
use kiln_runtime::monitor::{self, Mode};

use super::env_file::read_env_file;
use super::Exit;
use kiln_image::catalog::{resolve_local, Image};
use kiln_runtime::terminal::RawTerminal;

/// Flags shared by `run` and `create` (Docker's names).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Assign a name to the container.
    #[arg(long)]
    name: Option<String>,
    /// Keep STDIN open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    tty: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Set environment variables (KEY=VALUE, or KEY to pass kiln's own).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file")]
    env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Restart policy: no, on-failure[:max-retries], always, unless-stopped.
    #[arg(long, default_value = "no")]
    restart: String,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    init: bool,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout")]
    stop_timeout: Option<i64>,
    /// Bind mount a volume (SRC:DST[:ro|rw], NAME:DST, or DST).
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=,readonly).
    #[arg(long)]
    mount: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS]).
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Connect a container to a network (default: the `bridge` network; none, host, container:NAME|ID, or a network's name).
    #[arg(long, visible_alias = "net")]
    pub(super) network: Option<String>,
    /// Add network-scoped alias for the container.
    #[arg(long = "network-alias", visible_alias = "net-alias")]
    pub(super) network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    pub(super) ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    pub(super) ip6: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33).
    #[arg(long = "mac-address")]
    pub(super) mac_address: Option<String>,
    /// Publish a container's port(s) to the host ([ip:][host[-range]:]container[-range][/proto]).
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub(super) expose: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub(super) dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search")]
    dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    dns_option: Vec<String>,
    /// Container NIS domain name.
    #[arg(long)]
    domainname: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Set metadata on a container (KEY=VALUE).
    #[arg(short = 'l', long = "label")]
    label: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    privileged: bool,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    cap_drop: Vec<String>,
    /// Security options: no-new-privileges, seccomp=unconfined|FILE.
    #[arg(long = "security-opt")]
    security_opt: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    read_only: bool,
    /// Memory limit (e.g. 512m, 1g).
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    cpus: Option<f64>,
    /// Ulimit options (NAME=SOFT[:HARD], e.g. nofile=1024:2048).
    #[arg(long)]
    ulimit: Vec<String>,
    /// Namespaced kernel parameters (NAME=VALUE: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*).
    #[arg(long)]
    sysctl: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER][:rwm]).
    #[arg(long)]
    device: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip; ip may be host-gateway).
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    /// Low-level runtime: kiln (embedded, default), crun, runc or a path.
    #[arg(long, env = "KILN_RUNTIME", default_value = "kiln")]
    runtime: String,
    /// Command to run to check health.
    #[arg(long = "health-cmd")]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h).
    #[arg(long = "health-interval")]
    health_interval: Option<String>,
    /// Maximum time to allow one check to run.
    #[arg(long = "health-timeout")]
    health_timeout: Option<String>,
    /// Start period for the container to initialize.
    #[arg(long = "health-start-period")]
    health_start_period: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries")]
    health_retries: Option<i64>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    /// The image to run.
    image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// `kiln run`: `create` flags plus `-d`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short = 'd', long)]
    detach: bool,
    #[command(flatten)]
    create: CreateArgs,
}

/// `kiln create`: prints the new container's ID.
pub fn create(root: &Path, args: CreateArgs) -> Result<()> {
    let record = create_container(root, &args)?;
    println!("{}", record.id);
    Ok(())
}

/// `kiln run`.
pub fn run(root: &Path, args: RunArgs) -> Result<()> {
    let create = &args.create;
    if args.detach && create.rm && create.restart != "no" {
        return Err(Exit::new(125, "conflicting options: --restart and --rm").into());
    }
    let record = create_container(root, create)?;
    let store = ContainerStore::open(root)?;
    if args.detach {
        let container = store.get(&record.id)?;
        lifecycle::start_detached(root, &container)?;
        println!("{}", record.id);
        return Ok(());
    }
    let stdin = if create.interactive {
        Some(std::io::stdin().as_fd_owned().context("duplicate stdin")?)
    } else {
        None
    };
    let raw = if create.tty && create.interactive {
        RawTerminal::enter()
    } else {
        None
    };
    let outcome = monitor::run(root, &record.id, Mode::Foreground { stdin });
    drop(raw);
    match outcome {
        Ok(code) => Err(Exit::code(code).into()),
        Err(error) => {
            if create.rm {
                if let Ok(container) = store.get(&record.id) {
                    let _ = lifecycle::remove(root, &store, &container, true, true);
                }
            }
            Err(error.into())
        }
    }
}

/// Resolves the image and creates the container (exit code 125 on failure:
/// a bad flag or image here, [`kiln_runtime::Error::exit_code`] there).
fn create_container(
    root: &Path,
    args: &CreateArgs,
) -> Result<kiln_runtime::container::ContainerRecord> {
    let options = options(root, args).map_err(|e| Exit::new(125, &format!("{e:#}")))?;
    let record = lifecycle::create(root, &options)?;
    for warning in lifecycle::network::warnings(&options) {
        eprintln!("WARNING: {warning}");
    }
    Ok(record)
}

/// Docker's flags as typed options (every value through `kiln_parser::values`).
fn options(root: &Path, args: &CreateArgs) -> Result<CreateOptions> {
    let image = resolve_image(root, &args.image)?;
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(read_env_file(file)?);
    }
    env.extend(args.env.iter().cloned());
    let mut ports = Vec::new();
    for spec in &args.publish {
        ports.extend(values::parse_port_spec(spec)?);
    }
    Ok(CreateOptions {
        name: args.name.clone(),
        image: args.image.clone(),
        manifest: image.manifest,
        image_id: image.id.to_string(),
        image_config: image.config.clone(),
        entrypoint: args.entrypoint.clone(),
        args: args.command.clone(),
        env,
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        hostname: args.hostname.clone(),
        tty: args.tty,
        interactive: args.interactive,
        labels: parse_labels(&args.label)?,
        restart: values::parse_restart_policy(&args.restart)?,
        auto_remove: args.rm,
        security: security(args)?,
        read_only: args.read_only,
        resources: Resources {
            memory: args.memory.as_deref().map(memory).transpose()?,
            cpus: args.cpus,
            pids_limit: args.pids_limit.filter(|&p| p > 0),
        },
        mounts: mounts(args)?,
        network: super::run_network::attachment(args)?,
        ports,
        publish_all: args.publish_all,
        expose: super::run_network::expose(&args.expose)?,
        dns: super::run_network::dns(&args.dns)?,
        dns_search: args.dns_search.clone(),
        dns_options: args.dns_option.clone(),
        domainname: args.domainname.clone(),
        mac_address: super::run_network::mac(args.mac_address.as_deref())?,
        runtime: args.runtime.clone(),
        stop_signal: args
            .stop_signal
            .as_deref()
            .map(StopSignal::parse)
            .transpose()?,
        stop_timeout: args.stop_timeout,
        health: health(args)?,
        init: args.init,
        ulimits: map(&args.ulimit, values::parse_ulimit)?,
        sysctls: map(&args.sysctl, values::parse_sysctl)?
            .into_iter()
            .collect(),
        devices: map(&args.device, values::parse_device)?,
        extra_hosts: map(&args.add_host, values::parse_extra_host)?,
        log: LogConfig::default(),
    })
}

/// Each value of a repeated flag through `parse`.
fn map<T>(
    texts: &[String],
    parse: impl Fn(&str) -> Result<T, values::ValueError>,
) -> Result<Vec<T>> {
    Ok(texts.iter().map(|t| parse(t)).collect::<Result<_, _>>()?)
}

/// `-m`: go-units' `RAMInBytes`, with the flag named as Docker's CLI does.
fn memory(v: &str) -> Result<i64> {
    values::ram_in_bytes(v)
        .map_err(|e| anyhow!("invalid argument {v:?} for \"-m, --memory\" flag: {e}"))
}

/// `-v`, then `--mount`, then `--tmpfs`.
fn mounts(args: &CreateArgs) -> Result<Vec<MountRequest>> {
    let mut mounts = Vec::new();
    for v in &args.volume {
        mounts.push(values::parse_volume(v)?);
    }
    for m in &args.mount {
        mounts.push(values::parse_mount(m)?);
    }
    for t in &args.tmpfs {
        mounts.push(values::parse_tmpfs(t)?);
    }
    Ok(mounts)
}

/// `--privileged`, `--cap-*` and every `--security-opt`.
fn security(args: &CreateArgs) -> Result<SecurityOptions> {
    let mut security = SecurityOptions {
        privileged: args.privileged,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        ..SecurityOptions::default()
    };
    for text in &args.security_opt {
        match values::parse_security_opt(text)? {
            SecurityOpt::NoNewPrivileges(on) => security.no_new_privileges = on,
            SecurityOpt::Seccomp(profile) => security.seccomp = profile,
            SecurityOpt::AppArmor(profile) => security.apparmor = Some(profile),
            SecurityOpt::Label(label) => security.labels.push(label),
        }
    }
    Ok(security)
}

/// The `--health-*` flags (durations in Go's syntax).
fn health(args: &CreateArgs) -> Result<HealthOverrides> {
    let duration = |flag: &str, value: &Option<String>| -> Result<_> {
        value
            .as_deref()
            .map(|v| {
                values::parse_go_duration(v)
                    .map_err(|e| anyhow!("invalid argument {v:?} for \"--{flag}\" flag: {e}"))
            })
            .transpose()
    };
    Ok(HealthOverrides {
        cmd: args.health_cmd.clone(),
        interval: duration("health-interval", &args.health_interval)?,
        timeout: duration("health-timeout", &args.health_timeout)?,
        start_period: duration("health-start-period", &args.health_start_period)?,
        retries: args.health_retries,
        disable: args.no_healthcheck,
    })
}

/// The image named `arg`: a reference in the index (fast path: one lookup),
/// else an image ID or prefix.
fn resolve_image(root: &Path, arg: &str) -> Result<Image> {
    let content = ContentStore::new(root)?;
    let index = ImageIndex::new(root)?;
    Ok(resolve_local(&content, &index, arg)?)
}

fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>> {
    Ok(labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect())
}

/// Duplicates a standard stream's descriptor.
trait AsFdOwned {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl AsFdOwned for std::io::Stdin {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}
