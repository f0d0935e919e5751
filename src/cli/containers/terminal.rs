//! The caller's terminal for `run -it` and `exec -it`: raw mode while a
//! container's pseudo-terminal is attached.

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
