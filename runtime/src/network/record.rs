//! The networks' source of truth on disk: one [`NetworkRecord`] per network
//! (`<root>/networks/<id>.json`) and one [`EndpointRecord`] per attached
//! container (`<root>/networks/<id>/endpoints/<container id>.json`), written
//! with temp file + rename, changed under the root-wide lock
//! (`<root>/networks/.lock`). Every change bumps `<root>/networks/generation`
//! so readers that cache (the DNS responder) know when to reload with one
//! `stat` (each bump renames a new file into place).
//!
//! Network records are fsynced before the rename: they must survive a
//! power loss. Endpoint records are renamed into place without an fsync
//! (measured here: 12 ms an fsync against 0.15 ms, on every `run`): what
//! they describe (a veth in the container's namespace, published ports of
//! a live monitor) does not survive a reboot either, so a lost or stale
//! endpoint record after a power loss is one whose holder is dead, which
//! the sweep removes; a `kill -9` cannot lose a renamed file.
//!
//! The lock is an `flock` on `<root>/networks/.lock`, re-entrant within a
//! thread (a verb that sweeps, or ensures the predefined networks, takes it
//! again without deadlocking on itself); other threads and processes wait.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kiln_parser::values::Protocol;
use serde::{Deserialize, Serialize};

use super::NetworkError;

/// A network, as `kiln network create` made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// 64 hex digits (Docker's network ID shape).
    pub id: String,
    /// Unique name (`bridge` is the default network).
    pub name: String,
    /// `bridge`, `host` or `null` (Docker's names; `none` is `null`).
    pub driver: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// The Linux bridge's name (`kb<tag><n>`; empty for host/null).
    pub bridge: String,
    /// IPv4 and (with `--ipv6`) IPv6 address ranges.
    pub subnets: Vec<Subnet>,
    /// `--internal`: no outbound route, no published ports from outside.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--attachable` (recorded; every kiln network is attachable).
    pub attachable: bool,
    /// Containers resolve each other's names (user-defined networks; not the
    /// default `bridge`, as in Docker).
    pub dns: bool,
    /// The bridge's MTU (the default route's interface's by default).
    pub mtu: u32,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o` driver options, as given.
    pub options: BTreeMap<String, String>,
}

/// One address range of a network (Docker's `IPAM.Config` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The range, e.g. `172.18.0.0/16`.
    pub subnet: String,
    /// The bridge's address in it, e.g. `172.18.0.1`.
    pub gateway: IpAddr,
    /// `--ip-range`: where dynamic addresses come from (None: the subnet).
    pub ip_range: Option<String>,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The network's ID.
    pub network_id: String,
    /// The container's full ID.
    pub container_id: String,
    /// The container's name (without `/`).
    pub container_name: String,
    /// 64 hex digits (Docker's `EndpointID`).
    pub endpoint_id: String,
    /// Interface name inside the container (`eth0`, `eth1`, …).
    pub interface: String,
    /// The host side of the veth pair.
    pub host_veth: String,
    /// `02:42:…`-style MAC address of the container side.
    pub mac: String,
    /// IPv4 address and prefix length.
    pub ipv4: Option<(IpAddr, u8)>,
    /// IPv6 address and prefix length (IPv6 networks only).
    pub ipv6: Option<(IpAddr, u8)>,
    /// Names the container answers to on this network besides its name and
    /// short ID: `--network-alias`es, and Compose's service name.
    pub aliases: Vec<String>,
    /// Ports published through this endpoint.
    pub ports: Vec<PublishedPort>,
    /// `--dns` servers (where the container's DNS forwards other names;
    /// empty: the host's resolvers).
    pub dns_servers: Vec<IpAddr>,
    /// The process whose life the endpoint lives by (the container's
    /// monitor) and its start time in clock ticks (from `/proc/<pid>/stat`,
    /// so a reused PID is not mistaken for it). The sweep removes endpoints
    /// whose holder is gone.
    pub holder_pid: u32,
    /// See `holder_pid`.
    pub holder_start: u64,
}

/// One published port (`-p [ip:]host:container[/proto]`), resolved: the
/// host port is concrete (a random one was chosen when none was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `None`: every host address (`0.0.0.0` and `::`).
    pub host_ip: Option<IpAddr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port in the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: Protocol,
}

/// The records under one kiln root.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
}

/// Holds the root-wide network lock while alive. Taken again by the same
/// thread, it is a no-op guard (the outermost one unlocks); keep it on the
/// thread that took it.
#[derive(Debug)]
pub struct NetworkLock {
    /// The locked file (None for a nested guard).
    _file: Option<std::fs::File>,
    /// The `networks` folder it locks.
    dir: PathBuf,
}

thread_local! {
    /// The `networks` folders this thread holds the lock of.
    static HELD: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for NetworkLock {
    fn drop(&mut self) {
        if self._file.is_some() {
            HELD.with(|held| held.borrow_mut().retain(|d| d != &self.dir));
        }
    }
}

const LOCK_FILE: &str = ".lock";
const GENERATION_FILE: &str = "generation";

impl NetworkStore {
    /// Opens (creating if needed) `<root>/networks`.
    pub fn open(root: &Path) -> Result<NetworkStore, NetworkError> {
        let dir = root.join("networks");
        std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io("creating", &dir, e))?;
        Ok(NetworkStore { dir })
    }

    /// Takes the root-wide lock (blocking); every change of records and of
    /// the kernel objects they name happens under it.
    pub fn lock(&self) -> Result<NetworkLock, NetworkError> {
        let nested = HELD.with(|held| held.borrow().contains(&self.dir));
        if nested {
            return Ok(NetworkLock {
                _file: None,
                dir: self.dir.clone(),
            });
        }
        let path = self.dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| NetworkError::io("opening lock", &path, e))?;
        flock_exclusive(&file).map_err(|e| NetworkError::io("locking", &path, e))?;
        HELD.with(|held| held.borrow_mut().push(self.dir.clone()));
        Ok(NetworkLock {
            _file: Some(file),
            dir: self.dir.clone(),
        })
    }

    /// Every network, sorted by name.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, NetworkError> {
        let mut networks = Vec::new();
        for path in json_files(&self.dir)? {
            networks.push(read_json::<NetworkRecord>(&path)?);
        }
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(networks)
    }

    /// The network named `name_or_id` (exact name, full ID, or unique ID
    /// prefix, as Docker looks networks up: full ID first, then name, then
    /// ID prefix).
    pub fn find(&self, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
        let networks = self.networks()?;
        find_in(networks, name_or_id)
    }

    /// Writes `network` (atomically) and bumps the generation.
    pub fn put_network(&self, network: &NetworkRecord) -> Result<(), NetworkError> {
        let path = self.network_path(&network.id)?;
        write_json(&path, network, true)?;
        self.bump()
    }

    /// Removes a network's record (and its endpoints folder).
    pub fn remove_network(&self, id: &str) -> Result<(), NetworkError> {
        let path = self.network_path(id)?;
        remove_if_present(&path)?;
        let folder = self.dir.join(id);
        match std::fs::remove_dir_all(&folder) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(NetworkError::io("removing", folder, e))
            }
            _ => {}
        }
        self.bump()
    }

    /// The endpoints of network `id`.
    pub fn endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, NetworkError> {
        check_component(network_id)?;
        let dir = self.dir.join(network_id).join("endpoints");
        let mut endpoints = Vec::new();
        for path in json_files(&dir)? {
            endpoints.push(read_json::<EndpointRecord>(&path)?);
        }
        endpoints.sort_by(|a, b| a.container_name.cmp(&b.container_name));
        Ok(endpoints)
    }

    /// Every endpoint of container `container_id`, across networks.
    pub fn endpoints_of(&self, container_id: &str) -> Result<Vec<EndpointRecord>, NetworkError> {
        check_component(container_id)?;
        let mut found = Vec::new();
        for network in self.networks()? {
            let path = self.endpoint_path(&network.id, container_id)?;
            if path.exists() {
                found.push(read_json::<EndpointRecord>(&path)?);
            }
        }
        Ok(found)
    }

    /// Writes `endpoint` (atomically) and bumps the generation.
    pub fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), NetworkError> {
        let path = self.endpoint_path(&endpoint.network_id, &endpoint.container_id)?;
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(|e| NetworkError::io("creating", parent, e))?;
        write_json(&path, endpoint, false)?;
        self.bump()
    }

    /// Removes one endpoint record (missing is fine).
    pub fn remove_endpoint(
        &self,
        network_id: &str,
        container_id: &str,
    ) -> Result<(), NetworkError> {
        let path = self.endpoint_path(network_id, container_id)?;
        if remove_if_present(&path)? {
            self.bump()?;
        }
        Ok(())
    }

    /// The change counter (bumped by every put/remove; 0 before the first).
    pub fn generation(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(GENERATION_FILE))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `<root>/networks/generation`: the file whose change (a new inode on
    /// every bump) tells caching readers to reload.
    pub fn generation_path(&self) -> PathBuf {
        self.dir.join(GENERATION_FILE)
    }

    /// `<root>/networks`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn network_path(&self, id: &str) -> Result<PathBuf, NetworkError> {
        check_component(id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }

    fn endpoint_path(&self, network_id: &str, container_id: &str) -> Result<PathBuf, NetworkError> {
        check_component(network_id)?;
        check_component(container_id)?;
        Ok(self
            .dir
            .join(network_id)
            .join("endpoints")
            .join(format!("{container_id}.json")))
    }

    /// Bumps the generation (no fsync: it only matters to live readers).
    fn bump(&self) -> Result<(), NetworkError> {
        let next = self.generation() + 1;
        let path = self.dir.join(GENERATION_FILE);
        write_file(&path, next.to_string().as_bytes(), false)
    }
}

/// Docker's lookup order over `networks`: full ID, exact name, unique ID
/// prefix.
fn find_in(networks: Vec<NetworkRecord>, key: &str) -> Result<NetworkRecord, NetworkError> {
    if key.is_empty() {
        return Err(NetworkError::NotFound(key.to_string()));
    }
    if let Some(n) = networks.iter().find(|n| n.id == key) {
        return Ok(n.clone());
    }
    if let Some(n) = networks.iter().find(|n| n.name == key) {
        return Ok(n.clone());
    }
    let mut matches: Vec<NetworkRecord> = networks
        .into_iter()
        .filter(|n| n.id.starts_with(key))
        .collect();
    match matches.len() {
        0 => Err(NetworkError::NotFound(key.to_string())),
        1 => Ok(matches.remove(0)),
        count => Err(NetworkError::Ambiguous(key.to_string(), count)),
    }
}

/// Refuses an ID that is not exactly one plain path component.
fn check_component(id: &str) -> Result<(), NetworkError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && !id.starts_with('.')
        && !id.contains(['/', '\0']);
    if ok {
        Ok(())
    } else {
        Err(NetworkError::InvalidId(id.to_string()))
    }
}

fn flock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a file descriptor this function borrows.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The `*.json` files directly in `dir` (none when it does not exist),
/// skipping temp files (they start with `.`).
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, NetworkError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetworkError::io("listing", dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| NetworkError::io("listing", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") && !name.starts_with('.') {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, NetworkError> {
    let bytes = std::fs::read(path).map_err(|e| NetworkError::io("reading", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| NetworkError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<(), NetworkError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| NetworkError::Corrupt {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_file(path, &bytes, durable)
}

/// Writes `bytes` to a temp file beside `path`, then renames it over
/// `path`; when `durable`, the file is fsynced before the rename and its
/// folder after it.
fn write_file(path: &Path, bytes: &[u8], durable: bool) -> Result<(), NetworkError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)?;
        if durable {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        NetworkError::io("writing", path, e)
    })
}

/// Removes `path`; whether it was there.
fn remove_if_present(path: &Path) -> Result<bool, NetworkError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(NetworkError::io("removing", path, e)),
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
