//! Reading the network records the responder answers from, read-only and
//! without the root-wide lock (every record file is replaced atomically by
//! its writer, so a reader sees the old or the new one).
//!
//! The layout is [`crate::network::record`]'s: `<root>/networks/<id>.json`,
//! `<root>/networks/<id>/endpoints/<container id>.json`, and the change
//! counter `<root>/networks/generation` (decimal). A record that does not
//! read or parse is skipped: answering never fails because of one bad file.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use super::names::NameTable;
use crate::network::record::{EndpointRecord, NetworkRecord};

/// What the responder of one container knows from the records.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The names it answers.
    pub table: NameTable,
    /// The container's `--dns` servers (port 53); empty: the host's.
    pub upstream: Vec<SocketAddr>,
}

/// The change counter of the records under `root` (0 when none yet).
pub fn generation(root: &Path) -> u64 {
    std::fs::read_to_string(root.join("networks").join("generation"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

/// The [`View`] of container `container_id` from the records under `root`.
pub fn load(root: &Path, container_id: &str) -> View {
    let dir = root.join("networks");
    if !is_plain_id(container_id) {
        return View::default();
    }
    let networks: Vec<NetworkRecord> = json_files(&dir)
        .into_iter()
        .filter_map(|path| read_json(&path))
        .collect();
    let mut endpoints = Vec::new();
    let mut upstream = Vec::new();
    for network in &networks {
        if !is_plain_id(&network.id) {
            continue;
        }
        let folder = dir.join(&network.id).join("endpoints");
        let own: Option<EndpointRecord> = read_json(&folder.join(format!("{container_id}.json")));
        let Some(own) = own else { continue };
        for ip in &own.dns_servers {
            let server = SocketAddr::new(*ip, 53);
            if !upstream.contains(&server) {
                upstream.push(server);
            }
        }
        if network.dns {
            endpoints.extend(
                json_files(&folder)
                    .into_iter()
                    .filter_map(|path| read_json::<EndpointRecord>(&path))
                    .filter(|e| e.network_id == network.id),
            );
        }
    }
    View {
        table: NameTable::build(container_id, &networks, &endpoints),
        upstream,
    }
}

/// The `*.json` files directly in `dir`, sorted by name.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A record file, parsed; None when missing or unreadable.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// IDs name files: only letters, digits, `-` and `_` (never a path).
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `ip` may be used as a forwarding target: any address (loopback
/// included: forwarding happens from the host's namespace).
pub fn usable_upstream(ip: &IpAddr) -> bool {
    !ip.is_unspecified() && !ip.is_multicast()
}
