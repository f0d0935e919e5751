//! The `run` path's port publishing, without loading libnftables: one
//! nfnetlink batch of map elements to publish a container's ports, one to
//! release them when it is done. Loading libnftables and probing the table
//! (what [`Firewall::open`] does) costs several milliseconds a container;
//! the table and its maps exist on every attach but the first of a root, so
//! the batch is tried first and [`Firewall::open`] is the fallback.

use super::{elements, netlink_error, Firewall, FirewallError, PortRule};

/// Publishes `ports` in the root's table `table`: the elements are added in
/// one batch; when the table or its maps are missing (ENOENT), or raw
/// nfnetlink is refused, the table is opened (made) and
/// [`Firewall::publish`] does it. An element already present fails with
/// [`FirewallError::AlreadyPublished`], naming the ports, as there.
pub fn publish(table: &str, ports: &[PortRule]) -> Result<(), FirewallError> {
    if ports.is_empty() {
        return Ok(());
    }
    match elements::apply(elements::Op::Create, table, ports) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Firewall::open(table)?.publish(ports),
        Err(_) => Firewall::open(table)?.publish(ports),
    }
}

/// Removes `ports`' elements by key, for the endpoint that published them
/// and still holds their host ports' sockets (so no other container can
/// have published the same keys meanwhile): one batch, then one at a time
/// when an element is already gone (ENOENT aborts a batch). UDP flows of the
/// ports are forgotten as in [`Firewall::unpublish`]. Anything else falls
/// back to [`Firewall::unpublish`], which checks targets before deleting.
pub fn release(table: &str, ports: &[PortRule]) -> Result<(), FirewallError> {
    if ports.is_empty() {
        return Ok(());
    }
    match elements::apply(elements::Op::Delete, table, ports) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            for port in ports {
                match elements::apply(elements::Op::Delete, table, &[*port]) {
                    Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                        return Err(netlink_error("unpublish", e));
                    }
                    _ => {}
                }
            }
        }
        Err(_) => return Firewall::open(table)?.unpublish(ports),
    }
    super::conntrack::forget_udp(ports);
    Ok(())
}
