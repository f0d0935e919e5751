//! Links, addresses and routes over an in-process netlink socket
//! (synchronous; no `ip` processes): the bridges of networks, the veth pair
//! of each attachment (its peer created directly inside the container's
//! network namespace), the host's routes (for IPAM) and the sysctls
//! networking needs.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A netlink or sysctl failure, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The kernel refused a request.
    #[error("netlink: {operation} {object}: {source}")]
    Request {
        /// What was asked (`create bridge`, `add address`…).
        operation: &'static str,
        /// The link or address.
        object: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

/// A network's bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// Link name (<= 15 bytes).
    pub name: String,
    /// MTU.
    pub mtu: u32,
    /// Gateway addresses with prefix lengths (IPv6 ones added `nodad`).
    pub addresses: Vec<(IpAddr, u8)>,
}

/// One attachment's veth pair.
#[derive(Debug)]
pub struct VethSpec<'a> {
    /// Host side's name (<= 15 bytes).
    pub host_name: String,
    /// The bridge it is enslaved to.
    pub bridge: String,
    /// The container's network namespace (an open nsfs file).
    pub netns: &'a File,
    /// The peer's name inside the namespace (`eth0`…).
    pub interface: String,
    /// MTU of both ends.
    pub mtu: u32,
    /// MAC of the container side.
    pub mac: [u8; 6],
    /// Addresses of the container side (IPv6 ones `nodad`).
    pub addresses: Vec<(IpAddr, u8)>,
    /// Default IPv4 route via this gateway (None: no IPv4 default route).
    pub gateway4: Option<Ipv4Addr>,
    /// Default IPv6 route via this gateway.
    pub gateway6: Option<Ipv6Addr>,
}

/// Creates `spec`'s bridge (up, addresses set, `route_localnet=1`); an
/// existing bridge of that name is brought to the same state.
pub fn ensure_bridge(spec: &BridgeSpec) -> Result<(), NetlinkError> {
    let _ = spec;
    todo!("netlink: ensure_bridge")
}

/// Deletes a link by name; a missing link is not an error.
pub fn delete_link(name: &str) -> Result<(), NetlinkError> {
    let _ = name;
    todo!("netlink: delete_link")
}

/// The names of the host's links that start with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Result<Vec<String>, NetlinkError> {
    let _ = prefix;
    todo!("netlink: links_with_prefix")
}

/// The destinations of the main routing table's routes (IPv4 and IPv6),
/// as (network address, prefix length): IPAM skips pools that overlap them.
pub fn routed_prefixes() -> Result<Vec<(IpAddr, u8)>, NetlinkError> {
    todo!("netlink: routed_prefixes")
}

/// The MTU of the interface of the IPv4 default route (None: no default
/// route).
pub fn default_route_mtu() -> Result<Option<u32>, NetlinkError> {
    todo!("netlink: default_route_mtu")
}

/// Creates the veth pair of `spec`: the peer directly inside the namespace,
/// the host side enslaved to the bridge with hairpin on and up; inside the
/// namespace `lo` and the peer up, addresses and default routes set.
pub fn attach_veth(spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    let _ = spec;
    todo!("netlink: attach_veth")
}

/// Writes a sysctl under `/proc/sys/` (e.g. `net/ipv4/ip_forward`) in the
/// host's network namespace; unchanged values are not rewritten.
pub fn set_sysctl(key: &str, value: &str) -> Result<(), NetlinkError> {
    let _ = (key, value);
    todo!("netlink: set_sysctl")
}
