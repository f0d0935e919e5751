//! `kiln network connect` and `disconnect`: attach a running container's
//! network namespace to one more network (interface `eth1`, `eth2`, … the
//! lowest free), or detach it. The namespace is opened at
//! `/proc/<init pid>/ns/net` (checked against the recorded start time so a
//! recycled PID is never joined) and the endpoint lives by the container's
//! monitor, as the endpoints `run` makes do, so the sweep removes it when
//! the monitor is gone.
//!
//! Differences from Docker: only running containers can be connected
//! (Docker also records a network for a stopped container's next start);
//! containers on `host`, `none` or another container's namespace are
//! refused with Docker's messages.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use kiln_runtime::container::process::start_time;
use kiln_runtime::container::{Container, ContainerStore, Status};
use kiln_runtime::lifecycle;
use kiln_runtime::network::attach::{self, AttachRequest};
use kiln_runtime::network::manage::{self, NetworkView};
use kiln_runtime::network::record::{EndpointRecord, NetworkStore};
use kiln_runtime::network::NetworkError;

/// `kiln network connect` flags.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container.
    #[arg(long)]
    alias: Vec<String>,
    /// IPv4 address (e.g. 172.30.100.104).
    #[arg(long)]
    ip: Option<String>,
    /// IPv6 address (e.g. 2001:db8::33).
    #[arg(long)]
    ip6: Option<String>,
    /// The network.
    network: String,
    /// The container.
    container: String,
}

/// `kiln network disconnect` flags.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network (also when the
    /// container no longer exists: its endpoint is removed by name).
    #[arg(short = 'f', long)]
    force: bool,
    /// The network.
    network: String,
    /// The container.
    container: String,
}

/// Runs `kiln network connect`.
pub fn connect(root: &Path, args: ConnectArgs) -> Result<()> {
    let ipv4 = parse_ip::<Ipv4Addr>(args.ip.as_deref(), "--ip", "IPv4")?;
    let ipv6 = parse_ip::<Ipv6Addr>(args.ip6.as_deref(), "--ip6", "IPv6")?;
    let store = ContainerStore::open(root)?;
    let mut container = store.find(&args.container)?;
    lifecycle::reconcile(&store, &mut container);
    check_mode(&container)?;
    let view = manage::inspect(root, &args.network)?;
    check_target(&view)?;
    let endpoints = NetworkStore::open(root)?.endpoints_of(&container.record.id)?;
    if endpoints.iter().any(|e| e.network_id == view.network.id) {
        return Err(NetworkError::AlreadyAttached {
            container: container.record.name.clone(),
            network: view.network.name.clone(),
        }
        .into());
    }
    let netns = open_netns(&container)?;
    let request = AttachRequest {
        network: view.network.id.clone(),
        container_id: container.record.id.clone(),
        container_name: container.record.name.clone(),
        aliases: args.alias,
        ipv4,
        ipv6,
        mac: None,
        ports: Vec::new(),
        dns_servers: endpoints
            .first()
            .map(|e| e.dns_servers.clone())
            .unwrap_or_default(),
        interface: next_interface(&endpoints),
        holder_pid: container.state.monitor_pid,
    };
    attach::attach(root, &netns, &request)?;
    Ok(())
}

/// Runs `kiln network disconnect`.
pub fn disconnect(root: &Path, args: DisconnectArgs) -> Result<()> {
    let view = manage::inspect(root, &args.network)?;
    if view.network.driver == "host" {
        bail!("container cannot be disconnected from host network or connected to host network");
    }
    let store = ContainerStore::open(root)?;
    let (id, name) = match store.find(&args.container) {
        Ok(c) => (c.record.id, c.record.name),
        Err(e) => match by_name(&view, &args.container) {
            Some(endpoint) if args.force => (
                endpoint.container_id.clone(),
                endpoint.container_name.clone(),
            ),
            _ => return Err(e.into()),
        },
    };
    attach::disconnect(root, &view.network.id, &id, &name)?;
    Ok(())
}

/// The endpoint of the container named `name` on the network (for `-f`).
fn by_name<'v>(view: &'v NetworkView, name: &str) -> Option<&'v EndpointRecord> {
    let name = name.strip_prefix('/').unwrap_or(name);
    view.endpoints.iter().find(|e| e.container_name == name)
}

/// Parses `--ip`/`--ip6`.
fn parse_ip<T: std::str::FromStr>(text: Option<&str>, flag: &str, kind: &str) -> Result<Option<T>> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => match text.parse() {
            Ok(ip) => Ok(Some(ip)),
            Err(_) => bail!("invalid {flag} {text:?}: not an {kind} address"),
        },
    }
}

/// Refuses containers whose namespace is not theirs to attach, and
/// containers that are not running.
fn check_mode(c: &Container) -> Result<()> {
    let mode = c.record.host_config.network_mode.as_str();
    if mode == "host" {
        bail!("container cannot be disconnected from host network or connected to host network");
    }
    if mode == "none" {
        bail!("container cannot be connected to multiple networks with one of the networks in private (none) mode");
    }
    if mode.starts_with("container:") {
        bail!("container sharing network namespace with another container or host cannot be connected to any other network");
    }
    if c.state.status != Status::Running || c.state.pid == 0 || c.state.monitor_pid == 0 {
        bail!(
            "container {} is not running: kiln connects running containers only",
            c.record.name
        );
    }
    Ok(())
}

/// Refuses connecting to the `host` and `none` networks (Docker's words).
fn check_target(view: &NetworkView) -> Result<()> {
    match view.network.driver.as_str() {
        "host" => bail!(
            "container cannot be disconnected from host network or connected to host network"
        ),
        "null" => bail!(
            "container cannot be connected to multiple networks with one of the networks in private (none) mode"
        ),
        _ => Ok(()),
    }
}

/// Opens the container's network namespace, making sure the PID still
/// names the container's init before and after the open.
fn open_netns(c: &Container) -> Result<File> {
    let pid = c.state.pid;
    let same = || start_time(pid) == Some(c.state.pid_start);
    if !same() {
        bail!("container {} is not running", c.record.name);
    }
    let path = format!("/proc/{pid}/ns/net");
    let file = File::open(&path).with_context(|| format!("open {path}"))?;
    if !same() {
        bail!("container {} is not running", c.record.name);
    }
    Ok(file)
}

/// The lowest `ethN` none of the container's endpoints uses.
pub fn next_interface(endpoints: &[EndpointRecord]) -> String {
    (0..)
        .map(|n| format!("eth{n}"))
        .find(|name| endpoints.iter().all(|e| &e.interface != name))
        .unwrap_or_else(|| "eth0".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(interface: &str) -> EndpointRecord {
        EndpointRecord {
            network_id: String::new(),
            container_id: String::new(),
            container_name: String::new(),
            endpoint_id: String::new(),
            interface: interface.into(),
            host_veth: String::new(),
            mac: String::new(),
            ipv4: None,
            ipv6: None,
            aliases: vec![],
            ports: vec![],
            dns_servers: vec![],
            holder_pid: 0,
            holder_start: 0,
        }
    }

    #[test]
    fn interfaces_take_the_lowest_free_number() {
        assert_eq!(next_interface(&[]), "eth0");
        assert_eq!(next_interface(&[endpoint("eth0")]), "eth1");
        assert_eq!(
            next_interface(&[endpoint("eth0"), endpoint("eth2")]),
            "eth1"
        );
    }

    #[test]
    fn ip_flags_are_checked() {
        assert_eq!(
            parse_ip::<Ipv4Addr>(Some("10.0.0.300"), "--ip", "IPv4")
                .unwrap_err()
                .to_string(),
            "invalid --ip \"10.0.0.300\": not an IPv4 address"
        );
        let ip = parse_ip::<Ipv6Addr>(Some("fd00::5"), "--ip6", "IPv6").unwrap();
        assert_eq!(ip, Some("fd00::5".parse().unwrap()));
    }
}
