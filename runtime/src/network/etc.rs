//! `/etc/hosts` and `/etc/resolv.conf` of a container on a bridge network,
//! as Docker writes them (pure text; the caller writes the files).
//!
//! `/etc/hosts` (Docker 20.10's libnetwork): the localhost lines (the same
//! ones `spec::etc_files` writes for private networks), then the
//! `--add-host` entries, then one `<ip>\t<names>` line per address of the
//! container — Docker writes the file with the extra hosts when the sandbox
//! is made and appends the container's own lines when its endpoints join,
//! so its own addresses come last. `<names>` is the hostname, or
//! `<fqdn> <short>` (one space, as Docker) when a domain name is set or the
//! hostname is itself a dotted name.
//!
//! `/etc/resolv.conf` (Docker's `resolvconf.Build` layout: `search`, then
//! `nameserver` lines, then one `options` line):
//! - [`Resolver::Embedded`] (user-defined networks): `nameserver
//!   127.0.0.11`, the host's search domains and options (or `--dns-search`,
//!   `--dns-option`), plus `ndots:0` unless an `ndots` option was given.
//!   The host's own `ndots` is dropped: the embedded server answers bare
//!   container names, which `ndots:0` makes the resolver ask first.
//! - [`Resolver::Host`] (the default `bridge` network): the host's file
//!   minus its loopback nameservers (unreachable from the container's
//!   namespace), or, when `--dns`/`--dns-search`/`--dns-option` are given,
//!   the file rebuilt from those (each defaulting to the host's). Unlike
//!   Docker, no 8.8.8.8/8.8.4.4 is invented when no server is left (the
//!   research in `notes/networking.md` §3.7: that would send the
//!   container's lookups off the machine behind the user's back); the file
//!   then has no `nameserver` line and lookups fail fast. (The older
//!   `spec::etc_files` keeps Docker's fallback for `--network container:`,
//!   where it has always been.)

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

/// The embedded DNS server's address, as written in `resolv.conf`.
pub const EMBEDDED_NAMESERVER: &str = "127.0.0.11";

/// The first lines of every private `/etc/hosts` (Docker's).
pub const LOCALHOST_LINES: &str = "127.0.0.1\tlocalhost\n\
    ::1\tlocalhost ip6-localhost ip6-loopback\n\
    fe00::0\tip6-localnet\n\
    ff00::0\tip6-mcastprefix\n\
    ff02::1\tip6-allnodes\n\
    ff02::2\tip6-allrouters\n";

/// The `/etc/hosts` text: localhost lines, the `--add-host` entries
/// (`extra`), then `<ip>\t<hostname>` per address (`<ip>\t<hostname>.
/// <domainname> <hostname>` when a domain is set).
pub fn hosts(
    hostname: &str,
    domainname: Option<&str>,
    addresses: &[IpAddr],
    extra: &[(String, IpAddr)],
) -> String {
    let mut text = String::from(LOCALHOST_LINES);
    for (name, ip) in extra {
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    let names = host_names(hostname, domainname);
    if !names.is_empty() {
        for ip in addresses {
            text.push_str(&format!("{ip}\t{names}\n"));
        }
    }
    text
}

/// `hostname`, or `fqdn short` when the full name has a dot (Docker's
/// `updateHostsFile`).
fn host_names(hostname: &str, domainname: Option<&str>) -> String {
    let fqdn = match domainname.filter(|d| !d.is_empty()) {
        Some(domain) => format!("{hostname}.{domain}"),
        None => hostname.to_owned(),
    };
    match fqdn.split_once('.') {
        Some((short, _)) if !short.is_empty() => format!("{fqdn} {short}"),
        _ => fqdn,
    }
}

/// The `/etc/resolv.conf` text from the host's `host_text`, the resolver
/// kind, and `--dns`, `--dns-search`, `--dns-option`. With
/// [`Resolver::Embedded`], `dns` is not written: as in Docker, the embedded
/// server stays the only nameserver and forwards to those servers.
pub fn resolv_conf(
    host_text: &str,
    resolver: Resolver,
    dns: &[IpAddr],
    search: &[String],
    options: &[String],
) -> String {
    let host = HostConf::parse(host_text);
    let search = if search.is_empty() {
        host.search.clone()
    } else {
        search.to_vec()
    };
    match resolver {
        Resolver::Embedded => {
            let mut merged: Vec<String> = if options.is_empty() {
                host.options
                    .iter()
                    .filter(|o| !is_ndots(o))
                    .cloned()
                    .collect()
            } else {
                options.to_vec()
            };
            if !merged.iter().any(|o| is_ndots(o)) {
                merged.push("ndots:0".to_owned());
            }
            build(&search, &[EMBEDDED_NAMESERVER.to_owned()], &merged)
        }
        Resolver::Host if dns.is_empty() && options.is_empty() && search == host.search => {
            without_loopback_servers(host_text)
        }
        Resolver::Host => {
            let servers: Vec<String> = if dns.is_empty() {
                host.servers
                    .iter()
                    .filter(|s| !is_loopback(s))
                    .cloned()
                    .collect()
            } else {
                dns.iter().map(ToString::to_string).collect()
            };
            let options = if options.is_empty() {
                host.options.clone()
            } else {
                options.to_vec()
            };
            build(&search, &servers, &options)
        }
    }
}

/// What `resolv.conf` says, as Docker's `resolvconf` reads it: every
/// nameserver, the last `search` line's domains, every option.
#[derive(Debug, Default)]
struct HostConf {
    servers: Vec<String>,
    search: Vec<String>,
    options: Vec<String>,
}

impl HostConf {
    fn parse(text: &str) -> HostConf {
        let mut conf = HostConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => conf.servers.extend(words.next().map(str::to_owned)),
                Some("search") => conf.search = words.map(str::to_owned).collect(),
                Some("options") => conf.options.extend(words.map(str::to_owned)),
                _ => {}
            }
        }
        conf
    }
}

/// Docker's `resolvconf.Build` layout.
fn build(search: &[String], servers: &[String], options: &[String]) -> String {
    let mut text = String::new();
    let search_line = search.join(" ");
    if !search.is_empty() && search_line.trim() != "." {
        text.push_str(&format!("search {search_line}\n"));
    }
    for server in servers {
        text.push_str(&format!("nameserver {server}\n"));
    }
    if !options.is_empty() {
        text.push_str(&format!("options {}\n", options.join(" ")));
    }
    text
}

/// The host's text without its loopback `nameserver` lines.
fn without_loopback_servers(host_text: &str) -> String {
    let mut text = String::new();
    for line in host_text.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") && words.next().is_some_and(is_loopback) {
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A loopback server address (`127.0.0.0/8`, `::1`); a `%zone` is ignored.
fn is_loopback(server: &str) -> bool {
    let address = server.split('%').next().unwrap_or(server);
    address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_ndots(option: &str) -> bool {
    option.starts_with("ndots:")
}

#[cfg(test)]
#[path = "etc_tests.rs"]
mod tests;
