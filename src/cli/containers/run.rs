//! `kiln run` and `kiln create`: Docker's flags turned into
//! [`CreateOptions`], then — for `run` — the container started in the
//! foreground (this process is its monitor) or detached (a monitor process).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{ArgAction, Args};
use kiln_image::{ContentStore, ImageIndex};
use kiln_runtime::container::{ContainerStore, RestartPolicy};
use kiln_runtime::lifecycle::{self, CreateOptions, HealthOverrides};
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
    /// Network: none or host.
    #[arg(long, visible_alias = "net", default_value = "none")]
    network: String,
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
        return match lifecycle::start_detached(root, &container) {
            Ok(()) => {
                println!("{}", record.id);
                Ok(())
            }
            Err(message) => {
                let (code, text) = lifecycle::start_error(&message);
                Err(Exit::new(code, &text).into())
            }
        };
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
        Err(message) => {
            let code = kiln_runtime::monitor::start_error_code(&message);
            if create.rm {
                if let Ok(container) = store.get(&record.id) {
                    let _ = lifecycle::remove(root, &store, &container, true, true);
                }
            }
            Err(Exit::new(code, &message).into())
        }
    }
}

/// Resolves the image and creates the container (exit code 125 on failure).
fn create_container(
    root: &Path,
    args: &CreateArgs,
) -> Result<kiln_runtime::container::ContainerRecord> {
    let options = options(root, args).map_err(|e| Exit::new(125, &format!("{e:#}")))?;
    lifecycle::create(root, &options).map_err(|e| Exit::new(125, &e).into())
}

fn options(root: &Path, args: &CreateArgs) -> Result<CreateOptions> {
    let image = resolve_image(root, &args.image)?;
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(read_env_file(file)?);
    }
    env.extend(args.env.iter().cloned());
    let duration = |flag: &str, value: &Option<String>| -> Result<Option<i64>> {
        value
            .as_deref()
            .map(|v| {
                kiln_parser::dockerfile::instructions::parse_go_duration(v)
                    .map(|d| d.as_nanos() as i64)
                    .map_err(|e| anyhow!("invalid argument {v:?} for \"--{flag}\" flag: {e}"))
            })
            .transpose()
    };
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
        restart: RestartPolicy::parse(&args.restart).map_err(|e| anyhow!(e))?,
        auto_remove: args.rm,
        privileged: args.privileged,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        security_opt: args.security_opt.clone(),
        read_only: args.read_only,
        memory: args
            .memory
            .as_deref()
            .map(|v| {
                parse_bytes(v)
                    .map_err(|e| anyhow!("invalid argument {v:?} for \"-m, --memory\" flag: {e}"))
            })
            .transpose()?,
        cpus: args.cpus,
        pids_limit: args.pids_limit.filter(|&p| p > 0),
        volumes: args.volume.clone(),
        mounts: args.mount.clone(),
        tmpfs: args.tmpfs.clone(),
        network: args.network.clone(),
        runtime: args.runtime.clone(),
        stop_signal: args.stop_signal.clone(),
        stop_timeout: args.stop_timeout,
        health: HealthOverrides {
            cmd: args.health_cmd.clone(),
            interval: duration("health-interval", &args.health_interval)?,
            timeout: duration("health-timeout", &args.health_timeout)?,
            start_period: duration("health-start-period", &args.health_start_period)?,
            retries: args.health_retries,
            disable: args.no_healthcheck,
        },
        init: args.init,
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

/// Docker's byte sizes: a number with an optional b, k, m, g suffix (1024-based).
pub fn parse_bytes(text: &str) -> Result<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = match lower.strip_suffix('b') {
        Some(rest) if rest.ends_with(|c: char| c.is_ascii_alphabetic()) => rest.to_string(),
        _ => lower,
    };
    let (number, unit) = match lower
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit() && *c != '.')
    {
        Some((i, _)) => (&lower[..i], &lower[i..]),
        None => (lower.as_str(), ""),
    };
    let multiplier: f64 = match unit {
        "" | "b" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(anyhow!("invalid size: '{text}'")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| anyhow!("invalid size: '{text}'"))?;
    let bytes = value * multiplier;
    // Beyond i64 the value would be clamped: refuse it instead.
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(anyhow!(
            "invalid size: '{text}' (larger than {} bytes)",
            i64::MAX
        ));
    }
    Ok(bytes as i64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("1k").unwrap(), 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("64MB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999999999999").is_err());
        assert!(parse_bytes("9000000000000000000").is_ok());
    }
}
