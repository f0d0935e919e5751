//! RUN --mount=type=ssh: a forwarding proxy for an SSH agent socket.
//!
//! The host's agent socket is never bind-mounted into a step (its owner and
//! mode must not change). Instead the build process listens on a socket of
//! its own, in the step's scratch folder, with the owner and mode the mount
//! asked for; that socket is bind-mounted at the mount's target. Each
//! connection the step makes is connected to the host agent and copied both
//! ways by two threads.
//!
//! Choices: the accept loop polls every 100 ms for the stop flag (so
//! stopping never depends on a last connection); finished connections are
//! reaped as they end (no fd piles up in a long step); when the agent closes
//! its side, the whole connection is shut down (the step sees EOF rather
//! than waiting forever); dropping the [`SshProxy`] shuts every connection
//! down, joins every thread and removes the socket file.

use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How long the accept loop waits before looking at the stop flag again.
const POLL_MS: libc::c_int = 100;

/// A running agent proxy; stopped (threads joined, socket removed) on drop.
pub struct SshProxy {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SshProxy {
    /// Listens on `socket` (created with `mode`, owned by `uid:gid`) and
    /// forwards every connection to the agent listening on `agent`.
    pub fn start(
        socket: &Path,
        agent: &Path,
        (mode, uid, gid): (u32, u32, u32),
    ) -> io::Result<SshProxy> {
        match std::fs::remove_file(socket) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(socket)?;
        let setup = (|| {
            std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode))?;
            std::os::unix::fs::chown(socket, Some(uid), Some(gid))?;
            listener.set_nonblocking(true)
        })();
        if let Err(e) = setup {
            let _ = std::fs::remove_file(socket);
            return Err(e);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let agent = agent.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("ssh-proxy".into())
            .spawn(move || serve(&listener, &agent, &flag));
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                let _ = std::fs::remove_file(socket);
                return Err(e);
            }
        };
        Ok(SshProxy {
            socket: socket.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SshProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The accept loop: runs until `stop`, then closes every connection.
fn serve(listener: &UnixListener, agent: &Path, stop: &AtomicBool) {
    let mut conns: Vec<Conn> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if let Ok(conn) = Conn::start(client, agent) {
                    conns.push(conn);
                }
                // A failed agent connection drops the client: it sees EOF.
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // WouldBlock, or a passing error such as EMFILE: wait and retry.
            Err(_) => wait_readable(listener),
        }
        conns.retain_mut(|c| !c.reap());
    }
    for conn in conns {
        conn.close();
    }
}

/// Waits until `listener` has a connection to accept, or [`POLL_MS`].
fn wait_readable(listener: &UnixListener) {
    let mut fds = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, borrowed for the call; no other memory effects.
    unsafe {
        libc::poll(&mut fds, 1, POLL_MS);
    }
}

/// One forwarded connection: the step's end, the agent's end, two copiers.
struct Conn {
    client: UnixStream,
    agent: UnixStream,
    threads: Vec<JoinHandle<()>>,
}

impl Conn {
    /// Connects `client` to the agent and starts copying both ways.
    fn start(client: UnixStream, agent: &Path) -> io::Result<Conn> {
        client.set_nonblocking(false)?;
        let upstream = UnixStream::connect(agent)?;
        let mut conn = Conn {
            client,
            agent: upstream,
            threads: Vec::with_capacity(2),
        };
        // Step -> agent: on EOF only half-close, so the agent can answer.
        let (from, to) = (conn.client.try_clone()?, conn.agent.try_clone()?);
        conn.threads.push(spawn_copy(from, to, false)?);
        // Agent -> step: when the agent is done, so is the connection.
        let (from, to) = (conn.agent.try_clone()?, conn.client.try_clone()?);
        match spawn_copy(from, to, true) {
            Ok(t) => conn.threads.push(t),
            Err(e) => {
                conn.close();
                return Err(e);
            }
        }
        Ok(conn)
    }

    /// Whether both copiers ended (then joins them).
    fn reap(&mut self) -> bool {
        if !self.threads.iter().all(|t| t.is_finished()) {
            return false;
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        true
    }

    /// Shuts both ends down (waking the copiers) and joins the copiers.
    fn close(mut self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.agent.shutdown(Shutdown::Both);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Copies `from` into `to` in a thread. At EOF, `to` is half-closed, or
/// (with `end_all`, and after any error) both streams are shut down.
fn spawn_copy(
    mut from: UnixStream,
    mut to: UnixStream,
    end_all: bool,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ssh-proxy-copy".into())
        .spawn(move || {
            let copied = io::copy(&mut from, &mut to);
            if end_all || copied.is_err() {
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            } else {
                let _ = to.shutdown(Shutdown::Write);
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A throw-away folder under the system temp dir.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kiln-ssh-proxy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn forwards_both_ways_and_removes_its_socket() {
        let dir = scratch("echo");
        let agent_path = dir.join("agent.sock");
        let agent = UnixListener::bind(&agent_path).unwrap();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = agent.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
            // The agent closes: the step must see EOF, not hang.
        });
        let sock = dir.join("proxy.sock");
        let proxy = SshProxy::start(&sock, &agent_path, (0o640, 0, 0)).unwrap();
        let meta = std::fs::metadata(&sock).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        let mut c = UnixStream::connect(&sock).unwrap();
        c.write_all(b"hello").unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"hello");
        echo.join().unwrap();
        drop(proxy);
        assert!(!sock.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stopping_ends_open_connections() {
        let dir = scratch("stop");
        let agent_path = dir.join("agent.sock");
        let agent = UnixListener::bind(&agent_path).unwrap();
        let sock = dir.join("proxy.sock");
        let proxy = SshProxy::start(&sock, &agent_path, (0o600, 0, 0)).unwrap();
        let mut c = UnixStream::connect(&sock).unwrap();
        // The agent accepts but never answers.
        let (_held, _) = agent.accept().unwrap();
        drop(proxy);
        let mut buf = Vec::new();
        assert_eq!(c.read_to_end(&mut buf).unwrap(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
