//! What an attachment is given before any kernel object is made: its
//! addresses (IPAM over the network's live endpoints), its MAC, its
//! interface name inside the container, the host veth's name, its endpoint
//! ID and its holder's start time. Pure apart from reading randomness and
//! `/proc/<pid>/stat`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::AttachRequest;
use crate::network::ipam::{self, Prefix};
use crate::network::names::RootTag;
use crate::network::record::{EndpointRecord, NetworkRecord, Subnet};
use crate::network::NetworkError;

/// The addresses chosen for one endpoint, with their networks' gateways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Addresses {
    /// IPv4 address and prefix length.
    pub ipv4: Option<(IpAddr, u8)>,
    /// The IPv4 subnet's gateway.
    pub gateway4: Option<Ipv4Addr>,
    /// IPv6 address and prefix length.
    pub ipv6: Option<(IpAddr, u8)>,
    /// The IPv6 subnet's gateway.
    pub gateway6: Option<Ipv6Addr>,
}

/// Chooses the addresses of `request` on `network`, whose live endpoints
/// are `peers`: `--ip`/`--ip6` checked (inside the subnet, not the gateway,
/// network or broadcast address, not used), otherwise the lowest free
/// address of the `--ip-range` (or subnet), as Docker's IPAM.
pub fn choose(
    network: &NetworkRecord,
    peers: &[EndpointRecord],
    request: &AttachRequest,
) -> Result<Addresses, NetworkError> {
    let requested = [request.ipv4.map(IpAddr::V4), request.ipv6.map(IpAddr::V6)];
    if network.name == "bridge" {
        if let Some((flag, ip)) = first_requested(&requested) {
            return Err(NetworkError::InvalidOption {
                flag,
                value: ip.to_string(),
                reason: "user specified IP address is supported on user defined networks only"
                    .into(),
            });
        }
    }
    let mut chosen = Addresses::default();
    let v4 = subnet_of(network, false);
    chosen.ipv4 = pick(network, v4, peers, requested[0], false)?;
    chosen.gateway4 = v4.and_then(|s| match s.gateway {
        IpAddr::V4(gateway) => Some(gateway),
        IpAddr::V6(_) => None,
    });
    if network.ipv6 || requested[1].is_some() {
        let v6 = subnet_of(network, true);
        chosen.ipv6 = pick(network, v6, peers, requested[1], true)?;
        chosen.gateway6 = v6.and_then(|s| match s.gateway {
            IpAddr::V6(gateway) => Some(gateway),
            IpAddr::V4(_) => None,
        });
    }
    Ok(chosen)
}

fn first_requested(requested: &[Option<IpAddr>; 2]) -> Option<(&'static str, IpAddr)> {
    match requested {
        [Some(ip), _] => Some(("--ip", *ip)),
        [None, Some(ip)] => Some(("--ip6", *ip)),
        _ => None,
    }
}

/// The network's first subnet of the family.
fn subnet_of(network: &NetworkRecord, v6: bool) -> Option<&Subnet> {
    network.subnets.iter().find(|s| s.gateway.is_ipv6() == v6)
}

/// One family's address: the requested one checked, or the lowest free.
fn pick(
    network: &NetworkRecord,
    subnet: Option<&Subnet>,
    peers: &[EndpointRecord],
    requested: Option<IpAddr>,
    v6: bool,
) -> Result<Option<(IpAddr, u8)>, NetworkError> {
    let flag = if v6 { "--ip6" } else { "--ip" };
    let Some(subnet) = subnet else {
        return match requested {
            Some(ip) => Err(not_in_subnet(flag, ip, network)),
            None => Ok(None),
        };
    };
    let prefix = Prefix::parse(&subnet.subnet, "--subnet")?;
    let used: Vec<IpAddr> = peers
        .iter()
        .filter_map(|e| if v6 { e.ipv6 } else { e.ipv4 })
        .map(|(ip, _)| ip)
        .collect();
    let address = match requested {
        Some(ip) => {
            ipam::check_static(&prefix, subnet.gateway, ip, &used, &network.name)?;
            ip
        }
        None => {
            let range = match &subnet.ip_range {
                Some(text) => Some(Prefix::parse(text, "--ip-range")?),
                None => None,
            };
            ipam::lowest_free(&prefix, range.as_ref(), subnet.gateway, &used)
                .ok_or_else(|| NetworkError::NoFreeAddress(network.name.clone()))?
        }
    };
    Ok(Some((address, prefix.len)))
}

fn not_in_subnet(flag: &'static str, ip: IpAddr, network: &NetworkRecord) -> NetworkError {
    NetworkError::InvalidOption {
        flag,
        value: ip.to_string(),
        reason: format!("network {} has no subnet of this family", network.name),
    }
}

/// Docker's MAC for an IPv4 address (`02:42:` and its four bytes), or a
/// random locally administered unicast one without IPv4.
pub fn mac_for(ipv4: Option<IpAddr>) -> [u8; 6] {
    match ipv4 {
        Some(IpAddr::V4(ip)) => {
            let [a, b, c, d] = ip.octets();
            [0x02, 0x42, a, b, c, d]
        }
        _ => {
            let mut mac = [0u8; 6];
            fill_random(&mut mac);
            mac[0] = (mac[0] & 0xfe) | 0x02;
            mac
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// The interface name inside the container: the requested one, or the
/// lowest free `ethN` among the container's endpoints (`network connect`).
pub fn interface_name(requested: &str, existing: &[EndpointRecord]) -> String {
    if !requested.is_empty() {
        return requested.to_string();
    }
    (0..)
        .map(|n| format!("eth{n}"))
        .find(|name| existing.iter().all(|e| &e.interface != name))
        .expect("an unbounded range has a free name")
}

/// The host side's link name: the root's veth prefix (`kv<tag>`) and the
/// endpoint ID's first hex digits (15 bytes in all; recognisable by the
/// sweep).
pub fn host_veth_name(root: &Path, endpoint_id: &str) -> String {
    RootTag::of(root).host_veth_name(endpoint_id)
}

/// A new endpoint ID: 64 random hex digits (Docker's shape).
pub fn endpoint_id() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n > 0 {
            filled += n as usize;
        }
    }
}

/// The start time of process `pid` (so a reused PID is not mistaken for
/// the holder); the holder must be alive.
pub fn process_start(pid: u32) -> Result<u64, NetworkError> {
    crate::container::process::start_time(pid).ok_or_else(|| {
        let gone = std::io::Error::from_raw_os_error(libc::ESRCH);
        NetworkError::io(
            "read the holder's start time from",
            format!("/proc/{pid}/stat"),
            gone,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_must_be_alive() {
        assert!(process_start(std::process::id()).unwrap() > 0);
        let err = process_start(u32::MAX).unwrap_err();
        assert!(err.to_string().contains("/proc/4294967295/stat"), "{err}");
    }

    #[test]
    fn macs_follow_docker_for_ipv4() {
        let mac = mac_for(Some("172.18.0.2".parse().unwrap()));
        assert_eq!(mac_text(&mac), "02:42:ac:12:00:02");
        let random = mac_for(None);
        assert_eq!(random[0] & 0x03, 0x02);
    }

    #[test]
    fn interfaces_take_the_lowest_free_index() {
        assert_eq!(interface_name("eth0", &[]), "eth0");
        assert_eq!(interface_name("", &[]), "eth0");
    }

    #[test]
    fn endpoint_ids_are_64_hex_digits() {
        let id = endpoint_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, endpoint_id());
    }
}
