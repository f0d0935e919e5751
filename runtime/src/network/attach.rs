//! Attaching a container's network namespace to a network, and detaching:
//! an address (IPAM), a veth pair into the namespace, the published ports
//! (their host ports bound and held by the caller, then nft map elements),
//! and the endpoint record. The container's monitor attaches between the
//! runtime's create and start and detaches when the container is done;
//! `kiln network connect|disconnect` do the same for a running container.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::path::Path;

use kiln_parser::values::PortMapping;

use super::record::{EndpointRecord, NetworkRecord};
use super::NetworkError;

/// What to attach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachRequest {
    /// Network name or ID.
    pub network: String,
    /// The container's full ID.
    pub container_id: String,
    /// Its name (without `/`).
    pub container_name: String,
    /// `--network-alias` (and Compose's service name).
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ipv4: Option<Ipv4Addr>,
    /// `--ip6`.
    pub ipv6: Option<Ipv6Addr>,
    /// `--mac-address` (`None`: derived from the IPv4 address as Docker).
    pub mac: Option<[u8; 6]>,
    /// `-p`/`-P` (a missing host port gets a random free one).
    pub ports: Vec<PortMapping>,
    /// `--dns` (recorded for the DNS responder's forwarding).
    pub dns_servers: Vec<std::net::IpAddr>,
    /// Interface name inside the container (`eth0` for the first network).
    pub interface: String,
    /// The process the endpoint lives by (the monitor).
    pub holder_pid: u32,
}

/// A made attachment. Its host-port sockets hold the published ports while
/// it lives; dropping it does not detach (call [`detach`]).
#[derive(Debug)]
pub struct Attachment {
    /// The network.
    pub network: NetworkRecord,
    /// The endpoint as recorded.
    pub endpoint: EndpointRecord,
    /// Bound (not listening) sockets on the published host ports.
    pub port_sockets: Vec<OwnedFd>,
}

/// Attaches the namespace `netns` (an open nsfs file) to the network.
pub fn attach(
    root: &Path,
    netns: &File,
    request: &AttachRequest,
) -> Result<Attachment, NetworkError> {
    let _ = (root, netns, request);
    todo!("attach: attach")
}

/// Detaches a container from one network: ports unpublished, the host veth
/// deleted if it still exists, the record removed. A missing endpoint is not
/// an error.
pub fn detach(root: &Path, network_id: &str, container_id: &str) -> Result<(), NetworkError> {
    let _ = (root, network_id, container_id);
    todo!("attach: detach")
}

/// Detaches a container from every network it is on.
pub fn detach_all(root: &Path, container_id: &str) -> Result<(), NetworkError> {
    let _ = (root, container_id);
    todo!("attach: detach_all")
}
