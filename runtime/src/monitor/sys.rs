//! The few system calls the monitor loop needs, wrapped: pipes, a signalfd,
//! poll, non-blocking reads, reaping children.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `/dev/null` opened read-write.
pub fn dev_null() -> io::Result<OwnedFd> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

/// Makes `fd` non-blocking.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reads what is available from a non-blocking `fd` into `buf`: `Ok(None)` at
/// end of file, `Ok(Some(0))` when nothing is there now.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: reading into a buffer we own, of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return Ok(Some(n as usize));
        }
        if n == 0 {
            return Ok(None);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(Some(0)),
            // A terminal whose other side is gone reads EIO: end of output.
            Some(libc::EIO) => return Ok(None),
            _ => return Err(err),
        }
    }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR/EAGAIN.
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writing from a buffer we own.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    poll(
                        &mut [libc::pollfd {
                            fd,
                            events: libc::POLLOUT,
                            revents: 0,
                        }],
                        100,
                    )?;
                    continue;
                }
                _ => return Err(err),
            }
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// poll(2) with a timeout in milliseconds (-1: none); EINTR counts as no event.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the slice is a valid array of pollfd of its length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(n as usize)
}

/// The signals the monitor handles through its signalfd.
pub const HANDLED: [libc::c_int; 7] = [
    libc::SIGCHLD,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGWINCH,
];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in HANDLED {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Blocks the handled signals and returns a signalfd that reads them.
pub fn signalfd() -> io::Result<OwnedFd> {
    let set = handled_set();
    // SAFETY: masks and a new signalfd for a set we built.
    unsafe {
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Runs `f` with the handled signals unblocked, so processes it creates in
/// this process (libcontainer clones) don't inherit a blocked mask. Signals
/// that arrive meanwhile keep their default action (SIGCHLD: ignored); the
/// monitor reaps with a sweep afterwards, so none is lost.
pub fn with_signals_unblocked<T>(f: impl FnOnce() -> T) -> T {
    let set = handled_set();
    // SAFETY: changing this thread's mask.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    let out = f();
    // SAFETY: as above.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    out
}

/// Reads all pending signals from the signalfd.
pub fn read_signals(fd: &OwnedFd) -> Vec<libc::c_int> {
    let mut out = Vec::new();
    loop {
        // SAFETY: signalfd_siginfo is plain data; read fills it or fails.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n as usize != size {
            return out;
        }
        out.push(info.ssi_signo as libc::c_int);
    }
}

/// Reaps one exited child without blocking: `(pid, docker exit code)`.
/// The exit code is Docker's: the status for a normal exit, 128+signal for a
/// signal.
pub fn reap_any() -> Option<(u32, i32)> {
    let mut status = 0;
    // SAFETY: waitpid with a status out-parameter.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    if pid <= 0 {
        return None;
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        return Some((pid as u32, -1));
    };
    Some((pid as u32, code))
}

/// Gives back the memory the monitor no longer needs once a container runs:
/// freed heap (`malloc_trim`) and the resident pages of its executable file
/// mappings (the code and read-only data of the kiln executable and of shared
/// libraries), which
/// starting the container touched but the pump loop mostly does not. Pages it
/// does use again are faulted back in from the page cache. This keeps each
/// idle monitor's RSS small (the budget is 2 MB per monitor).
pub fn shed_resident_pages() {
    extern "C" {
        fn malloc_trim(pad: libc::size_t) -> libc::c_int;
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { malloc_trim(0) };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut mapping: Option<(usize, usize, bool)> = None; // start, end, droppable
    let drop_mapping = |m: Option<(usize, usize, bool)>| {
        if let Some((start, end, true)) = m {
            // SAFETY: a private file mapping without anonymous (written)
            // pages holds only clean file pages; MADV_DONTNEED drops them and
            // they are read again, unchanged, from the page cache when
            // touched. MADV_RANDOM stops the kernel mapping neighbours in.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                drop_mapping(mapping.take());
                let perms = fields.next().unwrap_or("");
                let inode = fields.nth(2).unwrap_or("0");
                // Private, not writable, backed by a file.
                let candidate = perms.ends_with('p') && !perms.contains('w') && inode != "0";
                mapping = Some((start, end, candidate));
                continue;
            }
        }
        // RELRO pages were written by the dynamic linker before being made
        // read-only: they show as anonymous and must be kept.
        if first == "Anonymous:" && fields.next().is_some_and(|kb| kb != "0") {
            if let Some(m) = mapping.as_mut() {
                m.2 = false;
            }
        }
    }
    drop_mapping(mapping);
}

/// Gives the terminal `to` (a pty master) the window size of terminal `from`.
pub fn copy_window_size(from: RawFd, to: RawFd) {
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a winsize we own.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut size) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &size);
        }
    }
}
