//! The networks' source of truth on disk: one [`NetworkRecord`] per network
//! (`<root>/networks/<id>.json`) and one [`EndpointRecord`] per attached
//! container (`<root>/networks/<id>/endpoints/<container id>.json`), written
//! with temp file + fsync + rename, changed under the root-wide lock
//! (`<root>/networks/.lock`). Every change bumps `<root>/networks/generation`
//! so readers that cache (the DNS responder) know when to reload with one
//! `stat`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kiln_parser::values::Protocol;
use serde::{Deserialize, Serialize};

use super::NetworkError;

/// A network, as `kiln network create` made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// 64 hex digits (Docker's network ID shape).
    pub id: String,
    /// Unique name (`bridge` is the default network).
    pub name: String,
    /// `bridge`, `host` or `null` (Docker's names; `none` is `null`).
    pub driver: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// The Linux bridge's name (`kb<tag><n>`; empty for host/null).
    pub bridge: String,
    /// IPv4 and (with `--ipv6`) IPv6 address ranges.
    pub subnets: Vec<Subnet>,
    /// `--internal`: no outbound route, no published ports from outside.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--attachable` (recorded; every kiln network is attachable).
    pub attachable: bool,
    /// Containers resolve each other's names (user-defined networks; not the
    /// default `bridge`, as in Docker).
    pub dns: bool,
    /// The bridge's MTU (the default route's interface's by default).
    pub mtu: u32,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o` driver options, as given.
    pub options: BTreeMap<String, String>,
}

/// One address range of a network (Docker's `IPAM.Config` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The range, e.g. `172.18.0.0/16`.
    pub subnet: String,
    /// The bridge's address in it, e.g. `172.18.0.1`.
    pub gateway: IpAddr,
    /// `--ip-range`: where dynamic addresses come from (None: the subnet).
    pub ip_range: Option<String>,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The network's ID.
    pub network_id: String,
    /// The container's full ID.
    pub container_id: String,
    /// The container's name (without `/`).
    pub container_name: String,
    /// 64 hex digits (Docker's `EndpointID`).
    pub endpoint_id: String,
    /// Interface name inside the container (`eth0`, `eth1`, …).
    pub interface: String,
    /// The host side of the veth pair.
    pub host_veth: String,
    /// `02:42:…`-style MAC address of the container side.
    pub mac: String,
    /// IPv4 address and prefix length.
    pub ipv4: Option<(IpAddr, u8)>,
    /// IPv6 address and prefix length (IPv6 networks only).
    pub ipv6: Option<(IpAddr, u8)>,
    /// Names the container answers to on this network besides its name and
    /// short ID: `--network-alias`es, and Compose's service name.
    pub aliases: Vec<String>,
    /// Ports published through this endpoint.
    pub ports: Vec<PublishedPort>,
    /// `--dns` servers (where the container's DNS forwards other names;
    /// empty: the host's resolvers).
    pub dns_servers: Vec<IpAddr>,
    /// The process whose life the endpoint lives by (the container's
    /// monitor) and its start time in clock ticks (from `/proc/<pid>/stat`,
    /// so a reused PID is not mistaken for it). The sweep removes endpoints
    /// whose holder is gone.
    pub holder_pid: u32,
    /// See `holder_pid`.
    pub holder_start: u64,
}

/// One published port (`-p [ip:]host:container[/proto]`), resolved: the
/// host port is concrete (a random one was chosen when none was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `None`: every host address (`0.0.0.0` and `::`).
    pub host_ip: Option<IpAddr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port in the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: Protocol,
}

/// The records under one kiln root.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
}

/// Holds the root-wide network lock while alive.
#[derive(Debug)]
pub struct NetworkLock {
    _file: std::fs::File,
}

impl NetworkStore {
    /// Opens (creating if needed) `<root>/networks`.
    pub fn open(root: &Path) -> Result<NetworkStore, NetworkError> {
        let _ = root;
        todo!("record: open")
    }

    /// Takes the root-wide lock (blocking); every change of records and of
    /// the kernel objects they name happens under it.
    pub fn lock(&self) -> Result<NetworkLock, NetworkError> {
        todo!("record: lock")
    }

    /// Every network, sorted by name.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, NetworkError> {
        todo!("record: networks")
    }

    /// The network named `name_or_id` (exact name, full ID, or unique ID
    /// prefix, as Docker looks networks up).
    pub fn find(&self, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
        let _ = name_or_id;
        todo!("record: find")
    }

    /// Writes `network` (atomically) and bumps the generation.
    pub fn put_network(&self, network: &NetworkRecord) -> Result<(), NetworkError> {
        let _ = network;
        todo!("record: put_network")
    }

    /// Removes a network's record (and its empty endpoints folder).
    pub fn remove_network(&self, id: &str) -> Result<(), NetworkError> {
        let _ = id;
        todo!("record: remove_network")
    }

    /// The endpoints of network `id`.
    pub fn endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, NetworkError> {
        let _ = network_id;
        todo!("record: endpoints")
    }

    /// Every endpoint of container `container_id`, across networks.
    pub fn endpoints_of(&self, container_id: &str) -> Result<Vec<EndpointRecord>, NetworkError> {
        let _ = container_id;
        todo!("record: endpoints_of")
    }

    /// Writes `endpoint` (atomically) and bumps the generation.
    pub fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), NetworkError> {
        let _ = endpoint;
        todo!("record: put_endpoint")
    }

    /// Removes one endpoint record (missing is fine).
    pub fn remove_endpoint(
        &self,
        network_id: &str,
        container_id: &str,
    ) -> Result<(), NetworkError> {
        let _ = (network_id, container_id);
        todo!("record: remove_endpoint")
    }

    /// The change counter (bumped by every put/remove).
    pub fn generation(&self) -> u64 {
        todo!("record: generation")
    }

    /// `<root>/networks`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
