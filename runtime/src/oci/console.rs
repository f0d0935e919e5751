//! The console socket: how a runtime hands over a container's pseudo-terminal.
//!
//! With `process.terminal: true`, runc, crun and libcontainer create a pty inside
//! the container, connect to the unix socket given as `--console-socket`, and send
//! the pty master over it as `SCM_RIGHTS` ancillary data (one message, any
//! payload). The receiver then owns the master: it reads the container's output
//! from it and writes its input to it.

use std::io::ErrorKind;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Result, RuntimeError};

/// A listening unix socket that receives one pty master from a runtime.
/// The socket file is removed when this is dropped.
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listens on a new unix socket at `path` (which must not exist; its
    /// directory must, and the path must fit `sun_path`, 107 bytes).
    pub fn bind(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let listener = UnixListener::bind(&path)
            .map_err(|source| io(format!("bind console socket {}", path.display()), source))?;
        listener
            .set_nonblocking(true)
            .map_err(|source| io(format!("console socket {}", path.display()), source))?;
        Ok(Self { listener, path })
    }

    /// The socket's path, to give to the runtime ([`super::Stdio::Terminal`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts one connection and returns the pty master it sends. Fails after
    /// `timeout` without a connection, or if the message carries no descriptor.
    pub fn receive(&self, timeout: Duration) -> Result<OwnedFd> {
        let stream = self.accept(timeout)?;
        stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1)))))
            .map_err(|source| io(self.context("console socket"), source))?;
        receive_fd(stream.as_raw_fd())
            .map_err(|source| io(self.context("receive pty master from"), source))
    }

    fn accept(&self, timeout: Duration) -> Result<UnixStream> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return Ok(stream),
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let source =
                            std::io::Error::new(ErrorKind::TimedOut, "no runtime connected");
                        return Err(io(self.context("accept on console socket"), source));
                    }
                    poll_readable(self.listener.as_raw_fd(), left);
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(source) => return Err(io(self.context("accept on console socket"), source)),
            }
        }
    }

    fn context(&self, what: &str) -> String {
        format!("{what} {}", self.path.display())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Waits up to `timeout` for `fd` to become readable (errors just end the wait).
fn poll_readable(fd: RawFd, timeout: Duration) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, ms) };
}

/// Receives one message on `sock` and returns the first descriptor passed with it.
fn receive_fd(sock: RawFd) -> std::io::Result<OwnedFd> {
    let mut payload = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // Room for a handful of fds; runtimes send one.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut received: Vec<OwnedFd> = Vec::new();
    // SAFETY: walking the control buffer the kernel filled, with the CMSG macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    received.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    // Extra descriptors (none expected) are closed when `received` drops.
    received.into_iter().next().ok_or_else(|| {
        let what = if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            "descriptor truncated"
        } else {
            "message carried no descriptor"
        };
        std::io::Error::new(ErrorKind::InvalidData, what)
    })
}

fn io(context: String, source: std::io::Error) -> RuntimeError {
    RuntimeError::Io { context, source }
}
