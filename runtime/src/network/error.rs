//! [`NetworkError`]: what went wrong in networking, naming the network,
//! container, address or port. It converts into the crate's
//! [`crate::Error`] (exit code 125, as Docker's daemon errors).

use std::path::PathBuf;

use super::dns::DnsError;
use super::firewall::FirewallError;
use super::netlink::NetlinkError;

/// A networking failure.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No network has this name or ID (Docker's words).
    #[error("network {0} not found")]
    NotFound(String),
    /// A network with this name exists already (Docker's words).
    #[error("network with name {0} already exists")]
    NameTaken(String),
    /// A prefix of several networks' IDs.
    #[error("network {0} is ambiguous ({1} matches found based on ID prefix)")]
    Ambiguous(String, usize),
    /// `network rm` of a network containers still use (Docker's words).
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    InUse {
        /// Its name.
        name: String,
        /// Its ID.
        id: String,
    },
    /// `rm` of a predefined network (`bridge`, `host`, `none`).
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    /// A bad `--subnet`, `--gateway`, `--ip-range`, `--ip`… value.
    #[error("invalid {flag} {value:?}: {reason}")]
    InvalidOption {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A network name outside Docker's pattern.
    #[error("invalid network name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// `--driver host` or `null` for a user network: Docker keeps exactly
    /// one of each (the predefined `host` and `none`).
    #[error("only one instance of \"{0}\" network is allowed")]
    OnlyOneInstance(String),
    /// A driver kiln does not have (Docker's words for a missing plugin).
    #[error("plugin \"{0}\" not found")]
    UnknownDriver(String),
    /// A `--subnet` that overlaps another network of this root (Docker's
    /// words); `subnet` is the one asked for.
    #[error("Pool overlaps with other one on this address space")]
    PoolOverlap {
        /// The requested subnet.
        subnet: String,
        /// The network that holds an overlapping one.
        network: String,
    },
    /// An ID that cannot name a record file (not one path component).
    #[error("invalid ID {0:?}")]
    InvalidId(String),
    /// No free subnet is left in the default pools.
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    NoFreeSubnet,
    /// No free ULA `/64` is left in kiln's IPv6 pool.
    #[error("could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network")]
    NoFreeIpv6Subnet,
    /// Every address of a network is taken.
    #[error("no available IPv4 addresses on network {0}")]
    NoFreeAddress(String),
    /// `--ip` already used by another container on the network.
    #[error("Address already in use: {ip} on network {network}")]
    AddressInUse {
        /// The address.
        ip: std::net::IpAddr,
        /// The network's name.
        network: String,
    },
    /// A published host port already taken (Docker's message).
    #[error("driver failed programming external connectivity on endpoint {endpoint}: Bind for {address}:{port} failed: port is already allocated")]
    PortAllocated {
        /// The container's name.
        endpoint: String,
        /// The host address (`0.0.0.0` for all).
        address: String,
        /// The host port.
        port: u16,
    },
    /// The container is already attached to this network.
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyAttached {
        /// The container's name.
        container: String,
        /// The network's name.
        network: String,
    },
    /// The container is not attached to this network.
    #[error("container {container} is not connected to network {network}")]
    NotAttached {
        /// The container's name.
        container: String,
        /// The network's name.
        network: String,
    },
    /// Reading or writing a record or a kernel file.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What kiln was doing.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record that does not parse.
    #[error("corrupt network record {}: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Links, addresses, routes.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// nftables and the iptables shim.
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    /// The container's DNS responder.
    #[error(transparent)]
    Dns(#[from] DnsError),
}

impl NetworkError {
    /// Shorthand for [`NetworkError::Io`].
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NetworkError::Io {
            context,
            path: path.into(),
            source,
        }
    }
}
