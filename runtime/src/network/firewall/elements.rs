//! Published-port elements written straight over nfnetlink: one batch
//! (`NFT_MSG_NEWSETELEM` with `NLM_F_EXCL`, or `NFT_MSG_DELSETELEM`) on a
//! `NETLINK_NETFILTER` socket, one send and one read of the acks.
//!
//! Why not libnftables for these: before any element command, libnftables
//! 1.0.6 fills its cache with a dump of every table, chain, set, flowtable
//! and object of the host (about fifteen netlink round trips), which took
//! 3 ms a transaction on this shared machine under load against ~0.1 ms
//! for the batch itself. Publishing is on `kiln run`'s critical path, so
//! the elements take the short way; everything else (tables, chains,
//! rules, listings) still goes through libnftables, which owns the syntax.
//!
//! Encoding, as nft lays out concatenated keys: each field is padded to 4
//! bytes (`NFT_REG32_SIZE`), protocol numbers are one byte, ports two
//! bytes in network order, addresses as they are.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use kiln_parser::values::Protocol;

use super::pernetns::PerNetns;
use super::rules::port_map;
use super::PortRule;

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// Adding (fails with EEXIST on a present key) or deleting elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `create element`.
    Create,
    /// `delete element`.
    Delete,
}

/// The protocol number nft stores for `inet_proto`.
fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn push_addr(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend(a.octets()),
        IpAddr::V6(a) => out.extend(a.octets()),
    }
}

/// The key of a port element: `[host ip .] proto . port`, fields padded.
pub fn key_bytes(p: &PortRule) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    if let Some(ip) = p.host_ip {
        push_addr(&mut k, ip);
    }
    k.extend([proto_number(p.protocol), 0, 0, 0]);
    k.extend(p.host_port.to_be_bytes());
    k.extend([0, 0]);
    k
}

/// The data of a port element: `container ip . port`, fields padded.
pub fn data_bytes(p: &PortRule) -> Vec<u8> {
    let mut d = Vec::with_capacity(20);
    push_addr(&mut d, p.container_ip);
    d.extend(p.container_port.to_be_bytes());
    d.extend([0, 0]);
    d
}

/// Appends a netlink attribute (padded to 4 bytes).
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend((len as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(payload);
    out.resize(out.len() + (4 - len % 4) % 4, 0);
}

fn nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    attr(out, kind | NLA_F_NESTED, &inner);
}

fn c_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One netlink message: header, nfgenmsg, payload.
fn message(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16, payload: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + payload.len();
    let mut m = Vec::with_capacity(len);
    m.extend((len as u32).to_ne_bytes());
    m.extend(kind.to_ne_bytes());
    m.extend(flags.to_ne_bytes());
    m.extend(seq.to_ne_bytes());
    m.extend(0u32.to_ne_bytes());
    m.extend([family, 0]);
    m.extend(res_id.to_be_bytes());
    m.extend(payload);
    m
}

/// The batch for `op` on `ports` of `table`: begin, one message per map
/// (sequence numbers `seq + 1 ..`), end. Ports must have a map.
pub fn batch(op: Op, table: &str, ports: &[PortRule], seq: u32) -> (Vec<u8>, u32) {
    let mut maps: Vec<&str> = ports.iter().filter_map(port_map).collect();
    maps.sort();
    maps.dedup();
    let res = NFNL_SUBSYS_NFTABLES;
    let mut out = message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, 0, res, &[]);
    let (kind, flags) = match op {
        Op::Create => (NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL),
        Op::Delete => (NFT_MSG_DELSETELEM, 0),
    };
    let mut n = 0;
    for map in &maps {
        let mut payload = Vec::new();
        attr(&mut payload, NFTA_SET_ELEM_LIST_TABLE, &c_string(table));
        attr(&mut payload, NFTA_SET_ELEM_LIST_SET, &c_string(map));
        nested(&mut payload, NFTA_SET_ELEM_LIST_ELEMENTS, |list| {
            for p in ports.iter().filter(|p| port_map(p) == Some(map)) {
                nested(list, NFTA_LIST_ELEM, |e| {
                    nested(e, NFTA_SET_ELEM_KEY, |k| {
                        attr(k, NFTA_DATA_VALUE, &key_bytes(p))
                    });
                    if op == Op::Create {
                        nested(e, NFTA_SET_ELEM_DATA, |d| {
                            attr(d, NFTA_DATA_VALUE, &data_bytes(p))
                        });
                    }
                });
            }
        });
        n += 1;
        let type_ = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        let flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        out.extend(message(type_, flags, seq + n, NFPROTO_INET, 0, &payload));
    }
    out.extend(message(
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq + n + 1,
        0,
        res,
        &[],
    ));
    (out, n)
}

/// The sockets, one per network namespace (see [`super::pernetns`]).
static SOCKETS: PerNetns<Socket> = PerNetns::new();

/// Sequence numbers of batches (acks of an earlier, abandoned batch are
/// told apart by them).
static SEQ: AtomicU32 = AtomicU32::new(1);

/// Runs `op` on `ports` in one batch. `Err` carries the kernel's errno
/// (EEXIST, ENOENT...) as an [`io::Error`].
pub fn apply(op: Op, table: &str, ports: &[PortRule]) -> io::Result<()> {
    let mut opened = None;
    let sock = SOCKETS
        .get(|| match Socket::open() {
            Ok(s) => Some(s),
            Err(e) => {
                opened = Some(e);
                None
            }
        })
        .ok_or_else(|| opened.unwrap_or_else(|| io::Error::other("no network namespace")))?;
    let sock = sock.lock().unwrap_or_else(|e| e.into_inner());
    sock.drain();
    let seq = SEQ.fetch_add(1 + ports.len() as u32 + 2, Ordering::SeqCst);
    let (bytes, acks) = batch(op, table, ports, seq);
    sock.send(&bytes)?;
    let mut pending = acks;
    let mut buf = vec![0u8; 65536];
    while pending > 0 {
        let n = sock.recv(&mut buf, 0)?;
        for (ack_seq, code) in errors(&buf[..n]) {
            if ack_seq <= seq || ack_seq > seq + acks {
                continue; // an earlier batch's
            }
            if code != 0 {
                return Err(io::Error::from_raw_os_error(-code));
            }
            pending -= 1;
        }
    }
    Ok(())
}

/// `(sequence, error code)` of the `NLMSG_ERROR` messages in a datagram
/// (code 0 = ack).
fn errors(mut buf: &[u8]) -> Vec<(u32, i32)> {
    let mut codes = Vec::new();
    while buf.len() >= 20 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if len < 16 || len > buf.len() {
            break;
        }
        if kind == NLMSG_ERROR {
            let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
            let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
            codes.push((seq, code));
        }
        buf = &buf[(len + 3) & !3..];
    }
    codes
}

/// A `NETLINK_NETFILTER` socket in the calling thread's network namespace.
struct Socket(std::os::fd::OwnedFd);

impl Socket {
    fn open() -> io::Result<Socket> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket(2); the fd is owned right after.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let sock = Socket(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
        let timeout = libc::timeval {
            tv_sec: 5,
            tv_usec: 0,
        };
        let cap: libc::c_int = 1;
        // SAFETY: valid fd, option values of the declared sizes. A receive
        // timeout bounds a kernel that never answers; NETLINK_CAP_ACK keeps
        // error messages from echoing whole (large) requests.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
            libc::setsockopt(
                fd,
                libc::SOL_NETLINK,
                libc::NETLINK_CAP_ACK,
                (&cap as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        Ok(sock)
    }

    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: sockaddr_nl zeroed = the kernel; buffer valid for len.
        let rc = unsafe {
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            libc::sendto(
                self.0.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Throws away what an abandoned batch left unread.
    fn drain(&self) {
        let mut buf = [0u8; 4096];
        while self.recv(&mut buf, libc::MSG_DONTWAIT).is_ok_and(|n| n > 0) {}
    }

    fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        // SAFETY: buffer valid for its length.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}
