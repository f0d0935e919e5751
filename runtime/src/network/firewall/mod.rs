//! The root's nftables table (`inet kiln_<tag>`), driven in-process through
//! libnftables (loaded with `dlopen`, falling back to `nft -f -`): per-network
//! rules (outbound masquerade unless internal, hairpin, isolation between
//! networks, no direct routing from outside), published ports as elements
//! of nft maps, the loopback guard that `route_localnet` needs; and the
//! iptables shim for hosts where a Docker daemon set `FORWARD` to DROP.
//! The ruleset texts are pure functions, golden-tested.

use std::net::IpAddr;

use kiln_parser::values::Protocol;

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
}

impl Firewall {
    /// Opens the root's table `table` (`kiln_<tag>`), creating its base
    /// chains and maps when missing.
    pub fn open(table: &str) -> Result<Firewall, FirewallError> {
        let _ = table;
        todo!("firewall: open")
    }

    /// Adds a network's rules (idempotent).
    pub fn add_network(&self, network: &NetworkRules) -> Result<(), FirewallError> {
        let _ = network;
        todo!("firewall: add_network")
    }

    /// Removes a network's rules (missing is fine).
    pub fn remove_network(&self, bridge: &str) -> Result<(), FirewallError> {
        let _ = bridge;
        todo!("firewall: remove_network")
    }

    /// Publishes ports: one transaction; an element already present fails.
    pub fn publish(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        let _ = ports;
        todo!("firewall: publish")
    }

    /// Unpublishes ports (missing elements are fine) and forgets their UDP
    /// conntrack entries.
    pub fn unpublish(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        let _ = ports;
        todo!("firewall: unpublish")
    }

    /// What the table holds.
    pub fn state(&self) -> Result<TableState, FirewallError> {
        todo!("firewall: state")
    }

    /// Deletes the whole table (`kiln system reset`-style cleanup, tests).
    pub fn delete_table(&self) -> Result<(), FirewallError> {
        todo!("firewall: delete_table")
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Adds tagged `ACCEPT` rules for `bridge` to iptables' `FORWARD` chain
/// (both the nf_tables and legacy backends) when its policy is DROP, as a
/// Docker daemon sets it; nothing otherwise.
pub fn ensure_forward_shim(bridge: &str, comment: &str) -> Result<(), FirewallError> {
    let _ = (bridge, comment);
    todo!("firewall: ensure_forward_shim")
}

/// Removes the shim rules whose comment starts with `comment_prefix`.
pub fn remove_forward_shim(comment_prefix: &str) -> Result<(), FirewallError> {
    let _ = comment_prefix;
    todo!("firewall: remove_forward_shim")
}

/// The comments of the shim rules present whose comment starts with
/// `comment_prefix` (for the sweep).
pub fn forward_shim_comments(comment_prefix: &str) -> Result<Vec<String>, FirewallError> {
    let _ = comment_prefix;
    todo!("firewall: forward_shim_comments")
}
