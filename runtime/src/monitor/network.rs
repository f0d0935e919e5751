//! The monitor's share of networking: before the container's first start it
//! makes (or joins) the network namespace, attaches it to its bridge
//! network, writes `/etc/hosts` and `/etc/resolv.conf` with the address now
//! known, and serves the container's DNS on user-defined networks; when the
//! monitor ends, it detaches. Restarts by policy keep the namespace and the
//! attachment (Docker keeps a container's sandbox across restarts).
//!
//! Nothing is loaded for `none` and `host`: the monitor stays small.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::container::{ContainerRecord, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::lifecycle::network::{self as plan, is_bridge_mode, network_name};
use crate::network::attach::{self, AttachRequest, Attachment};
use crate::network::dns::{self, Responder};
use crate::network::etc::{self, Resolver};
use crate::network::{manage, NetworkError};

/// The host's resolver configuration (the base of a container's).
const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// A container's network while its monitor lives.
pub(super) struct Networking {
    root: PathBuf,
    container_id: String,
    /// Holds the published ports' sockets; detached on drop.
    attachments: Vec<Attachment>,
    /// The embedded DNS (user-defined networks).
    dns: Option<Responder>,
}

/// Makes the namespace at `<dir>/netns` ready for the container's first
/// start; returns the attachment to keep for bridge networks.
pub(super) fn prepare(
    root: &Path,
    record: &ContainerRecord,
    dir: &Path,
) -> Result<Option<Networking>> {
    let mode = record.host_config.network_mode.as_str();
    let netns = dir.join("netns");
    if mode == "host" {
        return Ok(None);
    }
    if let Some(other) = mode.strip_prefix("container:") {
        join_container(root, other, dir)?;
        return Ok(None);
    }
    crate::netns::ensure(&netns).map_err(|e| Error::io("network namespace", e))?;
    if !is_bridge_mode(mode) {
        return Ok(None);
    }
    let mut networking = Networking {
        root: root.to_path_buf(),
        container_id: record.id.clone(),
        attachments: Vec::new(),
        dns: None,
    };
    // On error, `networking` is dropped here and detaches what was made.
    networking.attach(record, dir, &netns)?;
    Ok(Some(networking))
}

impl Networking {
    /// Attaches the namespace to the record's network, writes the `/etc`
    /// files and binds the DNS responder.
    fn attach(&mut self, record: &ContainerRecord, dir: &Path, netns_path: &Path) -> Result<()> {
        let mode = record.host_config.network_mode.as_str();
        let name = network_name(mode);
        let network = if name == "bridge" {
            manage::ensure_predefined(&self.root)?.name
        } else {
            name.to_string()
        };
        let request = attach_request(record, name, network);
        let dns_servers = request.dns_servers.clone();
        let netns = File::open(netns_path)
            .map_err(|e| Error::io(format!("open {}", netns_path.display()), e))?;
        let attachment = attach::attach(&self.root, &netns, &request)?;
        let embedded = attachment.network.dns;
        write_etc_files(record, dir, &attachment)?;
        self.attachments.push(attachment);
        if embedded {
            let host = std::fs::read_to_string(HOST_RESOLV_CONF).unwrap_or_default();
            let upstream = match dns_servers.is_empty() {
                true => dns::upstreams_from_resolv_conf(&host),
                false => dns_servers
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, 53))
                    .collect(),
            };
            let responder = Responder::bind(&netns, &self.root, &record.id, upstream)
                .map_err(NetworkError::from)?;
            self.dns = Some(responder);
        }
        Ok(())
    }

    /// The descriptors the pump polls for the DNS responder.
    pub(super) fn fds(&self) -> Vec<RawFd> {
        self.dns.as_ref().map(Responder::fds).unwrap_or_default()
    }

    /// Milliseconds until the DNS responder's next deadline (-1: none).
    pub(super) fn timeout_ms(&self) -> i32 {
        match self.dns.as_ref().and_then(Responder::next_deadline) {
            Some(when) => {
                when.saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as i32
                    + 1
            }
            None => -1,
        }
    }

    /// Serves what `poll` found readable among [`Networking::fds`], and
    /// times out forwarded questions.
    pub(super) fn on_poll(&mut self, ready: &[libc::pollfd]) {
        let Some(dns) = self.dns.as_mut() else {
            return;
        };
        let ours = dns.fds();
        for fd in ready
            .iter()
            .filter(|p| p.revents != 0 && ours.contains(&p.fd))
        {
            dns.on_readable(fd.fd);
        }
        if dns.next_deadline().is_some_and(|d| d <= Instant::now()) {
            dns.on_deadline(Instant::now());
        }
    }

    /// Detaches the container from its networks (the ports' sockets close
    /// with the attachments). The veth pairs are left to the kernel: the
    /// namespace is pinned only in this monitor's private mount namespace,
    /// which ends with it, and the pairs go with the namespace.
    pub(super) fn detach(&mut self) {
        self.dns = None;
        if self.attachments.is_empty() {
            return;
        }
        let _ = attach::release_all(&self.root, &self.container_id);
        self.attachments.clear();
    }
}

impl Drop for Networking {
    /// The monitor's final exit on any path (an error included) detaches.
    fn drop(&mut self) {
        self.detach();
    }
}

/// What to ask of `attach` for the record's network `name` (known to the
/// network records as `network`): the endpoint settings recorded at create,
/// the ports to publish, on `eth0`, held by this monitor.
fn attach_request(record: &ContainerRecord, name: &str, network: String) -> AttachRequest {
    let endpoint = record
        .endpoints_config
        .get(name)
        .cloned()
        .unwrap_or_default();
    AttachRequest {
        network,
        container_id: record.id.clone(),
        container_name: record.name.clone(),
        aliases: endpoint.aliases,
        ipv4: endpoint.ipv4_address,
        ipv6: endpoint.ipv6_address,
        mac: plan::parse_mac(&endpoint.mac_address),
        ports: plan::ports_to_publish(&record.host_config, &record.config.exposed_ports),
        dns_servers: dns_servers(record),
        interface: "eth0".into(),
        holder_pid: std::process::id(),
    }
}

/// The record's `--dns` servers.
fn dns_servers(record: &ContainerRecord) -> Vec<IpAddr> {
    record
        .host_config
        .dns
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// `/etc/hosts` and `/etc/resolv.conf` of a container on a bridge network,
/// written before its start (the runtime bind-mounts them at start).
fn write_etc_files(record: &ContainerRecord, dir: &Path, attachment: &Attachment) -> Result<()> {
    let endpoint = &attachment.endpoint;
    let addresses: Vec<IpAddr> = [endpoint.ipv4, endpoint.ipv6]
        .iter()
        .flatten()
        .map(|(ip, _)| *ip)
        .collect();
    let gateway = attachment
        .network
        .subnets
        .iter()
        .map(|s| s.gateway)
        .find(IpAddr::is_ipv4);
    let (mut extra, wants_gateway) = plan::parse_extra_hosts(&record.host_config.extra_hosts);
    if let Some(gateway) = gateway {
        extra.extend(wants_gateway.into_iter().map(|name| (name, gateway)));
    }
    let domain = Some(record.config.domainname.as_str()).filter(|d| !d.is_empty());
    let hosts = etc::hosts(&record.config.hostname, domain, &addresses, &extra);
    let resolver = match attachment.network.dns {
        true => Resolver::Embedded,
        false => Resolver::Host,
    };
    let host = std::fs::read_to_string(HOST_RESOLV_CONF).unwrap_or_default();
    let resolv = etc::resolv_conf(
        &host,
        resolver,
        &dns_servers(record),
        &record.host_config.dns_search,
        &record.host_config.dns_options,
    );
    let etc_dir = dir.join("etc");
    write_replacing(&etc_dir.join("hosts"), &hosts)?;
    write_replacing(&etc_dir.join("resolv.conf"), &resolv)
}

/// Joins the network namespace of the running container `id` (pinned on
/// `<dir>/netns` in the monitor's mount namespace) and takes its `/etc/hosts`
/// and `/etc/resolv.conf` (Docker shares them; kiln copies them at start).
fn join_container(root: &Path, id: &str, dir: &Path) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut other = store.find(id)?;
    crate::lifecycle::reconcile(&store, &mut other);
    let running = matches!(other.state.status, Status::Running | Status::Paused);
    if !running || other.state.pid == 0 {
        return Err(Error::JoinNotRunning(other.record.id.clone()));
    }
    let source = PathBuf::from(format!("/proc/{}/ns/net", other.state.pid));
    crate::netns::pin(&source, &dir.join("netns"))
        .map_err(|e| Error::io(format!("join network namespace {}", source.display()), e))?;
    let theirs = store.dir(&other.record.id).join("etc");
    for name in ["hosts", "resolv.conf"] {
        if let Ok(text) = std::fs::read_to_string(theirs.join(name)) {
            write_replacing(&dir.join("etc").join(name), &text)?;
        }
    }
    Ok(())
}

/// Writes `text` to `path` through a temp file and a rename (before the
/// start, so no running container holds the old file).
fn write_replacing(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("kiln-net");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("write {}", path.display()), e))
}
