//! The verbs on networks that `kiln network …` and Compose call: create,
//! list, inspect, remove, prune, and the predefined networks (`bridge`,
//! `host`, `none`) made on first use as Docker's daemon makes them at start.
//! Each verb: lock, sweep, check, write the record, then act on the kernel.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::record::{EndpointRecord, NetworkRecord};
use super::NetworkError;

/// `kiln network create`'s request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// The name.
    pub name: String,
    /// `--driver` (`bridge` when empty).
    pub driver: String,
    /// `--subnet`/`--gateway`/`--ip-range`, in order (IPv4 and IPv6).
    pub subnets: Vec<SubnetRequest>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o` (`com.docker.network.bridge.name`, `…driver.mtu` are honoured).
    pub options: BTreeMap<String, String>,
}

/// One `--subnet` with its `--gateway` and `--ip-range`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetRequest {
    /// CIDR.
    pub subnet: String,
    /// The bridge's address (default: the first host address).
    pub gateway: Option<IpAddr>,
    /// Where dynamic addresses come from.
    pub ip_range: Option<String>,
}

/// A network with the containers on it (for `ls`, `inspect`, `rm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    /// The record.
    pub network: NetworkRecord,
    /// Its live endpoints.
    pub endpoints: Vec<EndpointRecord>,
}

/// Creates a network (record first, then bridge and rules).
pub fn create(root: &Path, request: &CreateRequest) -> Result<NetworkRecord, NetworkError> {
    let _ = (root, request);
    todo!("manage: create")
}

/// Makes sure the predefined networks exist (`bridge` with its bridge and
/// rules, `host`, `none`) and returns `bridge`.
pub fn ensure_predefined(root: &Path) -> Result<NetworkRecord, NetworkError> {
    let _ = root;
    todo!("manage: ensure_predefined")
}

/// Every network with its endpoints, sorted by name.
pub fn list(root: &Path) -> Result<Vec<NetworkView>, NetworkError> {
    let _ = root;
    todo!("manage: list")
}

/// One network by name, ID or ID prefix, with its endpoints.
pub fn inspect(root: &Path, name_or_id: &str) -> Result<NetworkView, NetworkError> {
    let _ = (root, name_or_id);
    todo!("manage: inspect")
}

/// Removes a network (refused while containers use it, or predefined).
pub fn remove(root: &Path, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
    let _ = (root, name_or_id);
    todo!("manage: remove")
}

/// Removes every user-defined network without endpoints for which `keep`
/// says false; returns the removed networks' names.
pub fn prune(
    root: &Path,
    keep: &dyn Fn(&NetworkRecord) -> bool,
) -> Result<Vec<String>, NetworkError> {
    let _ = (root, keep);
    todo!("manage: prune")
}
