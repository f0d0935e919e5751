//! An attachment's veth pair: one `RTM_NEWLINK` makes both ends, the peer
//! directly inside the container's namespace (named, addressed by MAC and
//! sized there), the host end enslaved to the bridge and up; then
//! hairpin on the host end, and inside the namespace — from a short-lived
//! thread that entered it and opened its own socket — `lo` and the peer
//! up, the addresses and the default routes.

use std::os::fd::AsRawFd;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::add_address;
use super::error::{check_link_name, NetlinkError};
use super::link::{delete_link, find, index_of, open, set_hairpin, set_up, up_message};
use super::route::add_default_route;
use super::socket::Netlink;
use super::VethSpec;

/// `lo`'s interface index, the same in every network namespace (the kernel's
/// `LOOPBACK_IFINDEX`).
const LOOPBACK_INDEX: u32 = 1;

/// Makes the veth pair of `spec` and configures both ends; on any failure
/// after the pair exists, the host end (and with it the peer) is deleted.
pub(super) fn attach_veth(spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    check_link_name(&spec.host_name)?;
    check_link_name(&spec.interface)?;
    let mut netlink = open()?;
    let bridge = index_of(&mut netlink, &spec.bridge)?;
    create_pair(&mut netlink, spec, bridge)?;
    let configured = configure_host_end(&mut netlink, spec).and_then(|()| {
        in_namespace(spec.netns, || configure_inside(spec)).and_then(|inside| inside)
    });
    if configured.is_err() {
        // Best effort: the first error is the one worth reporting.
        let _ = delete_link(&spec.host_name);
    }
    configured
}

/// The one request that makes both ends. EEXIST is told apart: a host end
/// of that name already exists, or the namespace already has an interface
/// named like the peer.
fn create_pair(
    netlink: &mut Netlink,
    spec: &VethSpec<'_>,
    bridge: u32,
) -> Result<(), NetlinkError> {
    // Not up here: the kernel refuses IFF_UP on a peer created in another
    // namespace (ENOTCONN, measured on 6.18); it is set from inside.
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(spec.interface.clone()));
    peer.attributes.push(LinkAttribute::Mtu(spec.mtu));
    peer.attributes
        .push(LinkAttribute::Address(spec.mac.to_vec()));
    peer.attributes
        .push(LinkAttribute::NetNsFd(spec.netns.as_raw_fd()));
    let mut host = up_message(0);
    host.attributes
        .push(LinkAttribute::IfName(spec.host_name.clone()));
    host.attributes.push(LinkAttribute::Mtu(spec.mtu));
    host.attributes.push(LinkAttribute::Controller(bridge));
    host.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    let request = RouteNetlinkMessage::NewLink(host);
    match netlink.request(request, NLM_F_CREATE | NLM_F_EXCL) {
        Ok(()) => Ok(()),
        Err(error) if error.raw_os_error() == Some(libc::EEXIST) => {
            match find(netlink, &spec.host_name) {
                Ok(None) => Err(NetlinkError::InterfaceTaken {
                    interface: spec.interface.clone(),
                }),
                _ => Err(NetlinkError::request("create veth", &spec.host_name, error)),
            }
        }
        Err(error) => Err(NetlinkError::request("create veth", &spec.host_name, error)),
    }
}

/// Hairpin on the host end's bridge port.
fn configure_host_end(netlink: &mut Netlink, spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    set_hairpin(netlink, &spec.host_name)
        .map_err(|e| NetlinkError::request("set hairpin on", &spec.host_name, e))
}

/// Inside the namespace: `lo` up, the peer's addresses, default routes.
fn configure_inside(spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
    let mut netlink = open()?;
    set_up(&mut netlink, LOOPBACK_INDEX).map_err(|e| NetlinkError::request("set up", "lo", e))?;
    let index = index_of(&mut netlink, &spec.interface)?;
    set_up(&mut netlink, index).map_err(|e| NetlinkError::request("set up", &spec.interface, e))?;
    for &(address, prefix) in &spec.addresses {
        add_address(&mut netlink, index, address, prefix).map_err(|e| {
            NetlinkError::request(
                "add address",
                format!("{address}/{prefix} to {}", spec.interface),
                e,
            )
        })?;
    }
    let gateways = spec.gateway4.map(Into::into).into_iter();
    for gateway in gateways.chain(spec.gateway6.map(Into::into)) {
        add_default_route(&mut netlink, index, gateway).map_err(|e| {
            NetlinkError::request(
                "add default route",
                format!("via {gateway} dev {}", spec.interface),
                e,
            )
        })?;
    }
    Ok(())
}

/// Runs `work` on a short-lived thread that entered the network namespace
/// `netns` (an nsfs file); the caller's own thread never changes namespace.
pub(super) fn in_namespace<T: Send>(
    netns: &std::fs::File,
    work: impl FnOnce() -> T + Send,
) -> Result<T, NetlinkError> {
    let fd = netns.as_raw_fd();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a caller-provided nsfs fd, affecting only
                // this thread, which ends when `work` returns.
                if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                    let error = std::io::Error::last_os_error();
                    return Err(NetlinkError::request("enter", "network namespace", error));
                }
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(NetlinkError::request(
                    "run in",
                    "network namespace",
                    std::io::Error::other("thread panicked"),
                ))
            })
    })
}
