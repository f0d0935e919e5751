//! Routes: the main table's routes (for IPAM's overlap check and the
//! default route's MTU) and adding a default route inside a container's
//! namespace.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::socket::Netlink;

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network address (`0.0.0.0` / `::` for a default route).
    pub destination: IpAddr,
    /// Destination prefix length (0 for a default route).
    pub prefix: u8,
    /// The next hop, when the route has one.
    pub gateway: Option<IpAddr>,
    /// The output interface's index (the first next hop's for multipath
    /// routes).
    pub interface: Option<u32>,
    /// The route's metric (`RTA_PRIORITY`, 0 when absent): lower wins.
    pub metric: u32,
}

impl Route {
    /// Whether this is a default route (`0.0.0.0/0` or `::/0`).
    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }
}

/// The routes of the main table (IPv4, then IPv6) of the socket's namespace.
pub(super) fn main_routes(netlink: &mut Netlink) -> io::Result<Vec<Route>> {
    let mut routes = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RouteMessage::default();
        request.header.address_family = family;
        for answer in netlink.dump(RouteNetlinkMessage::GetRoute(request))? {
            if let RouteNetlinkMessage::NewRoute(message) = answer {
                routes.extend(main_route(&message, family));
            }
        }
    }
    Ok(routes)
}

/// `message` as a [`Route`] if it is a main-table route of `family` (the
/// kernel ignores a dump's filters unless strict checking is on, so they
/// are applied here).
fn main_route(message: &RouteMessage, family: AddressFamily) -> Option<Route> {
    if message.header.address_family != family {
        return None;
    }
    let mut table = u32::from(message.header.table);
    let mut route = Route {
        destination: unspecified(family),
        prefix: message.header.destination_prefix_length,
        gateway: None,
        interface: None,
        metric: 0,
    };
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Destination(address) => {
                route.destination = ip_of(address).unwrap_or(route.destination)
            }
            RouteAttribute::Gateway(address) => route.gateway = ip_of(address),
            RouteAttribute::Oif(index) => route.interface = Some(*index),
            RouteAttribute::Priority(metric) => route.metric = *metric,
            RouteAttribute::MultiPath(hops) => {
                route.interface = route.interface.or(hops.first().map(|h| h.interface_index))
            }
            _ => {}
        }
    }
    (table == u32::from(RouteHeader::RT_TABLE_MAIN)).then_some(route)
}

/// `0.0.0.0` or `::`.
fn unspecified(family: AddressFamily) -> IpAddr {
    match family {
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    }
}

/// An IP route address as an `IpAddr`.
fn ip_of(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Adds a default route via `gateway` out of link `index` to the main
/// table (an identical route already there is kept).
pub(super) fn add_default_route(
    netlink: &mut Netlink,
    index: u32,
    gateway: IpAddr,
) -> io::Result<()> {
    let mut message = RouteMessage::default();
    message.header.address_family = match gateway {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    message.attributes.push(RouteAttribute::Oif(index));
    let request = RouteNetlinkMessage::NewRoute(message);
    match netlink.request(request, NLM_F_CREATE | NLM_F_EXCL) {
        Err(error) if error.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other,
    }
}
