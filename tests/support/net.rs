//! Helpers for the network end-to-end tests (issue 13): an "other host"
//! network namespace on a veth to this host, servers that answer with the
//! address they saw, TCP/UDP/HTTP clients with short timeouts, a guard that
//! sets iptables' `FORWARD` policy to DROP as a Docker daemon does and puts
//! the old policy back, and probes for the kernel objects a kiln root leaves.
//!
//! All traffic stays on this machine: 127.0.0.0/8, this host's addresses,
//! and namespaces the tests make. Every helper that makes a kernel object or
//! a process removes it in `Drop`, and every wait is bounded by a timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

mod host;
#[allow(unused_imports)] // test binaries use different parts
pub use host::*;

/// How long a client waits for a connection or a reply.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

/// The Python interpreter the helpers run (Debian's, not a pyenv shim).
pub const PYTHON: &str = "/usr/bin/python3";

/// A TCP+UDP server on `0.0.0.0:<argv[1]>` that answers every connection
/// or datagram with `tcp peer=<address>` / `udp peer=<address>` (the source
/// address it saw), after printing `ready`.
pub const PEER_SERVER: &str = r#"
import socket, sys, threading
port = int(sys.argv[1])
def tcp(s):
    while True:
        c, a = s.accept()
        try:
            c.sendall(("tcp peer=%s\n" % a[0]).encode())
        finally:
            c.close()
def udp(s):
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(("udp peer=%s\n" % a[0]).encode(), a)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port)); t.listen(64)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
threading.Thread(target=udp, args=(u,), daemon=True).start()
print("ready", flush=True)
tcp(t)
"#;

/// A client: `tcp|udp|http HOST PORT [PATH]`. Prints the reply (for http,
/// the body) and exits 0, or prints `FAIL <error>` and exits 1; every
/// socket operation times out after 3 s.
pub const CLIENT: &str = r#"
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
        s.sendto(b"hello\n", (host, port)); print(s.recvfrom(2048)[0].decode(), end="")
    else:
        s = socket.create_connection((host, port), timeout=3)
        if proto == "http":
            path = sys.argv[4] if len(sys.argv) > 4 else "/"
            s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        text = data.decode()
        if proto == "http":
            # busybox httpd passes a CGI's "\n" header lines through as they are
            text = text.replace("\r\n", "\n")
            head, _, body = text.partition("\n\n")
            if " 200 " not in head.split("\n")[0]:
                raise Exception("status: " + head.split("\n")[0])
            text = body
        print(text, end="")
except Exception as e:
    print("FAIL %s %s" % (type(e).__name__, e)); sys.exit(1)
"#;

/// Runs `cmd` to completion, killed after `limit` (the `timeout` program).
pub fn run_bounded(limit: Duration, program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("-s")
        .arg("KILL")
        .arg(format!("{}", limit.as_secs().max(1)))
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Runs a command that must succeed (a test's own setup), returning stdout.
pub fn must(program: &str, args: &[&str]) -> String {
    let out = run_bounded(Duration::from_secs(30), program, args);
    assert!(
        out.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first line a client printed: `Ok(reply)` on exit 0, `Err(line)`
/// otherwise.
fn client_result(out: Output) -> Result<String, String> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{} {}{}",
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A child process (a server) that is killed and reaped on drop.
pub struct Server(Child);

impl Server {
    /// Spawns `cmd` and waits (at most 20 s) for it to print `ready`.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let server = Server(child);
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.trim() == "ready" => server,
            other => panic!("server never became ready: {other:?}"),
        }
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A peer server ([`PEER_SERVER`]) inside the network namespace of process
/// `pid` (a container's), on `port`.
pub fn peer_server_in(pid: u32, port: u16) -> Server {
    let mut cmd = Command::new("nsenter");
    cmd.arg("-t").arg(pid.to_string()).arg("-n").arg(PYTHON);
    cmd.arg("-c").arg(PEER_SERVER).arg(port.to_string());
    Server::spawn(cmd)
}

static NEXT_HOST: AtomicU32 = AtomicU32::new(0);

/// Another host: a network namespace `kt<hex>` joined to this host by a
/// veth pair addressed from `10.254.<n>.0/30` (host `.1`, other host `.2`,
/// default route via the host). Removed, with its servers, on drop.
pub struct OtherHost {
    /// The namespace's name.
    pub ns: String,
    /// The host side of the veth.
    pub host_if: String,
    /// This host's address on the veth (what the other host talks to).
    pub host_ip: Ipv4Addr,
    /// The other host's address.
    pub ip: Ipv4Addr,
    servers: Vec<Server>,
}

impl OtherHost {
    /// Makes the namespace and its link; picks a free `/30`.
    pub fn new() -> OtherHost {
        let pid = std::process::id();
        let k = NEXT_HOST.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{:06x}{:02x}", pid & 0xff_ffff, k & 0xff);
        let routes = must("ip", &["-4", "route", "show", "table", "all"]);
        let n = (0..250u32)
            .map(|i| (pid + k * 17 + i) % 250 + 1)
            .find(|n| !routes.contains(&format!("10.254.{n}.")))
            .expect("a free 10.254.n.0/30");
        let other = OtherHost {
            ns: format!("kt{tag}"),
            host_if: format!("kth{tag}"),
            host_ip: Ipv4Addr::new(10, 254, n as u8, 1),
            ip: Ipv4Addr::new(10, 254, n as u8, 2),
            servers: Vec::new(),
        };
        other.setup();
        other
    }

    fn setup(&self) {
        let peer = format!("ktp{}", &self.ns[2..]);
        must("ip", &["netns", "add", &self.ns]);
        must(
            "ip",
            &[
                "link",
                "add",
                &self.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &peer,
                "netns",
                &self.ns,
            ],
        );
        let host_cidr = format!("{}/30", self.host_ip);
        must("ip", &["addr", "add", &host_cidr, "dev", &self.host_if]);
        must("ip", &["link", "set", &self.host_if, "up"]);
        let cidr = format!("{}/30", self.ip);
        let host_ip = self.host_ip.to_string();
        for args in [
            vec!["link", "set", "lo", "up"],
            vec!["link", "set", &peer, "name", "eth0"],
            vec!["addr", "add", &cidr, "dev", "eth0"],
            vec!["link", "set", "eth0", "up"],
            vec!["route", "add", "default", "via", &host_ip],
        ] {
            let mut all = vec!["-n", self.ns.as_str()];
            all.extend(args);
            must("ip", &all);
        }
    }

    /// A command run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, program]);
        cmd
    }

    /// Starts a [`PEER_SERVER`] on `port` inside the namespace.
    pub fn serve_peer(&mut self, port: u16) {
        let mut cmd = self.cmd(PYTHON);
        cmd.arg("-c").arg(PEER_SERVER).arg(port.to_string());
        self.servers.push(Server::spawn(cmd));
    }

    /// Runs [`CLIENT`] inside the namespace: `proto` is tcp, udp or http.
    pub fn client(&self, proto: &str, host: &str, port: u16, path: &str) -> Result<String, String> {
        let port = port.to_string();
        let args = [
            "netns", "exec", &self.ns, PYTHON, "-c", CLIENT, proto, host, &port, path,
        ];
        client_result(run_bounded(Duration::from_secs(15), "ip", &args))
    }

    /// Routes `cidr` from the namespace through this host (to try to reach
    /// container addresses directly, as a machine on the LAN could).
    pub fn route_via_host(&self, cidr: &str) {
        let via = self.host_ip.to_string();
        must("ip", &["-n", &self.ns, "route", "add", cidr, "via", &via]);
    }
}

impl Drop for OtherHost {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = run_bounded(
            Duration::from_secs(10),
            "ip",
            &["link", "del", &self.host_if],
        );
        let _ = run_bounded(Duration::from_secs(10), "ip", &["netns", "del", &self.ns]);
    }
}

/// Runs [`CLIENT`] in the network namespace of process `pid`.
pub fn client_in(pid: u32, proto: &str, host: &str, port: u16) -> Result<String, String> {
    let (pid, port) = (pid.to_string(), port.to_string());
    let args = [
        "-t", &pid, "-n", PYTHON, "-c", CLIENT, proto, host, &port, "/",
    ];
    client_result(run_bounded(Duration::from_secs(15), "nsenter", &args))
}

/// An HTTP/1.0 GET of `path` from `addr` (every address `host` resolves to
/// is tried in turn, as curl does); the body, or why it failed.
pub fn http_get(host: &str, port: u16, path: &str) -> Result<String, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} resolved to nothing");
    for addr in addrs {
        match http_get_addr(addr, host, path) {
            Ok(body) => return Ok(body),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

fn http_get_addr(addr: SocketAddr, host: &str, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    // busybox httpd passes a CGI's `\n` header lines through as they are.
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").ok_or("no HTTP header")?;
    let status = head.lines().next().unwrap_or("");
    if !status.contains(" 200 ") {
        return Err(format!("status {status:?}"));
    }
    Ok(body.to_string())
}

/// Connects to `addr` and reads what the server sends until it closes.
pub fn tcp_read(addr: SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// One UDP datagram to `addr`; the reply, or why none came.
pub fn udp_ask(addr: SocketAddr) -> Result<String, String> {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    s.send_to(b"hello\n", addr).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    let (n, _) = s.recv_from(&mut buf).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}
