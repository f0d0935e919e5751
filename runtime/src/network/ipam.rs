//! Address management, pure: Docker's default pools (`172.17.0.0/16` …
//! `172.31.0.0/16`, then `192.168.0.0/20` steps), skipping prefixes that
//! overlap a route of the host or another network; the gateway is the first
//! host address; containers get the lowest free address (Docker's order, so
//! tests are deterministic); `--ip` is checked against the subnet.
//!
//! Reserved addresses, as Docker's IPAM: in IPv4 subnets of `/30` and wider
//! the network and broadcast addresses; in a `/31` both addresses are hosts
//! (RFC 3021); a `/32` (and an IPv6 `/128`) holds only its gateway. In IPv6
//! subnets the network address (the subnet-router anycast) is reserved.
//!
//! IPv6 (`--ipv6` without `--subnet`): `/64`s of one ULA `/48`
//! (`fdXX:XXXX:XXXX::/48`, RFC 4193) whose global ID is derived from a fixed
//! string by SHA-256, so every run picks the same first free `/64` (Docker
//! 27 derives its `/48` from the engine ID instead; kiln has no engine).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};

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
        let bad = |reason: &str| NetworkError::InvalidOption {
            flag,
            value: text.to_string(),
            reason: reason.to_string(),
        };
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| bad("not an address range in CIDR notation (a.b.c.d/n)"))?;
        let address: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= bits(address))
            .ok_or_else(|| bad("bad prefix length"))?;
        let prefix = Prefix { address, len };
        if prefix.network() != to_u128(address) {
            return Err(bad(&format!(
                "host bits are set (did you mean {}?)",
                Prefix::new(address, len)
            )));
        }
        Ok(prefix)
    }

    /// The prefix of length `len` that holds `address` (host bits cleared).
    pub fn new(address: IpAddr, len: u8) -> Prefix {
        let len = len.min(bits(address));
        let network = to_u128(address) & mask(bits(address), len);
        Prefix {
            address: from_u128(network, address.is_ipv4()),
            len,
        }
    }

    /// Whether `address` lies inside.
    pub fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4()
            && to_u128(address) & mask(bits(address), self.len) == self.network()
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Prefix) -> bool {
        if self.address.is_ipv4() != other.address.is_ipv4() {
            return false;
        }
        let shorter = self.len.min(other.len);
        let m = mask(bits(self.address), shorter);
        to_u128(self.address) & m == to_u128(other.address) & m
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.address.is_ipv4()
    }

    /// The first address, as a number.
    fn network(&self) -> u128 {
        to_u128(self.address) & mask(bits(self.address), self.len)
    }

    /// The last address, as a number.
    fn last(&self) -> u128 {
        self.network() | !mask(bits(self.address), self.len) & all_ones(bits(self.address))
    }

    /// The lowest and highest addresses containers may get.
    fn host_range(&self) -> (u128, u128) {
        let (first, last) = (self.network(), self.last());
        let host_bits = bits(self.address) - self.len;
        match (self.is_ipv4(), host_bits) {
            (_, 0) => (first, last),
            (true, 1) => (first, last),
            (true, _) => (first + 1, last - 1),
            (false, _) => (first + 1, last),
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

/// Docker's default IPv4 pools, in order: `172.17.0.0/16` … `172.31.0.0/16`,
/// then the sixteen `/20`s of `192.168.0.0/16`.
pub fn default_ipv4_pools() -> Vec<Prefix> {
    let sixteens = (17..=31).map(|b| Prefix::new(IpAddr::V4(Ipv4Addr::new(172, b, 0, 0)), 16));
    let twenties = (0..16).map(|i| Prefix::new(IpAddr::V4(Ipv4Addr::new(192, 168, i * 16, 0)), 20));
    sixteens.chain(twenties).collect()
}

/// The first default IPv4 pool that overlaps none of `taken`.
pub fn free_ipv4_subnet(taken: &[Prefix]) -> Option<Prefix> {
    default_ipv4_pools()
        .into_iter()
        .find(|pool| !taken.iter().any(|t| t.overlaps(pool)))
}

/// kiln's ULA `/48` (see the module docs).
pub fn ipv6_pool() -> Prefix {
    let digest = Sha256::digest(b"kiln default IPv6 pool");
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..6].copy_from_slice(&digest[..5]);
    Prefix::new(IpAddr::V6(Ipv6Addr::from(octets)), 48)
}

/// The first free ULA `/64` (kiln's IPv6 pool) that overlaps none of `taken`.
pub fn free_ipv6_subnet(taken: &[Prefix]) -> Option<Prefix> {
    let base = ipv6_pool().network();
    (0u128..=0xffff)
        .map(|n| Prefix::new(from_u128(base | (n << 64), false), 64))
        .find(|pool| !taken.iter().any(|t| t.overlaps(pool)))
}

/// The gateway of `subnet`: its first host address.
pub fn default_gateway(subnet: &Prefix) -> IpAddr {
    from_u128(subnet.host_range().0, subnet.is_ipv4())
}

/// The lowest address of `range` (within `subnet`) that is not the network
/// or broadcast address, not `gateway`, and not in `used`.
pub fn lowest_free(
    subnet: &Prefix,
    range: Option<&Prefix>,
    gateway: IpAddr,
    used: &[IpAddr],
) -> Option<IpAddr> {
    let (mut low, mut high) = subnet.host_range();
    if let Some(range) = range {
        if !range.overlaps(subnet) {
            return None;
        }
        low = low.max(range.network());
        high = high.min(range.last());
    }
    let v4 = subnet.is_ipv4();
    let mut taken: Vec<u128> = used
        .iter()
        .chain(std::iter::once(&gateway))
        .filter(|ip| ip.is_ipv4() == v4)
        .map(|ip| to_u128(*ip))
        .filter(|n| (low..=high).contains(n))
        .collect();
    taken.sort_unstable();
    taken.dedup();
    // The first gap in the sorted taken addresses, from `low`.
    let mut candidate = low;
    for n in taken {
        if n > candidate {
            break;
        }
        candidate = n.checked_add(1)?;
    }
    (candidate <= high).then(|| from_u128(candidate, v4))
}

/// Checks a static address (`--ip`, `--ip6`) for `network`: inside the
/// subnet, not its network/broadcast address, not the gateway, not in
/// `used` (Docker's "Address already in use").
pub fn check_static(
    subnet: &Prefix,
    gateway: IpAddr,
    ip: IpAddr,
    used: &[IpAddr],
    network: &str,
) -> Result<(), NetworkError> {
    let flag = if ip.is_ipv4() { "--ip" } else { "--ip6" };
    let (low, high) = subnet.host_range();
    if !subnet.contains(ip) || !(low..=high).contains(&to_u128(ip)) {
        return Err(NetworkError::InvalidOption {
            flag,
            value: ip.to_string(),
            reason: format!("no configured subnet contains it on network {network} ({subnet})"),
        });
    }
    if ip == gateway || used.contains(&ip) {
        return Err(NetworkError::AddressInUse {
            ip,
            network: network.to_string(),
        });
    }
    Ok(())
}

fn bits(address: IpAddr) -> u8 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

fn all_ones(bits: u8) -> u128 {
    if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The netmask of a `len`-bit prefix in a `bits`-bit address.
fn mask(bits: u8, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        all_ones(bits) & !(all_ones(bits - len.min(bits)))
    }
}

fn to_u128(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

#[cfg(test)]
#[path = "ipam_tests.rs"]
mod tests;
