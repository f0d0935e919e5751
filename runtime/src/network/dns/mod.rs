//! Docker's embedded DNS for one container: UDP and TCP sockets on
//! `127.0.0.11:53` bound inside the container's network namespace, served by
//! the container's monitor from its poll loop (never blocking it). Names of
//! the containers on the asking container's DNS-enabled networks are
//! answered from the network records (container name, aliases and Compose
//! service names, short ID, `name.network`; A, AAAA and PTR); every other
//! question is forwarded from the host's network namespace to the
//! container's `--dns` servers or the host's resolvers.

use std::fs::File;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::path::Path;
use std::time::Instant;

/// A DNS responder failure (setting it up; answering never fails loudly).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// Binding the sockets inside the namespace.
    #[error("container DNS: bind {address} in the container's network namespace: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Anything else of the socket work.
    #[error("container DNS: {context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// The DNS server of one container.
pub struct Responder {
    _private: (),
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
        let _ = (netns, root, container_id, upstream);
        todo!("dns: Responder::bind")
    }

    /// The descriptors the monitor polls for readability.
    pub fn fds(&self) -> Vec<RawFd> {
        todo!("dns: Responder::fds")
    }

    /// Handles whatever is readable on `fd` (one of [`Responder::fds`]);
    /// never blocks.
    pub fn on_readable(&mut self, fd: RawFd) {
        let _ = fd;
        todo!("dns: Responder::on_readable")
    }

    /// When the oldest forwarded question times out (None: none pending).
    pub fn next_deadline(&self) -> Option<Instant> {
        todo!("dns: Responder::next_deadline")
    }

    /// Answers SERVFAIL to forwarded questions past their deadline.
    pub fn on_deadline(&mut self, now: Instant) {
        let _ = now;
        todo!("dns: Responder::on_deadline")
    }
}

/// The upstream servers in a `resolv.conf` text (port 53), loopback ones
/// included (the responder forwards from the host's namespace).
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let _ = text;
    todo!("dns: upstreams_from_resolv_conf")
}
