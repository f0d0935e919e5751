//! The nfnetlink plumbing kiln's firewall uses directly: one kept
//! `NETLINK_NETFILTER` socket per network namespace (see
//! [`super::pernetns`]), message and attribute encoding, and reading
//! replies (acks, errors, dumps). Used by [`super::elements`] (nf_tables
//! set elements) and [`super::conntrack`] (ctnetlink).

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::MutexGuard;

use super::pernetns::PerNetns;

const NETLINK_NETFILTER: i32 = 12;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 0x2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 0x3;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The sockets, one per network namespace.
static SOCKETS: PerNetns<Socket> = PerNetns::new();

/// Sequence numbers (replies to an earlier, abandoned request are told
/// apart by them).
static SEQ: AtomicU32 = AtomicU32::new(1);

/// Reserves `n` consecutive sequence numbers; the first.
pub fn next_seq(n: u32) -> u32 {
    SEQ.fetch_add(n, Ordering::SeqCst)
}

/// The calling thread's namespace's socket, locked, with nothing unread.
pub fn socket() -> io::Result<MutexGuard<'static, Socket>> {
    let mut failed = None;
    let sock = SOCKETS
        .get(|| match Socket::open() {
            Ok(s) => Some(s),
            Err(e) => {
                failed = Some(e);
                None
            }
        })
        .ok_or_else(|| failed.unwrap_or_else(|| io::Error::other("no network namespace")))?;
    let sock = sock.lock().unwrap_or_else(|e| e.into_inner());
    sock.drain();
    Ok(sock)
}

/// Appends a netlink attribute (padded to 4 bytes).
pub fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend((len as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(payload);
    out.resize(out.len() + (4 - len % 4) % 4, 0);
}

pub fn nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    attr(out, kind | NLA_F_NESTED, &inner);
}

pub fn c_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One netlink message: header, nfgenmsg, payload.
pub fn message(
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    payload: &[u8],
) -> Vec<u8> {
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

/// One netlink message of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What follows the 16-byte header.
    pub payload: &'a [u8],
}

/// The messages of a datagram (a truncated tail is dropped).
pub fn messages(mut buf: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        out.push(Message {
            kind: u16::from_ne_bytes([buf[4], buf[5]]),
            seq: u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]),
            payload: &buf[16..len],
        });
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

/// The error code of an `NLMSG_ERROR` payload (0 = ack).
pub fn error_code(payload: &[u8]) -> Option<i32> {
    let b = payload.get(..4)?;
    Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The attributes of a payload: `(type without flags, value, whole
/// attribute bytes)`.
pub fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8], &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        out.push((kind, &buf[4..len], &buf[..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

/// The value of the first attribute of type `kind`.
pub fn attr_value(buf: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(buf).into_iter().find(|a| a.0 == kind).map(|a| a.1)
}

/// Waits for the acks of sequence numbers `first..first + count`; the
/// first error is returned as an [`io::Error`].
pub fn wait_acks(sock: &Socket, first: u32, count: u32) -> io::Result<()> {
    let mut pending = count;
    let mut buf = vec![0u8; 65536];
    while pending > 0 {
        let n = sock.recv(&mut buf, 0)?;
        for m in messages(&buf[..n]) {
            if m.kind != NLMSG_ERROR || m.seq < first || m.seq >= first + count {
                continue;
            }
            match error_code(m.payload) {
                Some(0) => pending -= 1,
                Some(code) => return Err(io::Error::from_raw_os_error(-code)),
                None => {}
            }
        }
    }
    Ok(())
}

/// A `NETLINK_NETFILTER` socket in the calling thread's network namespace.
pub struct Socket(std::os::fd::OwnedFd);

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

    /// Sends one datagram to the kernel.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
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

    /// Receives one datagram.
    pub fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_attributes_round_trip() {
        let mut payload = vec![2, 0, 0, 10];
        attr(&mut payload, 1, b"abc\0");
        nested(&mut payload, 2, |n| attr(n, 3, &[1, 2]));
        let mut buf = message(0x0a0c, NLM_F_REQUEST, 9, 2, 10, &[]);
        buf.extend(message(0x0102, NLM_F_ACK, 10, 2, 0, &payload[4..]));
        let msgs = messages(&buf);
        assert_eq!(msgs.len(), 2);
        assert_eq!((msgs[0].kind, msgs[0].seq), (0x0a0c, 9));
        assert_eq!(
            msgs[0].payload,
            [2, 0, 0, 10],
            "nfgenmsg, res_id big-endian"
        );
        let attrs = attrs(&msgs[1].payload[4..]);
        assert_eq!(attrs[0].0, 1);
        assert_eq!(attrs[0].1, b"abc\0");
        assert_eq!(attrs[1].0, 2, "type without NLA_F_NESTED");
        assert_eq!(attr_value(attrs[1].1, 3), Some(&[1u8, 2][..]));
        assert_eq!(attrs[1].2.len(), 4 + 8, "whole attribute, padded child");
    }

    #[test]
    fn truncated_input_is_cut_not_read_past() {
        let buf = message(0x0a0c, 0, 1, 0, 0, &[1, 2, 3, 4]);
        assert_eq!(messages(&buf[..buf.len() - 1]).len(), 0);
        assert_eq!(attrs(&[8, 0, 1, 0, 1]).len(), 0);
        assert_eq!(attrs(&[2, 0, 1, 0]).len(), 0, "length below the header");
        assert_eq!(error_code(&[0, 0]), None);
        assert_eq!(error_code(&(-17i32).to_ne_bytes()), Some(-17));
    }
}
