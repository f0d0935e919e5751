//! Published ports on the host side: each `-p` mapping resolved to a
//! concrete host port and held by a bound socket. (The nft map elements
//! that forward them are [`super::sweep::port_rules`] of the endpoint
//! record: one per host address family the container has an address of,
//! so `-p 80` on an IPv6 network forwards `[::]` to the container's IPv6
//! address, as Docker does.)
//!
//! kiln forwards with NAT only (no userland proxy), so nothing would notice
//! two containers publishing one port, nor a host service already using it
//! (moby#13024). Like Docker's port allocator (and podman's conmon), kiln
//! therefore binds every published host `ip:port` and keeps the socket for as
//! long as the container runs: TCP as a `SOCK_STREAM` socket bound but never
//! listening, UDP as a bound `SOCK_DGRAM` socket, both without
//! `SO_REUSEADDR`; a bind that fails with `EADDRINUSE` is refused with
//! Docker's "port is already allocated" message.
//!
//! Docker's choices kept here:
//! - no host address: `0.0.0.0`, and `[::]` too (with `IPV6_V6ONLY`) when
//!   the host has IPv6;
//! - no host port: a free ephemeral port (kiln lets the kernel choose by
//!   binding port 0, from `ip_local_port_range`, where Docker's allocator
//!   walks 49153-60999);
//! - a host range against one container port (`-p 8000-8010:80`): the first
//!   free port of the range; equal-width ranges were already paired one to
//!   one by the parser (`-p 8000-8002:80-82`).

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use kiln_parser::values::{PortMapping, Protocol};

use super::record::PublishedPort;
use super::NetworkError;

/// The resolved ports of one attachment and the sockets holding them.
#[derive(Debug, Default)]
pub struct Reserved {
    /// One entry per mapping, host port concrete.
    pub ports: Vec<PublishedPort>,
    /// The bound sockets (one per host address and port).
    pub sockets: Vec<OwnedFd>,
}

/// Resolves and binds every mapping of `mappings` for the endpoint named
/// `endpoint` (the container's name, for the error message).
pub fn reserve(mappings: &[PortMapping], endpoint: &str) -> Result<Reserved, NetworkError> {
    let ipv6 = ipv6_available();
    let mut reserved = Reserved::default();
    for mapping in mappings {
        let (port, sockets) = reserve_one(mapping, endpoint, ipv6)?;
        reserved.ports.push(port);
        reserved.sockets.extend(sockets);
    }
    Ok(reserved)
}

/// One mapping: the host port chosen and its sockets.
fn reserve_one(
    mapping: &PortMapping,
    endpoint: &str,
    ipv6: bool,
) -> Result<(PublishedPort, Vec<OwnedFd>), NetworkError> {
    let addresses = host_addresses(mapping.host_ip, ipv6);
    let (candidates, reported) = match mapping.host_ports {
        None => (vec![0], 0),
        Some(range) => ((range.start..=range.end).collect(), range.start),
    };
    let mut conflict = addresses[0];
    for candidate in candidates {
        match try_port(&addresses, candidate, mapping.protocol)? {
            Ok((host_port, sockets)) => {
                let port = PublishedPort {
                    host_ip: mapping.host_ip,
                    host_port,
                    container_port: mapping.container_port,
                    protocol: mapping.protocol,
                };
                return Ok((port, sockets));
            }
            Err(ip) if candidate == reported => conflict = ip,
            Err(_) => {}
        }
    }
    Err(NetworkError::PortAllocated {
        endpoint: endpoint.to_string(),
        address: conflict.to_string(),
        port: reported,
    })
}

/// The host addresses a mapping binds: the given one, or `0.0.0.0` and
/// (when the host has IPv6) `::`.
fn host_addresses(host_ip: Option<IpAddr>, ipv6: bool) -> Vec<IpAddr> {
    match host_ip {
        Some(ip) => vec![ip],
        None if ipv6 => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
        None => vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
    }
}

/// Binds `port` (0: a free one, then the same on every further address) on
/// every address; `Err(address)` names the address where it is in use (an
/// ephemeral port is retried a few times first, as another address may hold
/// the kernel's choice).
fn try_port(
    addresses: &[IpAddr],
    port: u16,
    protocol: Protocol,
) -> Result<Result<(u16, Vec<OwnedFd>), IpAddr>, NetworkError> {
    let mut conflict = addresses[0];
    let attempts = if port == 0 { 16 } else { 1 };
    for _ in 0..attempts {
        let mut chosen = port;
        let mut sockets = Vec::new();
        let mut taken = false;
        for &ip in addresses {
            let address = SocketAddr::new(ip, chosen);
            match bind(address, protocol) {
                Ok((fd, bound)) => {
                    chosen = bound;
                    sockets.push(fd);
                }
                Err(err) if err.raw_os_error() == Some(libc::EADDRINUSE) => {
                    conflict = ip;
                    taken = true;
                    break;
                }
                Err(err) => {
                    let name = address.to_string();
                    return Err(NetworkError::io("bind published port", name, err));
                }
            }
        }
        if !taken {
            return Ok(Ok((chosen, sockets)));
        }
    }
    Ok(Err(conflict))
}

/// Whether the host can bind IPv6 sockets (the `ipv6` module is present
/// and not disabled on `lo`).
pub fn ipv6_available() -> bool {
    let disabled = std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .map(|text| text.trim() == "1")
        .unwrap_or(true);
    !disabled
}

/// Creates a socket of `protocol`'s kind bound to `address` (never
/// listening, `SO_REUSEADDR` off, `IPV6_V6ONLY` on for IPv6); returns it
/// with the port it got.
pub fn bind(address: SocketAddr, protocol: Protocol) -> io::Result<(OwnedFd, u16)> {
    let family = match address {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let (kind, proto) = match protocol {
        Protocol::Tcp => (libc::SOCK_STREAM, 0),
        Protocol::Udp => (libc::SOCK_DGRAM, 0),
        Protocol::Sctp => (libc::SOCK_STREAM, libc::IPPROTO_SCTP),
    };
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let raw = unsafe { libc::socket(family, kind | libc::SOCK_CLOEXEC, proto) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if family == libc::AF_INET6 {
        set_v6only(&fd)?;
    }
    let (storage, len) = sockaddr(address);
    // SAFETY: `storage` holds a sockaddr of `len` bytes of the socket's family.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &storage as *const libc::sockaddr_storage as *const libc::sockaddr,
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let port = local_port(&fd)?;
    Ok((fd, port))
}

fn set_v6only(fd: &OwnedFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &one as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `address` as a `sockaddr_storage` and its length.
fn sockaddr(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match address {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            (storage, size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            (storage, size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

/// The local port of a bound socket.
fn local_port(fd: &OwnedFd) -> io::Result<u16> {
    // SAFETY: all-zero is a valid sockaddr_storage; getsockname fills at most `len`.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            &mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let port = match storage.ss_family as libc::c_int {
        // SAFETY: the family says which sockaddr the storage holds.
        libc::AF_INET => unsafe { (*(&storage as *const _ as *const libc::sockaddr_in)).sin_port },
        _ => unsafe { (*(&storage as *const _ as *const libc::sockaddr_in6)).sin6_port },
    };
    Ok(u16::from_be(port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_parser::values::PortRange;

    fn mapping(host_ip: Option<IpAddr>, ports: Option<(u16, u16)>, proto: Protocol) -> PortMapping {
        PortMapping {
            host_ip,
            host_ports: ports.map(|(start, end)| PortRange { start, end }),
            container_port: 80,
            protocol: proto,
        }
    }

    fn loopback() -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    #[test]
    fn a_missing_host_port_gets_a_free_one_that_stays_held() {
        let got = reserve(&[mapping(loopback(), None, Protocol::Tcp)], "web").unwrap();
        let port = got.ports[0].host_port;
        assert_ne!(port, 0);
        assert_eq!(got.sockets.len(), 1);
        let again = mapping(loopback(), Some((port, port)), Protocol::Tcp);
        let err = reserve(&[again], "other").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("driver failed programming external connectivity on endpoint other: Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
        drop(got);
        // Free again once closed. Retried for a while: a process another
        // test forks now holds a copy of the socket until it execs (and an
        // ephemeral port may be taken by someone's connect meanwhile).
        let again = mapping(loopback(), Some((port, port)), Protocol::Tcp);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while reserve(std::slice::from_ref(&again), "other").is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "port {port} never freed"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn a_host_range_picks_the_first_free_port() {
        // Hold a port whose successor is free, then ask for both.
        let (held, taken) = loop {
            let held = reserve(&[mapping(loopback(), None, Protocol::Udp)], "a").unwrap();
            let taken = held.ports[0].host_port;
            let next = SocketAddr::new(loopback().unwrap(), taken.wrapping_add(1));
            if taken < u16::MAX && bind(next, Protocol::Udp).is_ok() {
                break (held, taken);
            }
        };
        let wanted = mapping(loopback(), Some((taken, taken + 1)), Protocol::Udp);
        let got = reserve(&[wanted], "b").unwrap();
        assert_eq!(got.ports[0].host_port, taken + 1);
        let wanted = mapping(loopback(), Some((taken, taken + 1)), Protocol::Udp);
        let err = reserve(&[wanted], "c").unwrap_err();
        assert!(matches!(err, NetworkError::PortAllocated { port, .. } if port == taken));
        drop(held);
    }

    #[test]
    fn tcp_and_udp_of_one_port_do_not_conflict() {
        let tcp = reserve(&[mapping(loopback(), None, Protocol::Tcp)], "a").unwrap();
        let port = tcp.ports[0].host_port;
        let udp = mapping(loopback(), Some((port, port)), Protocol::Udp);
        assert_eq!(reserve(&[udp], "a").unwrap().ports[0].host_port, port);
    }

    #[test]
    fn a_listening_host_service_is_a_conflict() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let wanted = mapping(None, Some((port, port)), Protocol::Tcp);
        let err = reserve(&[wanted], "web").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:{port} failed: port is already allocated")
        );
    }

    #[test]
    fn all_addresses_bind_ipv4_and_ipv6_on_one_port() {
        let got = reserve(&[mapping(None, None, Protocol::Tcp)], "a").unwrap();
        let expected = if ipv6_available() { 2 } else { 1 };
        assert_eq!(got.sockets.len(), expected);
        assert_eq!(got.ports[0].host_ip, None);
    }
}
