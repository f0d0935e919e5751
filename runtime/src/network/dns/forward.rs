//! The forwarding side of [`super::Responder`] (a child module of
//! `server`, sharing the responder's private state): names that are not
//! local go, byte for byte but for a fresh random ID, from a socket in the
//! host's namespace to the first upstream server; replies come back by
//! that ID, only from the server asked, and go to the asker with its
//! original ID.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use super::{
    message, records, write_framed, Asker, Pending, Rcode, Responder, BURST, FORWARD_DEADLINE,
    MAX_PENDING,
};

impl Responder {
    /// Sends `query` upstream under a fresh ID, remembering the asker.
    pub(super) fn forward(&mut self, query: &[u8], asker: Asker) {
        let Some(server) = self.upstream_server() else {
            return self.fail_now(query, asker);
        };
        if self.pending.len() >= MAX_PENDING || query.len() < message::HEADER_LEN {
            return self.fail_now(query, asker);
        }
        let id = self.fresh_id();
        let mut outgoing = query.to_vec();
        outgoing[..2].copy_from_slice(&id.to_be_bytes());
        let socket = self.socket_for(&server);
        if socket.is_none_or(|s| s.send_to(&outgoing, server).is_err()) {
            return self.fail_now(query, asker);
        }
        self.pending.insert(
            id,
            Pending {
                asker,
                original_id: u16::from_be_bytes([query[0], query[1]]),
                server,
                deadline: Instant::now() + FORWARD_DEADLINE,
                query: query.to_vec(),
            },
        );
    }

    /// The server to ask: among the container's `--dns` servers (else the
    /// host's) that can be reached from a socket here, the preferred one. A
    /// server that lets a question time out hands the preference to the
    /// next ([`Responder::timed_out`]), so one dead resolver costs one
    /// SERVFAIL, not every question's.
    fn upstream_server(&self) -> Option<SocketAddr> {
        let servers = if self.view.upstream.is_empty() {
            &self.host_upstream
        } else {
            &self.view.upstream
        };
        let usable: Vec<SocketAddr> = servers
            .iter()
            .copied()
            .filter(|s| records::usable_upstream(&s.ip()) && self.socket_for(s).is_some())
            .collect();
        match usable.len() {
            0 => None,
            n => Some(usable[self.preferred % n]),
        }
    }

    /// The host-side socket that reaches `server`'s address family.
    fn socket_for(&self, server: &SocketAddr) -> Option<&UdpSocket> {
        match server {
            SocketAddr::V4(_) => self.upstream4.as_ref(),
            SocketAddr::V6(_) => self.upstream6.as_ref(),
        }
    }

    /// `server` let a question time out: the next server is preferred.
    pub(super) fn timed_out(&mut self, server: SocketAddr) {
        if self.upstream_server() == Some(server) {
            self.preferred = self.preferred.wrapping_add(1);
        }
    }

    pub(super) fn fail_now(&mut self, query: &[u8], asker: Asker) {
        if let Some(reply) = message::error_reply(query, Rcode::ServFail) {
            self.deliver(asker, &reply);
        }
    }

    /// A random ID not in use (the upstream socket's port is random too).
    fn fresh_id(&mut self) -> u16 {
        loop {
            // xorshift64*
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            let id = (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48) as u16;
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Reads upstream replies and passes them on with their original IDs.
    pub(super) fn relay(&mut self, v6: bool) {
        let mut buf = [0u8; 65535];
        for _ in 0..BURST {
            let socket = if v6 { &self.upstream6 } else { &self.upstream4 };
            let Some(socket) = socket else { return };
            let (len, from) = match socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if len < message::HEADER_LEN {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            // Only the server asked may answer (a spoofed reply is dropped).
            if self.pending.get(&id).is_none_or(|p| p.server != from) {
                continue;
            }
            let Some(pending) = self.pending.remove(&id) else {
                continue;
            };
            let reply = &mut buf[..len];
            reply[..2].copy_from_slice(&pending.original_id.to_be_bytes());
            self.deliver(pending.asker, reply);
        }
    }

    /// Sends a reply to whoever asked.
    pub(super) fn deliver(&mut self, asker: Asker, reply: &[u8]) {
        match asker {
            Asker::Udp(to) => {
                let _ = self.udp.send_to(reply, to);
            }
            Asker::Tcp(serial) => {
                let Some(index) = self.connections.iter().position(|c| c.serial == serial) else {
                    return;
                };
                let connection = &mut self.connections[index];
                let written = write_framed(&mut connection.stream, reply);
                if !written || (connection.eof && !self.waiting(serial)) {
                    self.close(serial);
                }
            }
        }
    }
}

/// A seed for query IDs from the kernel's random pool (time as a fallback).
pub(super) fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into our buffer.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 8, libc::GRND_NONBLOCK) };
    let value = u64::from_ne_bytes(bytes);
    if got == 8 && value != 0 {
        return value;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    nanos | 1
}
