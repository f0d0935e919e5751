//! Read-only views of links and addresses, for callers that check what a
//! namespace holds (the sweep, tests, `network inspect`).

use std::net::IpAddr;

use netlink_packet_route::link::{
    InfoBridgePort, InfoPortData, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};

use super::addr::addresses_of;
use super::error::NetlinkError;
use super::link::{find, index_of, name_of, open};

/// What the kernel says of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Its name.
    pub name: String,
    /// Its interface index.
    pub index: u32,
    /// Its MTU.
    pub mtu: Option<u32>,
    /// Whether `IFF_UP` is set.
    pub up: bool,
    /// Its MAC address.
    pub mac: Option<Vec<u8>>,
    /// Its kind (`bridge`, `veth`…; None for plain devices such as `lo`).
    pub kind: Option<String>,
    /// The index of the bridge it is enslaved to.
    pub controller: Option<u32>,
    /// Hairpin mode of its bridge port (None when it is no bridge port).
    pub hairpin: Option<bool>,
}

/// The state of the link `name` in the calling thread's namespace (None:
/// no such link).
pub(super) fn link_state(name: &str) -> Result<Option<LinkState>, NetlinkError> {
    let mut netlink = open()?;
    let link = find(&mut netlink, name).map_err(|e| NetlinkError::request("look up", name, e))?;
    Ok(link.map(|link| state_of(&link)))
}

/// A [`LinkState`] from an `RTM_NEWLINK` answer.
fn state_of(link: &LinkMessage) -> LinkState {
    let mut state = LinkState {
        name: name_of(link).unwrap_or_default(),
        index: link.header.index,
        mtu: None,
        up: link.header.flags.contains(LinkFlags::Up),
        mac: None,
        kind: None,
        controller: None,
        hairpin: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::Mtu(mtu) => state.mtu = Some(*mtu),
            LinkAttribute::Address(mac) => state.mac = Some(mac.clone()),
            LinkAttribute::Controller(index) => state.controller = Some(*index),
            LinkAttribute::LinkInfo(infos) => read_infos(infos, &mut state),
            _ => {}
        }
    }
    state
}

/// The kind and bridge-port hairpin flag from `IFLA_LINKINFO`.
fn read_infos(infos: &[LinkInfo], state: &mut LinkState) {
    for info in infos {
        match info {
            LinkInfo::Kind(kind) => state.kind = Some(kind.to_string()),
            LinkInfo::PortData(InfoPortData::BridgePort(port)) => {
                state.hairpin = port.iter().find_map(|option| match option {
                    InfoBridgePort::HairpinMode(on) => Some(*on),
                    _ => None,
                });
            }
            _ => {}
        }
    }
}

/// The addresses of the link `interface` in the calling thread's namespace.
pub(super) fn addresses(interface: &str) -> Result<Vec<(IpAddr, u8)>, NetlinkError> {
    let mut netlink = open()?;
    let index = index_of(&mut netlink, interface)?;
    addresses_of(&mut netlink, index)
        .map_err(|e| NetlinkError::request("list addresses of", interface, e))
}
