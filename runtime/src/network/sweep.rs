//! Removes what a `kill -9` left behind (of kiln, of a monitor, at any
//! point): endpoints whose holder process is gone (their port elements and
//! records), and links, firewall rules and iptables shim rules of this root
//! that no record names. Run at the start of networking commands, under the
//! lock; cheap (one nft listing, one link dump, the records).

use std::path::Path;

use super::NetworkError;

/// What one sweep removed (for tests and `--debug`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Endpoint records of dead holders (`network/container`).
    pub endpoints: Vec<String>,
    /// Links without a record.
    pub links: Vec<String>,
    /// Bridges' firewall rules without a record.
    pub rules: Vec<String>,
    /// Published ports without an endpoint.
    pub ports: usize,
    /// iptables shim rules without a record.
    pub shim_rules: Vec<String>,
}

/// Sweeps the root `root`.
pub fn sweep(root: &Path) -> Result<SweepReport, NetworkError> {
    let _ = root;
    todo!("sweep: sweep")
}
