//! Fixture of the container-DNS tests: a network namespace pinned in a temp
//! dir (unmounted on drop), network records written under a temp kiln root
//! through `NetworkStore`, a poll loop driving a
//! [`Responder`], clients inside the namespace (in-process and `dig`), and
//! a fake upstream server on 127.0.0.1 (nothing leaves the machine).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_runtime::network::dns::server::FORWARD_DEADLINE;
use kiln_runtime::network::dns::Responder;
use kiln_runtime::network::record::{EndpointRecord, NetworkRecord, NetworkStore};

/// How long any one test may wait for anything before failing.
pub const HANG_LIMIT: Duration = Duration::from_secs(30);

/// A pinned network namespace and a kiln root with records.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub netns_path: PathBuf,
    pub netns: File,
}

impl Fixture {
    /// A fresh namespace (lo up) and an empty root.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let netns_path = dir.path().join("netns");
        kiln_runtime::netns::ensure(&netns_path).unwrap();
        let netns = File::open(&netns_path).unwrap();
        Fixture {
            dir,
            root,
            netns_path,
            netns,
        }
    }

    /// Writes a network record.
    pub fn network(&self, id: &str, name: &str, dns: bool) {
        let record = NetworkRecord {
            id: id.into(),
            name: name.into(),
            driver: "bridge".into(),
            created: "2026-12-07T00:00:00.000000000Z".into(),
            bridge: String::new(),
            subnets: Vec::new(),
            internal: false,
            ipv6: false,
            attachable: false,
            dns,
            mtu: 1500,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
        };
        self.store().put_network(&record).unwrap();
    }

    /// Writes an endpoint record.
    pub fn endpoint(&self, network_id: &str, container_id: &str, name: &str, ips: &[&str]) {
        self.endpoint_with(network_id, container_id, name, ips, &[]);
    }

    /// Writes an endpoint record with aliases.
    pub fn endpoint_with(
        &self,
        network_id: &str,
        container_id: &str,
        name: &str,
        ips: &[&str],
        aliases: &[&str],
    ) {
        let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
        let record = EndpointRecord {
            network_id: network_id.into(),
            container_id: container_id.into(),
            container_name: name.into(),
            endpoint_id: "e".repeat(64),
            interface: "eth0".into(),
            host_veth: String::new(),
            mac: "02:42:0a:c8:01:02".into(),
            ipv4: ips.iter().find(|ip| ip.is_ipv4()).map(|ip| (*ip, 24)),
            ipv6: ips.iter().find(|ip| ip.is_ipv6()).map(|ip| (*ip, 64)),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ports: Vec::new(),
            dns_servers: Vec::new(),
            holder_pid: std::process::id(),
            holder_start: 0,
        };
        self.store().put_endpoint(&record).unwrap();
    }

    /// The root's record store.
    pub fn store(&self) -> NetworkStore {
        NetworkStore::open(&self.root).unwrap()
    }

    /// A responder for `container_id` with these upstream servers.
    pub fn responder(&self, container_id: &str, upstream: Vec<SocketAddr>) -> Responder {
        Responder::bind(&self.netns, &self.root, container_id, upstream).unwrap()
    }

    /// `dig @127.0.0.11 ARGS +short` run inside the namespace: its lines.
    pub fn dig(&self, args: &[&str]) -> Vec<String> {
        let output = Command::new("nsenter")
            .arg(format!("--net={}", self.netns_path.display()))
            .args(["dig", "@127.0.0.11", "+time=3", "+tries=1", "+norecurse"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The `status:` word of a full `dig` answer (NOERROR, NXDOMAIN…).
    pub fn dig_status(&self, args: &[&str]) -> String {
        let lines = self.dig(args);
        let status = lines
            .iter()
            .find_map(|l| l.split("status: ").nth(1))
            .unwrap_or_else(|| panic!("no status in dig output: {lines:?}"));
        status.split(',').next().unwrap().to_owned()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let path = std::ffi::CString::new(self.netns_path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: unmounting the nsfs bind mount this fixture made.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Runs `client` on a thread while this thread drives `responder` with a
/// poll loop on its descriptors and deadlines; returns the client's result.
pub fn serve<R: Send>(responder: &mut Responder, client: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            let result = client();
            done.store(true, Ordering::SeqCst);
            result
        });
        let started = Instant::now();
        while !done.load(Ordering::SeqCst) {
            assert!(started.elapsed() < HANG_LIMIT, "client hung");
            poll_once(responder, 20);
        }
        handle.join().unwrap()
    })
}

/// One poll of the responder's descriptors (up to `timeout_ms`), then its
/// readable descriptors and due deadlines handled.
pub fn poll_once(responder: &mut Responder, timeout_ms: i32) {
    let mut fds: Vec<libc::pollfd> = responder
        .fds()
        .into_iter()
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: poll on a vector of pollfd we own.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n > 0 {
        for fd in fds.iter().filter(|p| p.revents != 0) {
            responder.on_readable(fd.fd);
        }
    }
    if responder
        .next_deadline()
        .is_some_and(|d| d <= Instant::now())
    {
        responder.on_deadline(Instant::now());
    }
}

/// Runs `f` on a thread that entered `netns`.
pub fn in_netns<R: Send>(netns: &File, f: impl FnOnce() -> R + Send) -> R {
    let fd = netns.as_raw_fd();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a thread of our own that ends after `f`.
                assert_eq!(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, 0);
                f()
            })
            .join()
            .unwrap()
    })
}

/// A query for `name` of type `qtype`, ID `id`, RD set.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Sends `query` to 127.0.0.11:53 from `socket` and waits for the reply.
pub fn ask(socket: &UdpSocket, query: &[u8]) -> Vec<u8> {
    socket.send_to(query, "127.0.0.11:53").unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// A client socket on 127.0.0.1 with a receive timeout (call in the netns).
pub fn client_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
}

/// The rcode of a reply.
pub fn rcode(reply: &[u8]) -> u8 {
    reply[3] & 0x0f
}

/// A fake upstream DNS server on 127.0.0.1 (host namespace): answers
/// `outside.test` A with 192.0.2.77 and everything else NXDOMAIN, or stays
/// silent; counts the queries it got.
pub struct FakeUpstream {
    pub address: SocketAddr,
    pub seen: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeUpstream {
    /// Starts it; `silent` never replies.
    pub fn start(silent: bool) -> FakeUpstream {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let address = socket.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                seen2.fetch_add(1, Ordering::SeqCst);
                if !silent {
                    let _ = socket.send_to(&fake_reply(&buf[..n]), from);
                }
            }
        });
        FakeUpstream {
            address,
            seen,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The fake upstream's reply: the header and question of `query` (its
/// additional records dropped), then the answer.
fn fake_reply(query: &[u8]) -> Vec<u8> {
    let mut at = 12;
    let mut name = Vec::new();
    while query[at] != 0 {
        let len = query[at] as usize;
        name.push(String::from_utf8_lossy(&query[at + 1..at + 1 + len]).to_lowercase());
        at += 1 + len;
    }
    let end = at + 5;
    let mut reply = query[..end].to_vec();
    reply[2] = 0x81;
    reply[3] = 0x80;
    reply[10] = 0;
    reply[11] = 0;
    if name.join(".") == "outside.test" {
        reply[7] = 1;
        reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77]);
    } else {
        reply[3] = 0x83;
    }
    reply
}

/// Sends `query` (one that gets forwarded) from inside the namespace, lets
/// the responder forward it, then hands it its deadline as passed (time is
/// not waited for) and returns the reply the asker got.
pub fn ask_past_the_deadline(f: &Fixture, responder: &mut Responder, query: &[u8]) -> Vec<u8> {
    std::thread::scope(|scope| {
        let client = scope.spawn(|| in_netns(&f.netns, || ask(&client_socket(), query)));
        let started = Instant::now();
        while responder.next_deadline().is_none() {
            assert!(started.elapsed() < HANG_LIMIT, "query never forwarded");
            poll_once(responder, 20);
        }
        let due = responder.next_deadline().unwrap();
        assert!(due <= Instant::now() + FORWARD_DEADLINE);
        responder.on_deadline(due + Duration::from_millis(1));
        client.join().unwrap()
    })
}
