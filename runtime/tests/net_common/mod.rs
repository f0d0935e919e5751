//! Helpers of the networking tests: a kiln root whose kernel objects are
//! removed on drop, network namespaces pinned on files in its scratch dir
//! (made as `kiln_runtime::netns` makes a container's), code run on a thread
//! inside a namespace, and a one-shot TCP server that answers with the
//! address of its peer.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kiln_runtime::network::manage::{self, CreateRequest};
use kiln_runtime::network::record::NetworkRecord;

/// A scratch kiln root; on drop its namespaces are unmounted and all its
/// networking state removed (`manage::reset`: nft table, links, iptables
/// shim rules, records).
pub struct TestRoot {
    /// The root (`<scratch>/root`).
    pub root: PathBuf,
    scratch: tempfile::TempDir,
    mounts: Vec<PathBuf>,
}

impl TestRoot {
    /// A fresh root; `name` is for reading leftovers.
    pub fn new(name: &str) -> TestRoot {
        let scratch = tempfile::Builder::new()
            .prefix(&format!("kiln-{name}-"))
            .tempdir()
            .unwrap();
        let root = scratch.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        TestRoot {
            root,
            scratch,
            mounts: Vec::new(),
        }
    }

    /// Creates the bridge network `name` (IPAM chooses the subnet).
    pub fn network(&mut self, name: &str) -> NetworkRecord {
        let request = CreateRequest {
            name: name.into(),
            driver: "bridge".into(),
            ..CreateRequest::default()
        };
        manage::create(&self.root, &request).unwrap()
    }

    /// A new network namespace pinned on `<scratch>/<name>.netns`, and its
    /// nsfs file open.
    pub fn netns(&mut self, name: &str) -> (PathBuf, File) {
        let path = self.scratch.path().join(format!("{name}.netns"));
        kiln_runtime::netns::ensure(&path).unwrap();
        self.mounts.push(path.clone());
        let file = File::open(&path).unwrap();
        (path, file)
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        for path in self.mounts.drain(..).rev() {
            unmount(&path);
        }
        if let Err(err) = manage::reset(&self.root) {
            eprintln!("cleanup of {}: {err}", self.root.display());
        }
    }
}

/// Lazily unmounts a namespace file (only mounts the test made).
pub fn unmount(path: &Path) {
    let target = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: umount2 of a path we bind-mounted ourselves.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
}

/// Runs `f` on a thread that has entered the network namespace at `netns`.
pub fn in_netns<T: Send + 'static>(netns: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = File::open(netns).unwrap();
    std::thread::spawn(move || {
        enter(&file);
        f()
    })
    .join()
    .unwrap()
}

fn enter(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: setns on this thread only, which the caller owns.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// `nsenter --net=NETNS ARGS…`'s standard output (it must succeed).
pub fn ns_exec(netns: &Path, args: &[&str]) -> String {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP server on `0.0.0.0:port` inside `netns` that answers one
/// connection with its peer's address and ends (or ends after 20 s without
/// one, so a failed client never hangs the test). Listening when this
/// returns.
pub fn serve_once(netns: &Path, port: u16) -> std::thread::JoinHandle<()> {
    let file = File::open(netns).unwrap();
    let (ready, listening) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        enter(&file);
        let listener = TcpListener::bind(("0.0.0.0", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        ready.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let _ = stream.write_all(peer.ip().to_string().as_bytes());
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    listening.recv().unwrap();
    handle
}

/// A UDP server on `0.0.0.0:port` inside `netns` that echoes one datagram
/// and ends (or ends after 20 s without one). Bound when this returns.
pub fn echo_udp_once(netns: &Path, port: u16) -> std::thread::JoinHandle<()> {
    let file = File::open(netns).unwrap();
    let (ready, bound) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        enter(&file);
        let socket = std::net::UdpSocket::bind(("0.0.0.0", port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        ready.send(()).unwrap();
        let mut buf = [0u8; 64];
        if let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], peer);
        }
    });
    bound.recv().unwrap();
    handle
}

/// Waits (up to 10 s) until process `pid` has entered the namespace at
/// `netns` (before that, its `/proc/<pid>/ns/net` is the host's).
pub fn wait_in_netns(pid: u32, netns: &Path) {
    use std::os::unix::fs::MetadataExt;
    let wanted = std::fs::metadata(netns).unwrap().ino();
    let path = format!("/proc/{pid}/ns/net");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).map(|m| m.ino()).ok() != Some(wanted) {
        assert!(
            Instant::now() < deadline,
            "process {pid} never entered {netns:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A host port free now for TCP and UDP on every address, below the
/// kernel's ephemeral range (which `connect` draws from), searched from a
/// start that differs between test processes.
pub fn fixed_port() -> u16 {
    let start = 20000 + (std::process::id() % 500) as u16 * 20;
    let free = |port: u16| {
        std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
            && std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok()
            && std::net::TcpListener::bind(("::", port)).is_ok()
    };
    (start..32000)
        .find(|port| free(*port))
        .expect("a free port below 32000")
}

/// Waits (up to 10 s) until `done` says so; `what` names it on timeout.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills (SIGKILL) and reaps a process this test started, on drop.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
