//! The names one container can resolve, built from the network records
//! (pure: the records are read elsewhere).
//!
//! As Docker's embedded DNS, on each of the asking container's DNS-enabled
//! networks (and only those: containers on other networks stay invisible),
//! every endpoint answers to its container name, its aliases
//! (`--network-alias`, Compose service names), the first 12 characters of
//! its container ID, and each of these followed by `.<network name>`.
//! Lookups are case-insensitive and a final dot is ignored. Several
//! endpoints under one name (a scaled Compose service) give every address,
//! in record order (Docker shuffles them; kiln keeps them stable). The same
//! address reached through two networks is listed once.
//!
//! PTR: each endpoint address maps back to `<container name>.<network
//! name>`, as Docker answers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::network::record::{EndpointRecord, NetworkRecord};

/// The table of one asking container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameTable {
    names: HashMap<String, Vec<IpAddr>>,
    reverse: HashMap<IpAddr, String>,
}

impl NameTable {
    /// Builds the table of `container_id`: `networks` are every network
    /// (those without DNS or without the container are ignored), and
    /// `endpoints` every endpoint of those networks, in record order.
    pub fn build(
        container_id: &str,
        networks: &[NetworkRecord],
        endpoints: &[EndpointRecord],
    ) -> NameTable {
        let mut table = NameTable::default();
        for network in networks.iter().filter(|n| n.dns) {
            let on_it = endpoints
                .iter()
                .any(|e| e.network_id == network.id && e.container_id == container_id);
            if !on_it {
                continue;
            }
            for endpoint in endpoints.iter().filter(|e| e.network_id == network.id) {
                table.add_endpoint(&network.name, endpoint);
            }
        }
        table
    }

    fn add_endpoint(&mut self, network: &str, endpoint: &EndpointRecord) {
        let addresses: Vec<IpAddr> = [endpoint.ipv4, endpoint.ipv6]
            .into_iter()
            .flatten()
            .map(|(ip, _)| ip)
            .collect();
        let short_id: String = endpoint.container_id.chars().take(12).collect();
        let mut names = vec![endpoint.container_name.clone(), short_id];
        names.extend(endpoint.aliases.iter().cloned());
        for name in names.iter().filter(|n| !n.is_empty()) {
            let name = normalise(name);
            for key in [format!("{name}.{}", normalise(network)), name] {
                let slot = self.names.entry(key).or_default();
                for ip in &addresses {
                    if !slot.contains(ip) {
                        slot.push(*ip);
                    }
                }
            }
        }
        let ptr = format!("{}.{}", endpoint.container_name, network);
        for ip in addresses {
            self.reverse.entry(ip).or_insert_with(|| ptr.clone());
        }
    }

    /// The addresses of `name` (IPv4 and IPv6 mixed), or None when the name
    /// is not one of this container's networks' names.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        self.names.get(&normalise(name)).map(Vec::as_slice)
    }

    /// The name of `ip` for a PTR answer.
    pub fn reverse(&self, ip: IpAddr) -> Option<&str> {
        self.reverse.get(&ip).map(String::as_str)
    }

    /// How many names the table holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table is empty (the container is on no DNS network).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Lowercase, without a final dot.
fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The address a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles
/// `.ip6.arpa`) stands for; None for anything else, partial names included.
pub fn parse_reverse(name: &str) -> Option<IpAddr> {
    let name = normalise(name);
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        for (slot, part) in octets.iter_mut().rev().zip(parts) {
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<&str> = rest.split('.').collect();
    if nibbles.len() != 32 {
        return None;
    }
    let mut value: u128 = 0;
    for nibble in nibbles.iter().rev() {
        if nibble.len() != 1 {
            return None;
        }
        value = (value << 4) | u128::from(u8::from_str_radix(nibble, 16).ok()?);
    }
    Some(IpAddr::V6(Ipv6Addr::from(value)))
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
