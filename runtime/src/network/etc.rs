//! `/etc/hosts` and `/etc/resolv.conf` of a container on a bridge network,
//! as Docker writes them (pure text; the caller writes the files).

use std::net::IpAddr;

/// Where the container's resolver points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolver {
    /// Docker's embedded DNS (`nameserver 127.0.0.11`, `options ndots:0`):
    /// user-defined networks.
    Embedded,
    /// The host's servers minus loopback ones (the default `bridge`
    /// network), or the `--dns` servers when given.
    Host,
}

/// The `/etc/hosts` text: localhost lines, `<ip> <hostname>` per address
/// (with `<hostname>.<domainname>` first when a domain is set), then the
/// `--add-host` entries.
pub fn hosts(
    hostname: &str,
    domainname: Option<&str>,
    addresses: &[IpAddr],
    extra: &[(String, IpAddr)],
) -> String {
    let _ = (hostname, domainname, addresses, extra);
    todo!("etc: hosts")
}

/// The `/etc/resolv.conf` text from the host's `host_text`, the resolver
/// kind, and `--dns`, `--dns-search`, `--dns-option`.
pub fn resolv_conf(
    host_text: &str,
    resolver: Resolver,
    dns: &[IpAddr],
    search: &[String],
    options: &[String],
) -> String {
    let _ = (host_text, resolver, dns, search, options);
    todo!("etc: resolv_conf")
}
