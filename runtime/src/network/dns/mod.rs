//! Docker's embedded DNS for one container: UDP and TCP sockets on
//! `127.0.0.11:53` bound inside the container's network namespace, served by
//! the container's monitor from its poll loop (never blocking it). Names of
//! the containers on the asking container's DNS-enabled networks are
//! answered from the network records (container name, aliases and Compose
//! service names, short ID, `name.network`; A, AAAA and PTR); every other
//! question is forwarded from the host's network namespace to the
//! container's `--dns` servers or the host's resolvers.
//!
//! Modules: [`message`] is the wire codec (pure, hostile-input safe);
//! [`names`] the table of names one container resolves (pure); [`records`]
//! reads that table from the network records; [`server`] holds the
//! [`Responder`] (its forwarding side in `forward.rs`, its TCP side in
//! `tcp.rs`).

use std::net::{IpAddr, SocketAddr};

pub mod message;
pub mod names;
pub mod records;
pub mod server;

pub use server::Responder;

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
    /// The network records of the root cannot be opened.
    #[error("container DNS: network records under {}: {reason}", root.display())]
    Records {
        /// The kiln root.
        root: std::path::PathBuf,
        /// Why.
        reason: String,
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

/// The upstream servers in a `resolv.conf` text (port 53), loopback ones
/// included (the responder forwards from the host's namespace).
/// Lines are `nameserver ADDRESS` (comments after `#` or `;`); IPv6
/// addresses may carry a `%zone`, which is dropped; a bad address is
/// skipped, a repeated one listed once.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut servers = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(word) = words.next() else { continue };
        let address = word.split('%').next().unwrap_or(word);
        if let Ok(ip) = address.parse::<IpAddr>() {
            let server = SocketAddr::new(ip, 53);
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
    }
    servers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_read_nameserver_lines_only() {
        let text = "# generated\nsearch example.com\nnameserver 127.0.0.53\n\
                    nameserver 10.0.0.2 # office\n;nameserver 9.9.9.9\n\
                    nameserver fe80::1%eth0\nnameserver bogus\nnameserver 10.0.0.2\n\
                    nameserver\n  nameserver   192.0.2.1  \n";
        let got: Vec<String> = upstreams_from_resolv_conf(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "127.0.0.53:53",
                "10.0.0.2:53",
                "[fe80::1]:53",
                "192.0.2.1:53"
            ]
        );
    }

    #[test]
    fn no_servers_gives_an_empty_list() {
        assert!(upstreams_from_resolv_conf("").is_empty());
        assert!(upstreams_from_resolv_conf("options ndots:2\n").is_empty());
    }
}
