//! The caller's side of a container's terminal, for `run -it`, `exec -it`
//! and a Compose engine attaching to a service: raw mode on the caller's
//! terminal ([`RawTerminal`]), its width ([`width`]), the relay between it
//! and a pseudo-terminal master until the process exits ([`relay_pty`]),
//! reaping a child with Docker's exit code ([`wait_exit`]), and a descriptor
//! a parent handed down by number ([`inherited_file`]).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The caller's terminal (fd 0) in raw mode; restored on drop.
pub struct RawTerminal {
    saved: libc::termios,
}

impl RawTerminal {
    /// Switches fd 0 to raw mode; `None` when it is not a terminal.
    pub fn enter() -> Option<RawTerminal> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with termios structs we own.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(0, libc::TCSANOW, &raw);
            Some(RawTerminal { saved })
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.saved) };
    }
}

/// The width in columns of the terminal on `fd`; `None` when it is not one.
pub fn width(fd: RawFd) -> Option<usize> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it (fd may be anything).
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// The file a parent passed as the descriptor number in the environment
/// variable `var` (as kiln's monitor readiness pipe): `None` when the
/// variable is unset, not a number, a standard stream, or not an open
/// descriptor. The caller takes ownership: call it once per variable.
pub fn inherited_file(var: &str) -> Option<File> {
    let fd: RawFd = std::env::var(var).ok()?.parse().ok()?;
    // SAFETY: F_GETFD only reads the descriptor's flags.
    if fd <= 2 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the parent passed this open descriptor for us alone.
    Some(unsafe { File::from_raw_fd(fd) })
}

/// Waits for the child `pid` (or a process re-parented to this subreaper):
/// its exit code, 128+signal when a signal ended it, 125 when it cannot be
/// waited for (Docker's codes).
pub fn wait_exit(pid: u32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a status out-parameter.
        let rc = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        if rc < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return 125;
        }
        return exit_code(status);
    }
}

/// Docker's exit code of a wait status.
fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}

/// Relays between the caller's terminal (fd 0 in, fd 1 out) and the pty
/// `master` until the process `pid` has exited and its output is drained;
/// returns its exit code ([`wait_exit`]'s). Without `interactive`, fd 0 is
/// not read; at its end the terminal's EOF character (^D) is sent.
pub fn relay_pty(pid: u32, master: &OwnedFd, interactive: bool) -> i32 {
    let mfd = master.as_raw_fd();
    set_nonblocking(mfd);
    let mut stdin_open = interactive;
    let mut buf = [0u8; 8192];
    let mut exited: Option<i32> = None;
    loop {
        if poll(mfd, stdin_open) {
            stdin_open = forward_input(mfd, &mut buf);
        }
        let master_done = drain(mfd, &mut buf);
        if exited.is_none() {
            let mut status = 0;
            // SAFETY: waitpid with a status out-parameter.
            if unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) } == pid as i32 {
                exited = Some(exit_code(status));
                continue; // one more pass to drain what is left
            }
        }
        if master_done || exited.is_some() {
            return exited.unwrap_or_else(|| wait_exit(pid));
        }
    }
}

/// Waits up to 100 ms for the master (and fd 0 with `stdin_open`);
/// whether fd 0 is readable.
fn poll(mfd: RawFd, stdin_open: bool) -> bool {
    let mut fds = [mfd, 0].map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let count = if stdin_open { 2 } else { 1 };
    // SAFETY: a valid pollfd array of at least `count` entries.
    unsafe { libc::poll(fds.as_mut_ptr(), count as libc::nfds_t, 100) };
    stdin_open && fds[1].revents != 0
}

/// Copies what fd 0 has to the master; false at its end (EOF sent).
fn forward_input(mfd: RawFd, buf: &mut [u8]) -> bool {
    // SAFETY: reading into our buffer.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        // End of input: send the terminal's EOF character.
        write_all(mfd, &[4]);
        return false;
    }
    write_all(mfd, &buf[..n as usize]);
    true
}

/// Copies what the master has to fd 1; true when the master is closed.
fn drain(mfd: RawFd, buf: &mut [u8]) -> bool {
    loop {
        // SAFETY: reading into our buffer from a non-blocking fd.
        let n = unsafe { libc::read(mfd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            write_all(1, &buf[..n as usize]);
            continue;
        }
        let err = io::Error::last_os_error().raw_os_error();
        if n < 0 && err == Some(libc::EINTR) {
            continue;
        }
        return n == 0 || err != Some(libc::EAGAIN);
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Writes all of `bytes` (best effort: the other side may be gone).
fn write_all(fd: RawFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from our buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                _ => return,
            }
        }
        bytes = &bytes[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;
    use std::process::Command;

    #[test]
    fn a_pipe_has_no_width() {
        let (reader, _writer) = std::io::pipe().unwrap();
        assert_eq!(width(reader.as_raw_fd()), None);
    }

    #[test]
    #[allow(clippy::zombie_processes)] // wait_exit is what reaps them
    fn exit_codes_are_dockers() {
        let exited = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
        assert_eq!(wait_exit(exited.id()), 7);
        let killed = Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .spawn()
            .unwrap();
        assert_eq!(wait_exit(killed.id()), 128 + 9);
        // Already reaped: nothing to wait for.
        assert_eq!(wait_exit(killed.id()), 125);
    }

    #[test]
    fn only_an_open_passed_descriptor_is_taken() {
        let var = "KILN_TERMINAL_TEST_FD";
        std::env::remove_var(var);
        assert!(inherited_file(var).is_none());
        for bad in ["x", "1", "999999"] {
            std::env::set_var(var, bad);
            assert!(inherited_file(var).is_none(), "{bad}");
        }
        let (reader, writer) = std::io::pipe().unwrap();
        std::env::set_var(var, writer.into_raw_fd().to_string());
        let mut file = inherited_file(var).expect("an open descriptor");
        std::io::Write::write_all(&mut file, b"ready").unwrap();
        drop(file);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut File::from(OwnedFd::from(reader)), &mut text).unwrap();
        assert_eq!(text, "ready");
        std::env::remove_var(var);
    }
}
