//! What a caller asks of [`super::create`]: [`CreateOptions`], typed. The
//! CLI fills it from Docker's flags through `kiln_parser::values`; Compose
//! fills it from a service. Nothing here is a flag string to re-parse.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use kiln_image::Digest;
use kiln_parser::values::{
    DeviceMapping, HostAddress, MountRequest, NetworkAttachment, PortMapping, Protocol,
    RestartPolicy, SeccompProfile, Signal, Ulimit,
};

/// Everything a new container is made from.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// `--name` (`None`: a random name).
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
    /// `-e` and `--env-file` entries, in order (a bare `KEY` takes kiln's own
    /// value, or unsets it).
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u` (`name|uid[:group|gid]`).
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
    /// Capabilities, seccomp, no-new-privileges, AppArmor, SELinux labels.
    pub security: SecurityOptions,
    /// `--read-only`.
    pub read_only: bool,
    /// Memory, CPU and pids limits.
    pub resources: Resources,
    /// `-v`, `--mount` and `--tmpfs`, in that order.
    pub mounts: Vec<MountRequest>,
    /// `--network`.
    pub network: NetworkAttachment,
    /// `-p`: published on the container's first bridge network (discarded
    /// with a warning for `--network host`, as Docker).
    pub ports: Vec<PortMapping>,
    /// `-P`: every exposed port (the image's `ExposedPorts` and `--expose`)
    /// is published on a random host port.
    pub publish_all: bool,
    /// `--expose`: ports added to the image's `ExposedPorts`.
    pub expose: Vec<ExposedPort>,
    /// `--dns`: the container's nameservers (written to `resolv.conf`, or
    /// where the embedded DNS forwards on user-defined networks).
    pub dns: Vec<IpAddr>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--domainname`.
    pub domainname: Option<String>,
    /// `--mac-address` (`None`: derived from the IPv4 address, as Docker).
    pub mac_address: Option<[u8; 6]>,
    /// `--runtime` (`kiln`, `crun`, `runc`, a path).
    pub runtime: String,
    /// `--stop-signal`.
    pub stop_signal: Option<StopSignal>,
    /// `--stop-timeout` in seconds.
    pub stop_timeout: Option<i64>,
    /// `--health-*` overrides and `--no-healthcheck`.
    pub health: HealthOverrides,
    /// `--init`.
    pub init: bool,
    /// `--ulimit`s.
    pub ulimits: Vec<Ulimit>,
    /// `--sysctl`s (namespaced ones; `net.*` refused with `--network host`).
    pub sysctls: BTreeMap<String, String>,
    /// `--device`s (character or block device nodes of the host).
    pub devices: Vec<DeviceMapping>,
    /// `--add-host` entries (`host-gateway`: the gateway of the container's
    /// network, see [`super::plan`]).
    pub extra_hosts: Vec<(String, HostAddress)>,
    /// `--log-driver`/`--log-opt`.
    pub log: LogConfig,
}

/// One exposed container port (`--expose 80`, `--expose 53/udp`, or an
/// image's `ExposedPorts` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExposedPort {
    /// The port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
}

impl ExposedPort {
    /// Parses Docker's `PORT[/PROTO]` (the key of `ExposedPorts`).
    pub fn parse(text: &str) -> Option<ExposedPort> {
        let (port, proto) = text.split_once('/').unwrap_or((text, "tcp"));
        let protocol = match proto.to_ascii_lowercase().as_str() {
            "tcp" | "" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return None,
        };
        let port = port.parse().ok().filter(|&p| p > 0)?;
        Some(ExposedPort { port, protocol })
    }
}

impl std::fmt::Display for ExposedPort {
    /// Docker's `PORT/PROTO`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol.as_str())
    }
}

/// `--stop-signal`: the signal, checked, and its spelling (Docker records
/// `Config.StopSignal` as written: `USR1` stays `USR1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSignal {
    /// The signal.
    pub signal: Signal,
    /// As the user wrote it.
    pub written: String,
}

impl StopSignal {
    /// Parses `text` (a name with or without `SIG`, or a number).
    pub fn parse(text: &str) -> Result<StopSignal, kiln_parser::values::ValueError> {
        Ok(StopSignal {
            signal: kiln_parser::values::parse_signal(text)?,
            written: text.to_string(),
        })
    }
}

/// Privileges and confinement (`--privileged`, `--cap-*`, `--security-opt`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add` names (case-insensitive, `CAP_` optional, `ALL`).
    pub cap_add: Vec<String>,
    /// `--cap-drop` names.
    pub cap_drop: Vec<String>,
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
    /// `seccomp=`.
    pub seccomp: SeccompProfile,
    /// `apparmor=` (recorded; kiln does not confine with AppArmor).
    pub apparmor: Option<String>,
    /// `label=` entries (recorded; kiln does not label for SELinux).
    pub labels: Vec<String>,
}

impl SecurityOptions {
    /// The options as Docker records them in `HostConfig.SecurityOpt`.
    pub fn docker_words(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.no_new_privileges {
            out.push("no-new-privileges".to_string());
        }
        match &self.seccomp {
            SeccompProfile::Default => {}
            SeccompProfile::Unconfined => out.push("seccomp=unconfined".into()),
            SeccompProfile::File(path) => out.push(format!("seccomp={}", path.display())),
        }
        out.extend(self.apparmor.iter().map(|p| format!("apparmor={p}")));
        out.extend(self.labels.iter().map(|l| format!("label={l}")));
        out
    }
}

/// Resource limits (`-m`, `--cpus`, `--pids-limit`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resources {
    /// Memory limit in bytes (at least 6 MiB).
    pub memory: Option<i64>,
    /// CPUs (at least 0.01).
    pub cpus: Option<f64>,
    /// Most processes; `None` (or <= 0): unlimited.
    pub pids_limit: Option<i64>,
}

/// The `--health-*` flags; `None` keeps the image's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthOverrides {
    /// `--health-cmd` (run with `/bin/sh -c`).
    pub cmd: Option<String>,
    /// `--health-interval`.
    pub interval: Option<Duration>,
    /// `--health-timeout`.
    pub timeout: Option<Duration>,
    /// `--health-start-period`.
    pub start_period: Option<Duration>,
    /// `--health-retries`.
    pub retries: Option<i64>,
    /// `--no-healthcheck`.
    pub disable: bool,
}

/// Where a container's output is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The driver; kiln has `json-file` only.
    pub driver: String,
    /// `--log-opt` key/values.
    pub options: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            driver: "json-file".into(),
            options: BTreeMap::new(),
        }
    }
}
