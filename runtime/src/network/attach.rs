//! Attaching a container's network namespace to a network, and detaching:
//! an address (IPAM), a veth pair into the namespace, the published ports
//! (their host ports bound and held by the caller, then nft map elements),
//! and the endpoint record. The container's monitor attaches between the
//! runtime's create and start and detaches when the container is done;
//! `kiln network connect|disconnect` do the same for a running container.
//!
//! Order (the rule of [`super::record`]): under the root lock, after a
//! sweep (and with the network's bridge remade if it went missing, e.g.
//! after a reboot, as Docker's daemon remakes its bridges), everything is
//! decided first (address, MAC, names, host ports bound as sockets), then the endpoint record is written, then the veth pair is
//! made and the port elements published. A failure after the record undoes
//! what was done, in reverse, before returning the error; a crash leaves a
//! record whose holder is dead, which the next sweep removes with its
//! objects.
//!
//! Docker's choices kept: `--ip`/`--ip6` only on user-defined networks;
//! MAC `02:42:<IPv4 bytes>`; the default route goes through the first
//! network that is not `--internal` (a later `network connect` adds no
//! default route); ports are not published on `--internal` networks
//! (Docker's bridge driver maps no ports there either); `host` and `none`
//! networks have no endpoints to attach.
//!
//! Detaching deletes the host veth when it still exists: free when the
//! container's namespace is already gone (the kernel removed the pair),
//! about 30 ms of RCU wait when it still lives (`network disconnect`, or a
//! monitor that detaches before dropping the namespace).
//!
//! - [`address`]: the decisions (IPAM, MAC, names, endpoint ID).
//! - [`release`]: detaching without the synchronous veth delete, for a
//!   container whose namespace is about to go.
//! - [`super::ports`]: the published host ports, bound and held.
//! - [`connect`] / [`disconnect`]: the same for `kiln network
//!   connect|disconnect` of a running container (the next free `ethN`,
//!   Docker's errors for a network it is not on).

pub mod address;
pub mod release;

pub use release::release_all;

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::path::Path;

use kiln_parser::values::PortMapping;

use super::firewall::Firewall;
use super::names::RootTag;
use super::netlink::{self, VethSpec};
use super::ports::{self, Reserved};
use super::record::{EndpointRecord, NetworkRecord, NetworkStore};
use super::{manage, sweep, NetworkError};

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
    /// Interface name inside the container (`eth0` for the first network;
    /// empty: the lowest free `ethN` among the container's endpoints).
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
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    sweep::sweep(root)?;
    attach_locked(root, &store, netns, request)
}

/// `kiln network connect` of a running container: attaches the network
/// namespace of process `pid` (the container's init) on the lowest free
/// `ethN` unless `request.interface` names one. `request.holder_pid` is
/// the container's monitor.
pub fn connect(root: &Path, pid: u32, request: &AttachRequest) -> Result<Attachment, NetworkError> {
    let path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&path)
        .map_err(|e| NetworkError::io("open the container's network namespace", &path, e))?;
    attach(root, &netns, request)
}

fn attach_locked(
    root: &Path,
    store: &NetworkStore,
    netns: &File,
    request: &AttachRequest,
) -> Result<Attachment, NetworkError> {
    let decided = decide(root, store, request)?;
    store.put_endpoint(&decided.endpoint)?;
    let veth = decided.veth(netns);
    if let Err(err) = make_objects(root, &veth, &decided.endpoint) {
        undo(root, store, &decided.endpoint);
        return Err(err);
    }
    Ok(Attachment {
        network: decided.network,
        endpoint: decided.endpoint,
        port_sockets: decided.reserved.sockets,
    })
}

/// Everything an attachment is, decided before anything is recorded.
struct Decided {
    network: NetworkRecord,
    endpoint: EndpointRecord,
    mac: [u8; 6],
    chosen: address::Addresses,
    /// Whether this network's gateways become the default routes.
    default_route: bool,
    reserved: Reserved,
}

impl Decided {
    /// The veth pair to make in `netns`.
    fn veth<'a>(&self, netns: &'a File) -> VethSpec<'a> {
        let chosen = &self.chosen;
        VethSpec {
            host_name: self.endpoint.host_veth.clone(),
            bridge: self.network.bridge.clone(),
            netns,
            interface: self.endpoint.interface.clone(),
            mtu: self.network.mtu,
            mac: self.mac,
            addresses: chosen.ipv4.into_iter().chain(chosen.ipv6).collect(),
            gateway4: chosen.gateway4.filter(|_| self.default_route),
            gateway6: chosen.gateway6.filter(|_| self.default_route),
        }
    }
}

/// The checks and choices of an attachment: the network (bridge driver,
/// its bridge present), no second endpoint of the container on it, the
/// addresses, the MAC, the host ports (bound), the names.
fn decide(
    root: &Path,
    store: &NetworkStore,
    request: &AttachRequest,
) -> Result<Decided, NetworkError> {
    let network = store.find(&request.network)?;
    check_driver(&network)?;
    manage::ensure_realized(root, &network)?;
    let peers = store.endpoints(&network.id)?;
    if peers.iter().any(|e| e.container_id == request.container_id) {
        return Err(NetworkError::AlreadyAttached {
            container: request.container_name.clone(),
            network: network.name.clone(),
        });
    }
    let others = store.endpoints_of(&request.container_id)?;
    let default_route = !network.internal && !has_default_route(store, &others)?;
    let chosen = address::choose(&network, &peers, request)?;
    let reserved = match network.internal {
        true => Reserved::default(),
        false => ports::reserve(&request.ports, &request.container_name)?,
    };
    let mac = request
        .mac
        .unwrap_or_else(|| address::mac_for(chosen.ipv4.map(|(ip, _)| ip)));
    let endpoint = endpoint_record(root, &network, &others, request, &chosen, &reserved)?;
    Ok(Decided {
        endpoint: EndpointRecord {
            mac: address::mac_text(&mac),
            ..endpoint
        },
        network,
        mac,
        chosen,
        default_route,
        reserved,
    })
}

/// Only bridge networks have endpoints; Docker's reasons for `host` and
/// `none` (`null`).
fn check_driver(network: &NetworkRecord) -> Result<(), NetworkError> {
    let reason = match network.driver.as_str() {
        "bridge" => return Ok(()),
        "host" => "container cannot be disconnected from host network or connected to host network".to_string(),
        "null" => "container cannot be connected to multiple networks with one of the networks in private (none) mode".to_string(),
        other => format!("network driver {other:?} has no endpoints"),
    };
    Err(NetworkError::InvalidOption {
        flag: "--network",
        value: network.name.clone(),
        reason,
    })
}

/// Whether one of the container's `endpoints` already gives it a default
/// route (it is on a network that is not internal).
fn has_default_route(
    store: &NetworkStore,
    endpoints: &[EndpointRecord],
) -> Result<bool, NetworkError> {
    for endpoint in endpoints {
        match store.find(&endpoint.network_id) {
            Ok(network) if !network.internal => return Ok(true),
            Ok(_) | Err(NetworkError::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

/// The record of the endpoint about to be made (its MAC filled in by the
/// caller).
fn endpoint_record(
    root: &Path,
    network: &NetworkRecord,
    others: &[EndpointRecord],
    request: &AttachRequest,
    chosen: &address::Addresses,
    reserved: &Reserved,
) -> Result<EndpointRecord, NetworkError> {
    let endpoint_id = address::endpoint_id();
    Ok(EndpointRecord {
        network_id: network.id.clone(),
        container_id: request.container_id.clone(),
        container_name: request.container_name.clone(),
        host_veth: address::host_veth_name(root, &endpoint_id),
        endpoint_id,
        interface: address::interface_name(&request.interface, others),
        mac: String::new(),
        ipv4: chosen.ipv4,
        ipv6: chosen.ipv6,
        aliases: request.aliases.clone(),
        ports: reserved.ports.clone(),
        dns_servers: request.dns_servers.clone(),
        holder_pid: request.holder_pid,
        holder_start: address::process_start(request.holder_pid)?,
    })
}

/// The kernel side: the veth pair, then the published ports' elements.
fn make_objects(
    root: &Path,
    veth: &VethSpec<'_>,
    endpoint: &EndpointRecord,
) -> Result<(), NetworkError> {
    netlink::attach_veth(veth)?;
    let rules = port_rules(endpoint);
    super::firewall::fast::publish(&RootTag::of(root).table(), &rules)?;
    Ok(())
}

/// The endpoint's map elements: the sweep's reading of a record, so what
/// attach publishes is exactly what a sweep unpublishes.
fn port_rules(endpoint: &EndpointRecord) -> Vec<super::firewall::PortRule> {
    sweep::port_rules(endpoint)
}

fn firewall(root: &Path) -> Result<Firewall, NetworkError> {
    Ok(Firewall::open(&RootTag::of(root).table())?)
}

/// Undoes an attachment whose record was written: its elements, its host
/// veth, its record. Best effort: the error that made kiln undo is the one
/// reported, and what stays behind is the sweep's.
fn undo(root: &Path, store: &NetworkStore, endpoint: &EndpointRecord) {
    let _ = remove_objects(root, endpoint);
    let _ = store.remove_endpoint(&endpoint.network_id, &endpoint.container_id);
}

/// Unpublishes the endpoint's ports and deletes its host veth (missing is
/// fine: it normally went with the container's namespace).
fn remove_objects(root: &Path, endpoint: &EndpointRecord) -> Result<(), NetworkError> {
    let unpublished = unpublish(root, endpoint);
    netlink::delete_link(&endpoint.host_veth)?;
    unpublished
}

/// Removes the endpoint's port elements (missing ones are fine).
fn unpublish(root: &Path, endpoint: &EndpointRecord) -> Result<(), NetworkError> {
    let rules = port_rules(endpoint);
    if rules.is_empty() {
        return Ok(());
    }
    Ok(firewall(root)?.unpublish(&rules)?)
}

/// Detaches a container from one network: ports unpublished, the host veth
/// deleted if it still exists, the record removed. A missing endpoint is not
/// an error.
pub fn detach(root: &Path, network_id: &str, container_id: &str) -> Result<(), NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let endpoints = store.endpoints_of(container_id)?;
    match endpoints.iter().find(|e| e.network_id == network_id) {
        Some(endpoint) => detach_locked(root, &store, endpoint),
        None => Ok(()),
    }
}

/// `kiln network disconnect`: like [`detach`], with the network named by
/// name, ID or ID prefix, and Docker's errors for an unknown network or a
/// container not on it. `container_name` is for the message.
pub fn disconnect(
    root: &Path,
    network: &str,
    container_id: &str,
    container_name: &str,
) -> Result<(), NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let network = store.find(network)?;
    let endpoints = store.endpoints(&network.id)?;
    match endpoints.iter().find(|e| e.container_id == container_id) {
        Some(endpoint) => detach_locked(root, &store, endpoint),
        None => Err(NetworkError::NotAttached {
            container: container_name.to_string(),
            network: network.name,
        }),
    }
}

/// Detaches a container from every network it is on.
pub fn detach_all(root: &Path, container_id: &str) -> Result<(), NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let mut first_error = None;
    for endpoint in store.endpoints_of(container_id)? {
        if let Err(err) = detach_locked(root, &store, &endpoint) {
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Kernel objects first, then the record (kept when they could not be
/// removed, so the sweep finds them again).
fn detach_locked(
    root: &Path,
    store: &NetworkStore,
    endpoint: &EndpointRecord,
) -> Result<(), NetworkError> {
    remove_objects(root, endpoint)?;
    store.remove_endpoint(&endpoint.network_id, &endpoint.container_id)
}
