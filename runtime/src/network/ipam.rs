//! Address management, pure: Docker's default pools (`172.17.0.0/16` …
//! `172.31.0.0/16`, then `192.168.0.0/20` steps), skipping prefixes that
//! overlap a route of the host or another network; the gateway is the first
//! host address; containers get the lowest free address (Docker's order, so
//! tests are deterministic); `--ip` is checked against the subnet.

use std::net::IpAddr;

use super::NetworkError;

/// An address prefix (`10.1.0.0/16`, `fd00::/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address (host bits zero).
    pub address: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Prefix {
    /// Parses `a.b.c.d/n` or an IPv6 CIDR; host bits must be zero (Docker
    /// refuses them too), `flag` names the option in the error.
    pub fn parse(text: &str, flag: &'static str) -> Result<Prefix, NetworkError> {
        let _ = (text, flag);
        todo!("ipam: Prefix::parse")
    }

    /// Whether `address` lies inside.
    pub fn contains(&self, address: IpAddr) -> bool {
        let _ = address;
        todo!("ipam: Prefix::contains")
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Prefix) -> bool {
        let _ = other;
        todo!("ipam: Prefix::overlaps")
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

/// The first default IPv4 pool that overlaps none of `taken`.
pub fn free_ipv4_subnet(taken: &[Prefix]) -> Option<Prefix> {
    let _ = taken;
    todo!("ipam: free_ipv4_subnet")
}

/// The first free ULA `/64` (kiln's IPv6 pool) that overlaps none of `taken`.
pub fn free_ipv6_subnet(taken: &[Prefix]) -> Option<Prefix> {
    let _ = taken;
    todo!("ipam: free_ipv6_subnet")
}

/// The gateway of `subnet`: its first host address.
pub fn default_gateway(subnet: &Prefix) -> IpAddr {
    let _ = subnet;
    todo!("ipam: default_gateway")
}

/// The lowest address of `range` (within `subnet`) that is not the network
/// or broadcast address, not `gateway`, and not in `used`.
pub fn lowest_free(
    subnet: &Prefix,
    range: Option<&Prefix>,
    gateway: IpAddr,
    used: &[IpAddr],
) -> Option<IpAddr> {
    let _ = (subnet, range, gateway, used);
    todo!("ipam: lowest_free")
}
