//! The root's nftables table (`inet kiln_<tag>`), driven in-process through
//! libnftables (loaded with `dlopen`, falling back to `nft -f -`): per-network
//! rules (outbound masquerade unless internal, hairpin, isolation between
//! networks, no direct routing from outside), published ports as elements
//! of nft maps, the loopback guard that `route_localnet` needs; and the
//! iptables shim for hosts where a Docker daemon set `FORWARD` to DROP.
//! The ruleset texts are pure functions, golden-tested.
//!
//! Modules: [`rules`] (the nft texts and the table's layout, documented
//! there), [`libnft`] (running them), [`elements`] (published-port
//! elements as direct nfnetlink batches, the fast path of `kiln run`),
//! [`state`] (reading the table back from nft's JSON), [`shim`] (iptables),
//! [`conntrack`] (forgetting UDP flows of unpublished ports, ctnetlink),
//! [`nfnl`] (the nfnetlink socket and encoding), [`pernetns`] (one kept
//! libnftables context and socket per network namespace).
//!
//! Costs (`runtime/benches/firewall.rs`, this shared machine under load):
//! `open` of an existing table 0.14 ms (a probe), publish + unpublish of a
//! port 0.22 ms in-process against 59 ms through the `nft` program.
//!
//! Published ports are map elements, not rules: publishing is one
//! `create element` transaction, and a key already present (a stale element
//! a crash left, or a port given twice) fails with
//! [`FirewallError::AlreadyPublished`] instead of silently shadowing or
//! being shadowed. `unpublish` deletes only elements whose key *and* target
//! match, so unpublishing a dead container's port never removes the same
//! port since published by another container.

use std::net::IpAddr;

use kiln_parser::values::Protocol;

pub mod conntrack;
pub mod elements;
pub mod fast;
pub mod libnft;
pub mod nfnl;
pub mod pernetns;
pub mod rules;
pub mod shim;
pub mod state;

pub use libnft::NftBackend;

use libnft::Nft;
use state::Listing;

/// A firewall failure.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// nft refused a transaction (its message, and what kiln asked).
    #[error("nftables: {operation}: {message}")]
    Nft {
        /// What kiln was doing.
        operation: String,
        /// nft's error output.
        message: String,
    },
    /// Neither libnftables nor the `nft` program is available.
    #[error("nftables is not available (install Debian's nftables package): {0}")]
    Unavailable(String),
    /// Ports whose key is already in the table (EEXIST).
    #[error("nftables: port {ports} is already published in table {table} (a stale entry the sweep has not removed yet, or a port given twice)")]
    AlreadyPublished {
        /// The table.
        table: String,
        /// The ports, as `[ip:]port/proto`, comma-separated.
        ports: String,
    },
    /// A name or port kiln refuses to put into a ruleset.
    #[error("firewall: invalid {what} {value:?}: {reason}")]
    Invalid {
        /// What it is (`bridge name`, `table name`, `port`).
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The table's listing did not parse.
    #[error("nftables: cannot read table {table}: {reason}")]
    Listing {
        /// The table.
        table: String,
        /// What did not fit.
        reason: String,
    },
    /// The iptables shim failed.
    #[error("iptables: {operation}: {message}")]
    Iptables {
        /// What kiln was doing.
        operation: String,
        /// The tool's error output.
        message: String,
    },
}

/// What the firewall needs to know about one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The bridge's link name.
    pub bridge: String,
    /// The network's subnets (CIDR text and family).
    pub subnets: Vec<(IpAddr, u8)>,
    /// No outbound NAT and no forwarding out of the bridge.
    pub internal: bool,
}

/// One published port as a map element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRule {
    /// `None`: every local address.
    pub host_ip: Option<IpAddr>,
    /// Host port.
    pub host_port: u16,
    /// Protocol.
    pub protocol: Protocol,
    /// The container's address.
    pub container_ip: IpAddr,
    /// The container's port.
    pub container_port: u16,
}

/// What the table holds now (for the sweep).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    /// Bridges with rules.
    pub bridges: Vec<String>,
    /// Published port elements.
    pub ports: Vec<PortRule>,
}

/// The root's table.
pub struct Firewall {
    table: String,
    nft: Nft,
}

impl Firewall {
    /// Opens the root's table `table` (`kiln_<tag>`), creating its base
    /// chains and maps when missing.
    pub fn open(table: &str) -> Result<Firewall, FirewallError> {
        Firewall::open_using(table, NftBackend::Auto)
    }

    /// [`Firewall::open`] with a chosen way of running nft (tests run both).
    pub fn open_using(table: &str, backend: NftBackend) -> Result<Firewall, FirewallError> {
        check_name("table name", table, 64, |c| {
            c.is_ascii_alphanumeric() || c == '_'
        })?;
        let fw = Firewall {
            table: table.to_string(),
            nft: Nft::new(backend)?,
        };
        if fw.nft.run("probe table", &rules::probe(table)).is_err() {
            fw.nft.run("create table", &rules::open(table))?;
        }
        Ok(fw)
    }

    /// Whether nft commands run in-process (libnftables) rather than
    /// through the `nft` program.
    pub fn in_process(&self) -> bool {
        self.nft.in_process()
    }

    /// Adds a network's rules (idempotent).
    pub fn add_network(&self, network: &NetworkRules) -> Result<(), FirewallError> {
        check_bridge(&network.bridge)?;
        // Present already (perhaps with other subnets): replaced, in the
        // same transaction, so the network is never without its rules.
        let found = self.listing()?.network(&network.bridge);
        let mut text = rules::remove_network(&self.table, &network.bridge, &found);
        text.push_str(&rules::add_network(&self.table, network));
        let op = format!("add network {}", network.bridge);
        self.nft.run(&op, &text)?;
        Ok(())
    }

    /// Removes a network's rules (missing is fine).
    pub fn remove_network(&self, bridge: &str) -> Result<(), FirewallError> {
        check_bridge(bridge)?;
        let listing = self.listing()?;
        self.remove_found(bridge, &listing)
    }

    fn remove_found(&self, bridge: &str, listing: &Listing) -> Result<(), FirewallError> {
        let text = rules::remove_network(&self.table, bridge, &listing.network(bridge));
        if !text.is_empty() {
            self.nft.run(&format!("remove network {bridge}"), &text)?;
        }
        Ok(())
    }

    /// Publishes ports: one transaction; an element already present fails.
    pub fn publish(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        if ports.is_empty() {
            return Ok(());
        }
        ports.iter().try_for_each(check_port)?;
        if self.nft.in_process() {
            return match elements::apply(elements::Op::Create, &self.table, ports) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    Err(self.already_published(ports))
                }
                other => other.map_err(|e| netlink_error("publish", e)),
            };
        }
        match self.nft.run("publish", &rules::publish(&self.table, ports)) {
            Err(FirewallError::Nft { message, .. }) if message.contains("File exists") => {
                Err(self.already_published(ports))
            }
            other => other.map(drop),
        }
    }

    /// Deletes present elements: one batch, or, when one vanished
    /// meanwhile (ENOENT aborts the batch), one at a time.
    fn delete_elements(&self, gone: &[PortRule]) -> Result<(), FirewallError> {
        if !self.nft.in_process() {
            self.nft
                .run("unpublish", &rules::unpublish(&self.table, gone))?;
            return Ok(());
        }
        let table = &self.table;
        match elements::apply(elements::Op::Delete, table, gone) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                for port in gone {
                    match elements::apply(elements::Op::Delete, table, &[*port]) {
                        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                            return Err(netlink_error("unpublish", e));
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            other => other.map_err(|e| netlink_error("unpublish", e)),
        }
    }

    /// Names the ports of a failed publish that are present (or repeated).
    fn already_published(&self, ports: &[PortRule]) -> FirewallError {
        let maps = rules::list_port_maps(&self.table, ports);
        let present = self.parse(&maps).map(|l| l.ports).unwrap_or_default();
        let mut taken: Vec<String> = ports
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                present.iter().any(|q| same_key(p, q)) || ports[..*i].iter().any(|q| same_key(p, q))
            })
            .map(|(_, p)| port_text(p))
            .collect();
        if taken.is_empty() {
            taken = ports.iter().map(port_text).collect();
        }
        FirewallError::AlreadyPublished {
            table: self.table.clone(),
            ports: taken.join(", "),
        }
    }

    /// Unpublishes ports (missing elements are fine) and forgets their UDP
    /// conntrack entries.
    ///
    /// Only elements whose key and target both match are deleted: the same
    /// host port may since have been published to another container.
    pub fn unpublish(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        if ports.is_empty() {
            return Ok(());
        }
        ports.iter().try_for_each(check_port)?;
        let present = self
            .parse(&rules::list_port_maps(&self.table, ports))?
            .ports;
        let gone: Vec<PortRule> = ports
            .iter()
            .filter(|p| present.contains(p))
            .copied()
            .collect();
        if !gone.is_empty() {
            self.delete_elements(&gone)?;
        }
        conntrack::forget_udp(ports);
        Ok(())
    }

    /// What the table holds.
    pub fn state(&self) -> Result<TableState, FirewallError> {
        Ok(self.listing()?.state())
    }

    /// The table's listing, parsed.
    fn listing(&self) -> Result<Listing, FirewallError> {
        self.parse(&rules::list(&self.table))
    }

    /// What listing commands print, parsed.
    fn parse(&self, commands: &str) -> Result<Listing, FirewallError> {
        let json = self.nft.run_json("list", commands)?;
        Listing::parse(&json).map_err(|reason| FirewallError::Listing {
            table: self.table.clone(),
            reason,
        })
    }

    /// Deletes the whole table (`kiln system reset`-style cleanup, tests).
    pub fn delete_table(&self) -> Result<(), FirewallError> {
        self.nft
            .run("delete table", &rules::delete_table(&self.table))?;
        Ok(())
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

fn netlink_error(operation: &str, e: std::io::Error) -> FirewallError {
    FirewallError::Nft {
        operation: operation.to_string(),
        message: e.to_string(),
    }
}

/// Same map and key (the target may differ).
fn same_key(a: &PortRule, b: &PortRule) -> bool {
    rules::port_map(a) == rules::port_map(b) && rules::port_key(a) == rules::port_key(b)
}

/// `[ip:]port/proto`, as Docker prints published ports.
fn port_text(p: &PortRule) -> String {
    let ip = match p.host_ip {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:"),
        Some(ip) => format!("{ip}:"),
        None => String::new(),
    };
    format!("{ip}{}/{}", p.host_port, p.protocol.as_str())
}

/// A port whose host address and container address are of one family.
fn check_port(p: &PortRule) -> Result<(), FirewallError> {
    match rules::port_map(p) {
        Some(_) => Ok(()),
        None => Err(FirewallError::Invalid {
            what: "port",
            value: format!(
                "{} -> {}:{}",
                port_text(p),
                p.container_ip,
                p.container_port
            ),
            reason: "host address and container address are of different families",
        }),
    }
}

/// A link name nft and iptables can take verbatim: 1-15 bytes of
/// `[A-Za-z0-9_.-]` (what kiln's names and sane user bridge names use;
/// anything else could break out of a quoted nft string).
fn check_bridge(bridge: &str) -> Result<(), FirewallError> {
    check_name("bridge name", bridge, 15, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    })
}

fn check_name(
    what: &'static str,
    value: &str,
    max: usize,
    ok: impl Fn(char) -> bool,
) -> Result<(), FirewallError> {
    let reason = if value.is_empty() || value.len() > max {
        "empty or too long"
    } else if !value.chars().all(ok) || value.starts_with('-') {
        "only letters, digits, '_', '.' and '-' (not first) are allowed"
    } else {
        return Ok(());
    };
    Err(FirewallError::Invalid {
        what,
        value: value.to_string(),
        reason,
    })
}

/// Adds tagged `ACCEPT` rules for `bridge` to iptables' `FORWARD` chain
/// (both the nf_tables and legacy backends) when its policy is DROP, as a
/// Docker daemon sets it; nothing otherwise.
pub fn ensure_forward_shim(bridge: &str, comment: &str) -> Result<(), FirewallError> {
    check_bridge(bridge)?;
    shim::ensure(bridge, comment)
}

/// Removes the shim rules whose comment starts with `comment_prefix`.
pub fn remove_forward_shim(comment_prefix: &str) -> Result<(), FirewallError> {
    shim::remove(comment_prefix)
}

/// The comments of the shim rules present whose comment starts with
/// `comment_prefix` (for the sweep).
pub fn forward_shim_comments(comment_prefix: &str) -> Result<Vec<String>, FirewallError> {
    shim::comments(comment_prefix)
}
