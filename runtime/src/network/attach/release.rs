//! [`release_all`]: detaching a container whose network namespace is about
//! to disappear (its monitor, once the container is done), without the
//! synchronous veth delete of [`super::detach_all`], which waits ~30 ms for
//! RCU (`notes/networking.md` 4.8) on the `run --rm` path.
//!
//! The ports are unpublished and the records removed as in a detach; the
//! host end of each veth pair is set down (one ioctl), so from then on the
//! bridge forwards nothing to or from the old namespace and the released
//! address can go to another container at once without a conflict. The
//! kernel destroys the pair with the namespace; a pair that outlives it
//! (the namespace is shared, as with `--network container:NAME`, which
//! loses its network with the container it joined, as in Docker) is a
//! link without a record, which the next complete sweep deletes.

use std::io;
use std::path::Path;

use super::port_rules;
use crate::network::firewall::fast;
use crate::network::names::RootTag;
use crate::network::record::{EndpointRecord, NetworkStore};
use crate::network::NetworkError;

/// Releases every endpoint of `container_id`: ports unpublished, host veth
/// ends set down, records removed; the veth pairs are left to go with the
/// namespace.
pub fn release_all(root: &Path, container_id: &str) -> Result<(), NetworkError> {
    let store = NetworkStore::open(root)?;
    let _lock = store.lock()?;
    let mut first_error = None;
    for endpoint in store.endpoints_of(container_id)? {
        if let Err(err) = release(root, &store, &endpoint) {
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Kernel side first, then the record (kept on failure, for the sweep).
fn release(
    root: &Path,
    store: &NetworkStore,
    endpoint: &EndpointRecord,
) -> Result<(), NetworkError> {
    // This holder still holds the host ports' sockets: the elements are its
    // own, and go by key in one batch, without loading libnftables.
    let table = RootTag::of(root).table();
    let unpublished = fast::release(&table, &port_rules(endpoint)).map_err(NetworkError::from);
    set_down(&endpoint.host_veth)
        .map_err(|e| NetworkError::io("set down the host veth", &endpoint.host_veth, e))?;
    unpublished?;
    store.remove_endpoint(&endpoint.network_id, &endpoint.container_id)
}

/// Clears `IFF_UP` on the host's link `name`; a missing link is fine (it
/// went with its namespace already).
fn set_down(name: &str) -> io::Result<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad link name"));
    }
    // SAFETY: an ifreq we own, named with NUL termination (zeroed, and the
    // name is shorter than IFNAMSIZ); SIOC[GS]IFFLAGS on a datagram socket
    // that is closed on every path.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(bytes) {
            *slot = *byte as libc::c_char;
        }
        let mut rc = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if rc == 0 {
            request.ifr_ifru.ifru_flags &= !(libc::IFF_UP as libc::c_short);
            rc = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let err = io::Error::last_os_error();
        libc::close(socket);
        match rc {
            0 => Ok(()),
            _ if err.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            _ => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_link_is_already_down() {
        set_down("kvnosuchlink0").unwrap();
        assert!(set_down("").is_err());
        assert!(set_down("a-name-much-too-long-for-a-link").is_err());
    }
}
