//! Helpers of the firewall tests: unique names, a table deleted on drop, and
//! a small lab — a bridge and "containers" (network namespaces on veths)
//! made with `ip`, each able to run a TCP server that answers with the
//! address it saw. Everything is removed on drop, even when a test fails.

#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use kiln_runtime::network::firewall::{
    ensure_forward_shim, remove_forward_shim, Firewall, NftBackend,
};

/// 16 hex digits no other test (in this process or another) will get.
pub fn unique_hex() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut h = DefaultHasher::new();
    std::process::id().hash(&mut h);
    COUNTER.fetch_add(1, Ordering::SeqCst).hash(&mut h);
    SystemTime::now().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Runs a program; its stdout. Panics (naming the command) on failure.
pub fn cmd(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a program, ignoring failure (cleanup).
fn quiet(program: &str, args: &[&str]) {
    let _ = Command::new(program).args(args).output();
}

/// A table of its own (`kiln_t<hex>`), deleted on drop.
pub struct Table {
    /// The firewall on it.
    pub fw: Firewall,
}

impl Table {
    /// Opens a fresh table through `backend`.
    pub fn new(backend: NftBackend) -> Table {
        let name = format!("kiln_t{}", &unique_hex()[..12]);
        Table {
            fw: Firewall::open_using(&name, backend).unwrap(),
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if self.fw.delete_table().is_err() {
            quiet("nft", &["delete", "table", "inet", self.fw.table()]);
        }
    }
}

/// The iptables shim for these bridges, as kiln adds it (rules only where
/// a `FORWARD` policy is DROP, e.g. a Docker daemon's), removed on drop.
pub fn shim_for(bridges: &[&str]) -> ShimGuard {
    let prefix = format!("kiln:t{}:", &unique_hex()[..6]);
    let guard = ShimGuard(prefix.clone());
    for b in bridges {
        ensure_forward_shim(b, &format!("{prefix}{b}")).unwrap();
    }
    guard
}

/// Removes shim rules with this comment prefix on drop.
pub struct ShimGuard(pub String);

impl Drop for ShimGuard {
    fn drop(&mut self) {
        let _ = remove_forward_shim(&self.0);
    }
}

/// A host port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects to `ip:port` (2 s bounds) and reads the server's one line.
pub fn ask(ip: IpAddr, port: u16) -> std::io::Result<String> {
    let addr = SocketAddr::new(ip, port);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text.trim().to_string())
}

/// Sends one datagram from `socket` to `ip:port`; the reply (2 s bound).
pub fn ask_udp(socket: &UdpSocket, ip: IpAddr, port: u16) -> std::io::Result<String> {
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    socket.send_to(b"?", (ip, port))?;
    let mut buf = [0u8; 512];
    let (n, _) = socket.recv_from(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A bridge with a /24 of 10.200.0.0/16 that no route uses, made with `ip`.
pub struct Lab {
    /// The bridge's name.
    pub bridge: String,
    /// The third octet of the subnet.
    pub octet: u8,
    /// The bridge's address (`.1`).
    pub gateway: Ipv4Addr,
    hex: String,
    links: std::sync::Mutex<Vec<String>>,
    namespaces: std::sync::Mutex<Vec<String>>,
}

impl Lab {
    /// Makes the bridge (up, gateway address, `route_localnet=1` as kiln's
    /// bridges have it).
    pub fn new() -> Lab {
        let hex = unique_hex()[..6].to_string();
        let octet = free_octet(&hex);
        let bridge = format!("kbt{hex}");
        let gateway = Ipv4Addr::new(10, 200, octet, 1);
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        let lab = Lab {
            bridge: bridge.clone(),
            octet,
            gateway,
            hex,
            links: std::sync::Mutex::new(vec![bridge.clone()]),
            namespaces: std::sync::Mutex::new(Vec::new()),
        };
        cmd("ip", &["link", "add", &bridge, "type", "bridge"]);
        cmd(
            "ip",
            &["addr", "add", &format!("{gateway}/24"), "dev", &bridge],
        );
        cmd("ip", &["link", "set", &bridge, "up"]);
        let sysctl = format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet");
        std::fs::write(sysctl, "1").unwrap();
        lab
    }

    /// Another host: a namespace on a veth whose host side has `.1` of a
    /// subnet of its own, default route via the host (so it could route to
    /// container addresses directly, were they not guarded).
    pub fn other_host(&self) -> (Netns, Ipv4Addr) {
        let octet = free_octet(&unique_hex());
        let ns = format!("kfx{}", self.hex);
        let veth = format!("kvx{}", self.hex);
        let host = Ipv4Addr::new(10, 200, octet, 1);
        let ip = Ipv4Addr::new(10, 200, octet, 2);
        cmd("ip", &["netns", "add", &ns]);
        self.namespaces.lock().unwrap().push(ns.clone());
        cmd(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        );
        self.links.lock().unwrap().insert(0, veth.clone());
        cmd("ip", &["addr", "add", &format!("{host}/24"), "dev", &veth]);
        cmd("ip", &["link", "set", &veth, "up"]);
        cmd(
            "ip",
            &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
        );
        cmd("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
        cmd("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        cmd(
            "ip",
            &[
                "-n",
                &ns,
                "route",
                "add",
                "default",
                "via",
                &host.to_string(),
            ],
        );
        (Netns { name: ns, ip }, host)
    }

    /// `10.200.<octet>.0`.
    pub fn subnet_base(&self) -> String {
        format!("10.200.{}.0", self.octet)
    }

    /// A network namespace on a veth on the bridge, with address `.<n+1>`.
    pub fn container(&self, n: u8) -> Netns {
        let ns = format!("kft{}{n}", self.hex);
        let veth = format!("kvt{}{n}", self.hex);
        let ip = Ipv4Addr::new(10, 200, self.octet, n + 1);
        cmd("ip", &["netns", "add", &ns]);
        self.namespaces.lock().unwrap().push(ns.clone());
        cmd(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        );
        self.links.lock().unwrap().insert(0, veth.clone());
        cmd("ip", &["link", "set", &veth, "master", &self.bridge, "up"]);
        cmd(
            "ip",
            &[
                "link",
                "set",
                &veth,
                "type",
                "bridge_slave",
                "hairpin",
                "on",
            ],
        );
        cmd(
            "ip",
            &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
        );
        cmd("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
        cmd("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        let gw = self.gateway.to_string();
        cmd("ip", &["-n", &ns, "route", "add", "default", "via", &gw]);
        Netns { name: ns, ip }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for link in self.links.lock().unwrap().iter() {
            quiet("ip", &["link", "del", link]);
        }
        for ns in self.namespaces.lock().unwrap().iter() {
            quiet("ip", &["netns", "del", ns]);
        }
    }
}

/// A third octet in 10.200.100-249.0/24 that no route of the host uses
/// and no other lab of this process took, starting from one derived from
/// `hex` (so parallel test processes start apart).
fn free_octet(hex: &str) -> u8 {
    static TAKEN: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap();
    let routes = cmd("ip", &["-4", "route", "show"]);
    let start = u8::from_str_radix(&hex[..2], 16).unwrap() % 150;
    let octet = (0..150u8)
        .map(|i| 100 + (start + i) % 150)
        .find(|o| !taken.contains(o) && !routes.contains(&format!("10.200.{o}.")))
        .expect("a free 10.200.x.0/24");
    taken.push(octet);
    octet
}

/// A network namespace playing a container.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
    /// Its address.
    pub ip: Ipv4Addr,
}

impl Netns {
    /// [`ask`] from inside the namespace.
    pub fn ask(&self, ip: IpAddr, port: u16) -> std::io::Result<String> {
        self.inside(move || ask(ip, port))
    }

    /// Runs `f` on a thread that entered the namespace.
    fn inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(path).unwrap();
            // SAFETY: setns on this short-lived thread only.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    }

    /// A UDP server on `port` inside the namespace that answers each
    /// datagram with `tag`.
    pub fn serve_udp(&self, port: u16, tag: &str) -> Server {
        let socket = self.inside(move || UdpSocket::bind(("0.0.0.0", port)).unwrap());
        Server::run_udp(socket, tag.to_string())
    }

    /// A TCP server on `port` inside the namespace that writes
    /// `peer=<client address>` to each connection.
    pub fn serve(&self, port: u16) -> Server {
        let listener = self.inside(move || TcpListener::bind(("0.0.0.0", port)).unwrap());
        Server::run(listener)
    }
}

/// A server thread; stopped and joined on drop.
pub struct Server {
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener` (made in whatever namespace) on a thread.
    pub fn run(listener: TcpListener) -> Server {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let (s, n) = (stop.clone(), served.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, peer)) => {
                        let _ = conn.write_all(format!("peer={}\n", peer.ip()).as_bytes());
                        n.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        Server {
            stop,
            served,
            thread: Some(thread),
        }
    }

    /// Answers each datagram on `socket` with `tag`, on a thread.
    pub fn run_udp(socket: UdpSocket, tag: String) -> Server {
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let (s, n) = (stop.clone(), served.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::SeqCst) {
                if let Ok((_, peer)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(tag.as_bytes(), peer);
                    n.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Server {
            stop,
            served,
            thread: Some(thread),
        }
    }

    /// Connections answered so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `f` on a thread inside a network namespace of its own, playing the
/// host: its iptables policies, sysctls, nft tables and links are its own,
/// so a test may set `FORWARD` to DROP there without touching the real
/// host. Everything in it goes with the thread.
pub fn in_private_host<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare of this thread's network namespace only.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            cmd("ip", &["link", "set", "lo", "up"]);
            f()
        })
        .join()
        .unwrap()
    })
}
