//! Interface addresses: adding one (IPv6 ones without duplicate address
//! detection) and listing an interface's.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::socket::Netlink;

/// Adds `address/prefix` to link `index`; an address already there is
/// kept (EEXIST is success). IPv4 addresses get the subnet's broadcast
/// address (as `ip addr add … brd +` and Docker's netlink library do); IPv6
/// addresses are added `nodad`, usable at once instead of after the ~1.2 s
/// of duplicate address detection (the addresses come from kiln's IPAM,
/// which already guarantees they are unique).
pub(super) fn add_address(
    netlink: &mut Netlink,
    index: u32,
    address: IpAddr,
    prefix: u8,
) -> io::Result<()> {
    let mut message = AddressMessage::default();
    message.header.index = index;
    message.header.prefix_len = prefix;
    message.header.scope = AddressScope::Universe;
    match address {
        IpAddr::V4(v4) => {
            message.header.family = AddressFamily::Inet;
            message.attributes.push(AddressAttribute::Local(address));
            message.attributes.push(AddressAttribute::Address(address));
            if prefix < 31 {
                message
                    .attributes
                    .push(AddressAttribute::Broadcast(broadcast(v4, prefix)));
            }
        }
        IpAddr::V6(_) => {
            message.header.family = AddressFamily::Inet6;
            message.header.flags = AddressHeaderFlags::Nodad;
            message.attributes.push(AddressAttribute::Address(address));
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
    }
    let request = RouteNetlinkMessage::NewAddress(message);
    match netlink.request(request, NLM_F_CREATE | NLM_F_EXCL) {
        Err(error) if error.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other,
    }
}

/// The broadcast address of `address/prefix` (prefix < 32).
fn broadcast(address: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(address) | host_bits)
}

/// The addresses (with prefix lengths) of link `index`, IPv4 then IPv6 as
/// the kernel lists them, link-local ones included.
pub(super) fn addresses_of(netlink: &mut Netlink, index: u32) -> io::Result<Vec<(IpAddr, u8)>> {
    let answers = netlink.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
    let mut found = Vec::new();
    for answer in answers {
        let RouteNetlinkMessage::NewAddress(message) = answer else {
            continue;
        };
        if message.header.index != index {
            continue;
        }
        // IFA_LOCAL is the interface's own address on point-to-point links,
        // where IFA_ADDRESS is the peer's; elsewhere both are the same.
        let local = message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let address = message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = local.or(address) {
            found.push((ip, message.header.prefix_len));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_fills_the_host_bits() {
        let ip = Ipv4Addr::new(10, 200, 3, 1);
        assert_eq!(broadcast(ip, 24), Ipv4Addr::new(10, 200, 3, 255));
        assert_eq!(broadcast(ip, 16), Ipv4Addr::new(10, 200, 255, 255));
        assert_eq!(broadcast(ip, 0), Ipv4Addr::BROADCAST);
        assert_eq!(broadcast(ip, 30), Ipv4Addr::new(10, 200, 3, 3));
    }
}
