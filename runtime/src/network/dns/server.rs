//! [`Responder`]: the sockets of one container's embedded DNS and what is
//! done when they are readable, driven by the caller's poll loop (the
//! container's monitor). Nothing here blocks.
//!
//! - UDP `127.0.0.11:53` in the container's namespace: each datagram is one
//!   query. Local names are answered at once (AA, TTL 600 as Docker); other
//!   names are forwarded, byte for byte but for a fresh random ID, from a
//!   socket in the host's namespace to one upstream server; the reply gets
//!   its original ID back and goes to the asker. No reply within
//!   [`FORWARD_DEADLINE`]: SERVFAIL, and the next upstream server is asked
//!   from then on (Docker tries its servers in turn within one question;
//!   kiln, which must not hold the monitor, moves on between questions —
//!   the client's own retry reaches the next server).
//! - TCP `127.0.0.11:53`: connections are accepted non-blocking and read as
//!   they become readable (2-byte length prefix, each query bounded by the
//!   protocol's 65535 bytes, [`MAX_TCP_CONNECTIONS`] at once, idle ones
//!   closed after [`TCP_IDLE`]). Local names are answered on the connection;
//!   other names are forwarded over UDP exactly as above and the reply is
//!   written back on the connection when it comes (a truncated upstream
//!   reply is passed on as is). The monitor never waits on an upstream.
//!
//! The name table is cached and rebuilt when the records' generation
//! counter changes (one small file read per query).

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::message::{self, Query, Rcode, Rdata};
use super::records::{self, View};
use super::DnsError;
use crate::network::record::NetworkStore;

/// Where the embedded DNS listens inside the container (Docker's address).
pub const LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)), 53);
/// How long a forwarded question waits for its upstream.
pub const FORWARD_DEADLINE: Duration = Duration::from_secs(5);
/// How long a TCP connection may sit idle or half-sent.
pub const TCP_IDLE: Duration = Duration::from_secs(5);
/// TCP connections served at once (more wait in the kernel's backlog).
pub const MAX_TCP_CONNECTIONS: usize = 16;
/// Forwarded questions waiting at once (more get SERVFAIL at once).
pub const MAX_PENDING: usize = 1024;
/// TTL of local answers, as Docker.
pub const TTL: u32 = 600;
/// Datagrams handled per readable event, so one busy socket cannot starve
/// the monitor's other work.
const BURST: usize = 64;

/// Who is waiting for a forwarded reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    Udp(SocketAddr),
    Tcp(u64),
}

#[derive(Debug)]
struct Pending {
    asker: Asker,
    original_id: u16,
    server: SocketAddr,
    deadline: Instant,
    /// The query as received, to answer SERVFAIL with its question.
    query: Vec<u8>,
}

#[derive(Debug)]
struct Connection {
    serial: u64,
    stream: TcpStream,
    buffer: Vec<u8>,
    /// The asker closed its side; kept only for pending replies.
    eof: bool,
    deadline: Instant,
}

/// The DNS server of one container.
pub struct Responder {
    udp: UdpSocket,
    tcp: TcpListener,
    upstream4: Option<UdpSocket>,
    upstream6: Option<UdpSocket>,
    connections: Vec<Connection>,
    next_serial: u64,
    pending: HashMap<u16, Pending>,
    rng: u64,
    /// Which upstream server is asked (see `forward.rs`).
    preferred: usize,
    store: NetworkStore,
    container_id: String,
    host_upstream: Vec<SocketAddr>,
    generation: Option<u64>,
    view: View,
}

/// What to do with one query.
enum Outcome {
    Reply(Vec<u8>),
    Forward,
    Drop,
}

impl Responder {
    /// Binds `127.0.0.11:53` (UDP and TCP, non-blocking) inside `netns` for
    /// container `container_id` of kiln root `root`; other names go to
    /// `upstream` (from the host's namespace).
    pub fn bind(
        netns: &File,
        root: &Path,
        container_id: &str,
        upstream: Vec<SocketAddr>,
    ) -> Result<Responder, DnsError> {
        let store = NetworkStore::open(root).map_err(|e| DnsError::Records {
            root: root.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (udp, tcp) = bind_in(netns)?;
        let upstream4 = Some(host_socket("0.0.0.0:0")?);
        // IPv6 may be disabled on the host: then IPv6 upstreams are skipped.
        let upstream6 = host_socket("[::]:0").ok();
        Ok(Responder {
            udp,
            tcp,
            upstream4,
            upstream6,
            connections: Vec::new(),
            next_serial: 0,
            pending: HashMap::new(),
            rng: forward::seed(),
            preferred: 0,
            store,
            container_id: container_id.to_owned(),
            host_upstream: upstream,
            generation: None,
            view: View::default(),
        })
    }

    /// The descriptors the monitor polls for readability. The list changes
    /// as TCP connections come and go: ask again before each poll.
    pub fn fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.udp.as_raw_fd(), self.tcp.as_raw_fd()];
        fds.extend(self.upstream4.iter().map(AsRawFd::as_raw_fd));
        fds.extend(self.upstream6.iter().map(AsRawFd::as_raw_fd));
        fds.extend(
            self.connections
                .iter()
                .filter(|c| !c.eof)
                .map(|c| c.stream.as_raw_fd()),
        );
        fds
    }

    /// Handles whatever is readable on `fd` (one of [`Responder::fds`]);
    /// never blocks.
    pub fn on_readable(&mut self, fd: RawFd) {
        if fd == self.udp.as_raw_fd() {
            self.serve_udp();
        } else if fd == self.tcp.as_raw_fd() {
            self.accept();
        } else if self.upstream4.as_ref().is_some_and(|s| s.as_raw_fd() == fd) {
            self.relay(false);
        } else if self.upstream6.as_ref().is_some_and(|s| s.as_raw_fd() == fd) {
            self.relay(true);
        } else if let Some(index) = self
            .connections
            .iter()
            .position(|c| c.stream.as_raw_fd() == fd)
        {
            self.read_connection(index);
        }
    }

    /// When the oldest forwarded question times out, or an idle TCP
    /// connection is due to close (None: nothing pending).
    pub fn next_deadline(&self) -> Option<Instant> {
        let forwarded = self.pending.values().map(|p| p.deadline);
        let idle = self.connections.iter().map(|c| c.deadline);
        forwarded.chain(idle).min()
    }

    /// Answers SERVFAIL to forwarded questions past their deadline and
    /// closes TCP connections idle past theirs (unless a forwarded reply is
    /// still owed to them).
    pub fn on_deadline(&mut self, now: Instant) {
        let expired: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(pending) = self.pending.remove(&id) {
                self.timed_out(pending.server);
                if let Some(reply) = message::error_reply(&pending.query, Rcode::ServFail) {
                    self.deliver(pending.asker, &reply);
                }
            }
        }
        let waited_on: Vec<u64> = self
            .pending
            .values()
            .filter_map(|p| match p.asker {
                Asker::Tcp(serial) => Some(serial),
                Asker::Udp(_) => None,
            })
            .collect();
        self.connections
            .retain(|c| c.deadline > now || waited_on.contains(&c.serial));
    }

    /// The query at `buf` answered locally, refused, or to be forwarded.
    fn decide(&mut self, buf: &[u8]) -> Outcome {
        let Ok(header) = message::Header::parse(buf) else {
            return Outcome::Drop;
        };
        if header.is_response() {
            return Outcome::Drop;
        }
        if header.opcode() != 0 {
            return reply_or_drop(message::error_reply(buf, Rcode::NotImp));
        }
        let query = match message::parse_query(buf) {
            Ok(query) => query,
            Err(_) => return reply_or_drop(message::error_reply(buf, Rcode::FormErr)),
        };
        self.refresh();
        match local_answer(&self.view, &query) {
            Some((rcode, answers)) => {
                Outcome::Reply(message::reply(&query, rcode, &answers, TTL, usize::MAX))
            }
            None => Outcome::Forward,
        }
    }

    /// Rebuilds the view when the records changed. When they cannot be
    /// read (a record being corrupt), the last good view keeps answering and
    /// the next question tries again.
    fn refresh(&mut self) {
        let generation = self.store.generation();
        if self.generation != Some(generation) {
            if let Ok(view) = records::load(&self.store, &self.container_id) {
                self.view = view;
                self.generation = Some(generation);
            }
        }
    }

    fn serve_udp(&mut self) {
        let mut buf = [0u8; 4096];
        for _ in 0..BURST {
            let (len, from) = match self.udp.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let query = &buf[..len];
            match self.decide(query) {
                Outcome::Reply(reply) => self.send_udp(query, reply, from),
                Outcome::Forward => self.forward(query, Asker::Udp(from)),
                Outcome::Drop => {}
            }
        }
    }

    /// Sends a local reply over UDP, truncated to the asker's limit.
    fn send_udp(&self, query: &[u8], reply: Vec<u8>, to: SocketAddr) {
        let reply = match message::parse_query(query) {
            Ok(parsed) if reply.len() > parsed.udp_limit() => {
                let (rcode, answers) =
                    local_answer(&self.view, &parsed).unwrap_or((Rcode::NoError, Vec::new()));
                message::reply(&parsed, rcode, &answers, TTL, parsed.udp_limit())
            }
            _ => reply,
        };
        let _ = self.udp.send_to(&reply, to);
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("container_id", &self.container_id)
            .field("pending", &self.pending.len())
            .field("connections", &self.connections.len())
            .finish()
    }
}

fn reply_or_drop(reply: Option<Vec<u8>>) -> Outcome {
    reply.map_or(Outcome::Drop, Outcome::Reply)
}

/// The local answer to `query`, or None when the name is not local (to be
/// forwarded).
///
/// A local name asked for a type other than its address's (A for an
/// IPv6-only name, MX, TXT…) gets NOERROR with no records: it is never
/// forwarded, so container names do not leak to outside resolvers.
///
/// A single-label name (no dot) that is not local, asked as A or AAAA, gets
/// NXDOMAIN at once rather than being forwarded. Docker forwards it (unless
/// the user set `ndots`); kiln does not, so a container asking for a
/// container of another network — or a typo — never sends that name off the
/// machine, and search domains still work (`ndots:0` makes the resolver try
/// the bare name first, then `name.<search domain>`, which has a dot and is
/// forwarded).
fn local_answer(view: &View, query: &Query) -> Option<(Rcode, Vec<Rdata>)> {
    let question = &query.question;
    if question.qclass != message::CLASS_IN && question.qclass != message::CLASS_ANY {
        return None;
    }
    if question.qtype == message::TYPE_PTR {
        let ip = super::names::parse_reverse(&question.name)?;
        let name = view.table.reverse(ip)?.to_owned();
        return Some((Rcode::NoError, vec![Rdata::Ptr(name)]));
    }
    let Some(addresses) = view.table.lookup(&question.name) else {
        let address_type = matches!(question.qtype, message::TYPE_A | message::TYPE_AAAA);
        let single_label = !question.name.is_empty() && !question.name.contains('.');
        return (address_type && single_label).then(|| (Rcode::NxDomain, Vec::new()));
    };
    let answers = addresses
        .iter()
        .filter_map(|ip| match (ip, question.qtype) {
            (IpAddr::V4(v4), message::TYPE_A) => Some(Rdata::A(*v4)),
            (IpAddr::V6(v6), message::TYPE_AAAA) => Some(Rdata::Aaaa(*v6)),
            _ => None,
        })
        .collect();
    Some((Rcode::NoError, answers))
}

/// Binds the UDP socket and TCP listener on a short-lived thread that
/// enters `netns`; the sockets stay in that namespace after it ends.
fn bind_in(netns: &File) -> Result<(UdpSocket, TcpListener), DnsError> {
    let fd = netns.as_raw_fd();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a thread that ends right after binding.
                if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                    return Err(DnsError::Io {
                        context: "enter the container's network namespace",
                        source: std::io::Error::last_os_error(),
                    });
                }
                let bind_error = |source| DnsError::Bind {
                    address: LISTEN,
                    source,
                };
                let udp = UdpSocket::bind(LISTEN).map_err(bind_error)?;
                let tcp = TcpListener::bind(LISTEN).map_err(bind_error)?;
                for result in [udp.set_nonblocking(true), tcp.set_nonblocking(true)] {
                    result.map_err(|source| DnsError::Io {
                        context: "make the DNS sockets non-blocking",
                        source,
                    })?;
                }
                Ok((udp, tcp))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(DnsError::Io {
                    context: "bind thread",
                    source: std::io::Error::other("panicked"),
                })
            })
    })
}

/// A non-blocking UDP socket in the calling thread's (host's) namespace.
fn host_socket(address: &str) -> Result<UdpSocket, DnsError> {
    let socket = UdpSocket::bind(address).map_err(|source| DnsError::Io {
        context: "open the upstream DNS socket",
        source,
    })?;
    socket
        .set_nonblocking(true)
        .map_err(|source| DnsError::Io {
            context: "make the upstream DNS socket non-blocking",
            source,
        })?;
    Ok(socket)
}

/// Writes a length-prefixed reply; false when the connection is done for
/// (a reply that does not fit the socket buffer at once is not retried:
/// replies are small and the buffer is fresh).
fn write_framed(stream: &mut TcpStream, reply: &[u8]) -> bool {
    let Ok(len) = u16::try_from(reply.len()) else {
        return false;
    };
    let mut framed = Vec::with_capacity(reply.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(reply);
    matches!(stream.write(&framed), Ok(n) if n == framed.len())
}

#[path = "forward.rs"]
mod forward;
#[path = "tcp.rs"]
mod tcp;
