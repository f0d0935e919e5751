//! Links: bridges (made or reused), lookups by name, deletion, the dump of
//! names by prefix, and the small `RTM_NEWLINK` edits an attachment needs
//! (up, MTU, hairpin).

use std::io;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    BridgeStpState, InfoBridge, InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind,
    LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::add_address;
use super::error::{check_link_name, NetlinkError};
use super::socket::Netlink;
use super::sysctl::set_sysctl;
use super::BridgeSpec;

/// Creates the bridge of `spec`, or brings an existing bridge of that name
/// to the same options, MTU and up state; then adds its addresses (present
/// ones are kept) and sets `route_localnet=1` on it, so that `127.0.0.1`
/// published ports can be NATed to its containers (the firewall's loopback
/// guard drops 127/8 from anywhere but `lo`).
pub(super) fn ensure_bridge(spec: &BridgeSpec) -> Result<(), NetlinkError> {
    check_link_name(&spec.name)?;
    let mut netlink = open()?;
    let created = netlink.request(bridge_message(spec, true), NLM_F_CREATE | NLM_F_EXCL);
    match created {
        Ok(()) => {}
        Err(error) if error.raw_os_error() == Some(libc::EEXIST) => {
            reuse_bridge(&mut netlink, spec)?;
        }
        Err(error) => return Err(NetlinkError::request("create bridge", &spec.name, error)),
    }
    let index = index_of(&mut netlink, &spec.name)?;
    for &(address, prefix) in &spec.addresses {
        add_address(&mut netlink, index, address, prefix).map_err(|e| {
            NetlinkError::request(
                "add address",
                format!("{address}/{prefix} to {}", spec.name),
                e,
            )
        })?;
    }
    set_sysctl(&format!("net/ipv4/conf/{}/route_localnet", spec.name), "1")
}

/// Brings an existing link named like the bridge to the bridge's state,
/// refusing a link of another kind.
fn reuse_bridge(netlink: &mut Netlink, spec: &BridgeSpec) -> Result<(), NetlinkError> {
    let existing =
        find(netlink, &spec.name).map_err(|e| NetlinkError::request("look up", &spec.name, e))?;
    let kind = existing.as_ref().and_then(kind_of);
    if kind != Some(InfoKind::Bridge) {
        return Err(NetlinkError::NotABridge {
            name: spec.name.clone(),
            kind: kind.map_or_else(|| "none".to_string(), |kind| kind.to_string()),
        });
    }
    netlink
        .request(bridge_message(spec, false), 0)
        .map_err(|e| NetlinkError::request("update bridge", &spec.name, e))
}

/// The `RTM_NEWLINK` of a bridge: no STP and no forward delay (as Docker's
/// bridges: a new port forwards at once), the MTU, up; a new bridge also
/// gets a random MAC, as Docker sets one, so the bridge's address does not
/// change with the ports enslaved to it (the kernel otherwise takes the
/// lowest port MAC, and containers' ARP entries for the gateway go stale).
fn bridge_message(spec: &BridgeSpec, create: bool) -> RouteNetlinkMessage {
    let mut message = up_message(0);
    message
        .attributes
        .push(LinkAttribute::IfName(spec.name.clone()));
    message.attributes.push(LinkAttribute::Mtu(spec.mtu));
    if create {
        message
            .attributes
            .push(LinkAttribute::Address(random_mac().to_vec()));
    }
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bridge),
        LinkInfo::Data(InfoData::Bridge(vec![
            InfoBridge::StpState(BridgeStpState::Disabled),
            InfoBridge::ForwardDelay(0),
        ])),
    ]));
    RouteNetlinkMessage::NewLink(message)
}

/// Deletes the link `name`; a missing link is not an error.
pub(super) fn delete_link(name: &str) -> Result<(), NetlinkError> {
    check_link_name(name)?;
    let mut netlink = open()?;
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    match netlink.request(RouteNetlinkMessage::DelLink(message), 0) {
        Ok(()) => Ok(()),
        Err(error) if error.raw_os_error() == Some(libc::ENODEV) => Ok(()),
        Err(error) => Err(NetlinkError::request("delete link", name, error)),
    }
}

/// The names of the links (of the calling thread's namespace) starting
/// with `prefix`, from one `RTM_GETLINK` dump without statistics.
pub(super) fn links_with_prefix(prefix: &str) -> Result<Vec<String>, NetlinkError> {
    let mut netlink = open()?;
    let mut request = LinkMessage::default();
    request
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let answers = netlink
        .dump(RouteNetlinkMessage::GetLink(request))
        .map_err(|e| NetlinkError::request("list links", prefix, e))?;
    Ok(answers
        .into_iter()
        .filter_map(|answer| match answer {
            RouteNetlinkMessage::NewLink(link) => name_of(&link),
            _ => None,
        })
        .filter(|name| name.starts_with(prefix))
        .collect())
}

/// Opens a socket in the calling thread's namespace.
pub(super) fn open() -> Result<Netlink, NetlinkError> {
    Netlink::open().map_err(|e| NetlinkError::request("open", "netlink socket", e))
}

/// The link named `name`, if any.
pub(super) fn find(netlink: &mut Netlink, name: &str) -> io::Result<Option<LinkMessage>> {
    let mut request = LinkMessage::default();
    request
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    request
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    match netlink.query(RouteNetlinkMessage::GetLink(request)) {
        Ok(Some(RouteNetlinkMessage::NewLink(link))) => Ok(Some(link)),
        Ok(_) => Ok(None),
        Err(error) if error.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The link with interface index `index`, if any.
pub(super) fn find_index(netlink: &mut Netlink, index: u32) -> io::Result<Option<LinkMessage>> {
    let mut request = LinkMessage::default();
    request.header.index = index;
    request
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    match netlink.query(RouteNetlinkMessage::GetLink(request)) {
        Ok(Some(RouteNetlinkMessage::NewLink(link))) => Ok(Some(link)),
        Ok(_) => Ok(None),
        Err(error) if error.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The interface index of `name`; a missing link is an error naming it.
pub(super) fn index_of(netlink: &mut Netlink, name: &str) -> Result<u32, NetlinkError> {
    match find(netlink, name) {
        Ok(Some(link)) => Ok(link.header.index),
        Ok(None) => Err(NetlinkError::request(
            "look up",
            name,
            io::Error::from_raw_os_error(libc::ENODEV),
        )),
        Err(error) => Err(NetlinkError::request("look up", name, error)),
    }
}

/// Sets `IFF_UP` on link `index`.
pub(super) fn set_up(netlink: &mut Netlink, index: u32) -> io::Result<()> {
    netlink.request(RouteNetlinkMessage::NewLink(up_message(index)), 0)
}

/// Turns hairpin mode on for the bridge port `name` (a container can reach
/// itself through a published port: the bridge may send a frame back out
/// of the port it came in by), as Docker does for its bridge ports. The
/// link is named rather than looked up: one request instead of two.
pub(super) fn set_hairpin(netlink: &mut Netlink, name: &str) -> io::Result<()> {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    netlink.request(RouteNetlinkMessage::NewLink(message), 0)
}

/// A link message for `index` asking for `IFF_UP`.
pub(super) fn up_message(index: u32) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message
}

/// The link's `IFLA_IFNAME`.
pub(super) fn name_of(link: &LinkMessage) -> Option<String> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
}

/// The link's `IFLA_MTU`.
pub(super) fn mtu_of(link: &LinkMessage) -> Option<u32> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Mtu(mtu) => Some(*mtu),
            _ => None,
        })
}

/// The link's kind (`IFLA_INFO_KIND`), if it has one.
fn kind_of(link: &LinkMessage) -> Option<InfoKind> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
                LinkInfo::Kind(kind) => Some(kind.clone()),
                _ => None,
            }),
            _ => None,
        })
}

/// A random, locally administered unicast MAC (as Docker's bridges get).
fn random_mac() -> [u8; 6] {
    let mut mac = [0u8; 6];
    // SAFETY: getrandom writes at most mac.len() bytes into the array.
    let filled = unsafe { libc::getrandom(mac.as_mut_ptr().cast(), mac.len(), 0) };
    if filled != mac.len() as isize {
        // Entropy is not available: derive from time and pid instead.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = nanos ^ (u128::from(std::process::id()) << 64);
        mac.copy_from_slice(&seed.to_le_bytes()[..6]);
    }
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}
