//! What a container *is*: the record written once when it is created
//! (`<root>/containers/<id>/config.json`). Field names follow Docker's inspect
//! JSON (`Config`, `HostConfig`, `Mounts`) so the CLI can show them as they are.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use kiln_parser::values;
use serde::{Deserialize, Serialize};

/// The container's definition: image, command, options. Never changes after
/// `create` (what changes is [`crate::container::State`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRecord {
    /// 64-hex ID.
    pub id: String,
    /// Name without Docker's leading `/`.
    pub name: String,
    /// Creation time, RFC 3339 with nanoseconds.
    pub created: String,
    /// Image ID (`sha256:` + config digest).
    pub image_id: String,
    /// The image's manifest digest in the content store.
    pub manifest: String,
    /// The program run (first element of the final argv).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Docker's `Config`.
    pub config: ContainerConfig,
    /// Docker's `HostConfig`.
    pub host_config: HostConfig,
    /// Docker's `Mounts`: volumes, binds and tmpfs as resolved at create time.
    pub mounts: Vec<MountPoint>,
    /// Low-level runtime name (`kiln`, `crun`, `runc`, or a path).
    pub runtime: String,
    /// Snapshotter holding the root filesystem (`overlay` or `native`).
    pub snapshotter: String,
    /// Key of the active snapshot that is the writable root filesystem.
    pub snapshot_key: String,
    /// The endpoint settings asked for, by network name (Docker's
    /// `NetworkingConfig.EndpointsConfig`): every start attaches the same way.
    #[serde(default)]
    pub endpoints_config: BTreeMap<String, EndpointConfig>,
}

/// What a container asked of one network (`--network-alias`, `--ip`,
/// `--ip6`, `--mac-address`), as Docker's `EndpointSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfig {
    /// `--network-alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`.
    #[serde(default, rename = "IPv4Address")]
    pub ipv4_address: Option<Ipv4Addr>,
    /// `--ip6`.
    #[serde(default, rename = "IPv6Address")]
    pub ipv6_address: Option<Ipv6Addr>,
    /// `--mac-address` (empty: derived from the address).
    #[serde(default)]
    pub mac_address: String,
}

/// One host side of a published port, as Docker's `PortBindings` holds it:
/// what was asked (an empty port is a random one at each start).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    /// The host address (empty: every address).
    pub host_ip: String,
    /// The host port or range (empty: a random free port).
    pub host_port: String,
}

/// Docker's `Config` of a container.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// Hostname inside the container.
    pub hostname: String,
    /// `--user` or the image's USER.
    pub user: String,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// Final environment.
    pub env: Vec<String>,
    /// CMD part of the argv.
    pub cmd: Option<Vec<String>>,
    /// The image reference as the user wrote it.
    pub image: String,
    /// Working directory.
    pub working_dir: String,
    /// ENTRYPOINT part of the argv.
    pub entrypoint: Option<Vec<String>>,
    /// Labels (image labels overlaid with `-l`).
    pub labels: BTreeMap<String, String>,
    /// Signal `stop` sends first (name like `SIGTERM` or a number).
    pub stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL (`None`: 10).
    pub stop_timeout: Option<i64>,
    /// Healthcheck (image's, overridden by `--health-*`).
    pub healthcheck: Option<HealthConfig>,
    /// Mount points declared by the image's VOLUME.
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// `--domainname`.
    #[serde(default)]
    pub domainname: String,
    /// The image's `ExposedPorts`, `--expose` and the published ports
    /// (`"80/tcp": {}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// `--mac-address` (Docker 20.10 keeps it here).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
}

/// A healthcheck as Docker stores it: durations in nanoseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]`.
    pub test: Vec<String>,
    /// Between checks (0: 30 s).
    #[serde(default)]
    pub interval: i64,
    /// Per check (0: 30 s).
    #[serde(default)]
    pub timeout: i64,
    /// Grace period after start in which failures don't count (0: none).
    #[serde(default)]
    pub start_period: i64,
    /// Consecutive failures that make the container unhealthy (0: 3).
    #[serde(default)]
    pub retries: i64,
}

/// Docker's `HostConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    /// The bind and volume mounts asked for, in `-v` form (`SRC:DST[:MODE]`).
    pub binds: Vec<String>,
    /// `default` (no `--network`: the predefined `bridge` network), `none`,
    /// `host`, `container:<full ID>`, or a network's name.
    pub network_mode: String,
    /// `-p`: `"80/tcp" -> [{HostIp, HostPort}]`, as asked.
    #[serde(default)]
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// `-P`.
    #[serde(default)]
    pub publish_all_ports: bool,
    /// `--dns`.
    #[serde(default)]
    pub dns: Vec<String>,
    /// `--dns-search`.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host`, as `NAME:IP` or `NAME:host-gateway`.
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// `--restart`.
    pub restart_policy: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `--security-opt`, in Docker's words (`no-new-privileges`, `seccomp=…`).
    pub security_opt: Vec<String>,
    /// `--tmpfs` destination -> options.
    pub tmpfs: BTreeMap<String, String>,
    /// `--memory` in bytes (0: unlimited).
    pub memory: i64,
    /// `--cpus` × 10⁹ (0: unlimited).
    pub nano_cpus: i64,
    /// `--pids-limit` (`None`: unlimited).
    pub pids_limit: Option<i64>,
    /// `--init`.
    pub init: Option<bool>,
    /// Low-level runtime.
    pub runtime: String,
}

/// `--restart` policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// For `on-failure:N`: the most restarts (0: no limit).
    pub maximum_retry_count: u32,
}

impl RestartPolicy {
    /// The typed policy this record holds (`no` for an unknown name).
    pub fn policy(&self) -> values::RestartPolicy {
        match self.name.as_str() {
            "always" => values::RestartPolicy::Always,
            "unless-stopped" => values::RestartPolicy::UnlessStopped,
            "on-failure" => values::RestartPolicy::OnFailure {
                max_retries: self.maximum_retry_count,
            },
            _ => values::RestartPolicy::No,
        }
    }

    /// Whether a container that exited with `exit_code` after `restarts`
    /// restarts, and was (`stopped_by_user`) stopped with `kiln stop`/`kill`.
    pub fn should_restart(&self, exit_code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self.policy() {
            values::RestartPolicy::Always | values::RestartPolicy::UnlessStopped => true,
            values::RestartPolicy::OnFailure { max_retries } => {
                exit_code != 0 && (max_retries == 0 || restarts < max_retries)
            }
            values::RestartPolicy::No => false,
        }
    }
}

impl From<values::RestartPolicy> for RestartPolicy {
    fn from(policy: values::RestartPolicy) -> RestartPolicy {
        RestartPolicy {
            name: policy.name().to_string(),
            maximum_retry_count: match policy {
                values::RestartPolicy::OnFailure { max_retries } => max_retries,
                _ => 0,
            },
        }
    }
}

/// One entry of Docker's `Mounts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volume name (volumes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host path (binds and volumes).
    pub source: String,
    /// Path inside the container.
    pub destination: String,
    /// Options as given (`ro`, `z`, tmpfs options).
    pub mode: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RestartPolicy, kiln_parser::values::ValueError> {
        values::parse_restart_policy(text).map(RestartPolicy::from)
    }

    #[test]
    fn restart_policies_round_trip() {
        let p = parse("on-failure:3").unwrap();
        assert_eq!((p.name.as_str(), p.maximum_retry_count), ("on-failure", 3));
        assert_eq!(
            p.policy(),
            values::RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(parse("").unwrap().name, "no");
        assert_eq!(
            parse("unless-stopped").unwrap().policy().name(),
            "unless-stopped"
        );
    }

    #[test]
    fn restart_decisions() {
        let always = parse("always").unwrap();
        assert!(always.should_restart(0, 100, false));
        assert!(!always.should_restart(0, 0, true));
        let on_failure = parse("on-failure:2").unwrap();
        assert!(!on_failure.should_restart(0, 0, false));
        assert!(on_failure.should_restart(1, 1, false));
        assert!(!on_failure.should_restart(1, 2, false));
        assert!(!parse("no").unwrap().should_restart(1, 0, false));
    }
}
