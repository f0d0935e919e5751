//! Signals as `docker kill -s`, `--stop-signal` and Compose's `stop_signal`
//! read them (moby's `signal.ParseSignal`): a number, or a name with or
//! without `SIG`, in any case.
//!
//! Choices: numbers are limited to 1..=64 (Linux's range; Docker passes any
//! number on and lets the kernel refuse it), and the real-time names
//! (`RTMIN+n`) are not known, so they are refused as before.

use super::ValueError;

/// A Linux signal number, checked to be one (1..=64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(i32);

/// Linux's signal names (without `SIG`) and numbers (x86-64/arm64 numbering).
const NAMES: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

impl Signal {
    /// SIGTERM, Docker's default stop signal.
    pub const TERM: Signal = Signal(15);
    /// SIGKILL, `docker kill`'s default.
    pub const KILL: Signal = Signal(9);

    /// The signal with this number, if it is one (1..=64).
    pub fn from_number(number: i32) -> Option<Signal> {
        (1..=64).contains(&number).then_some(Signal(number))
    }

    /// Its number, as kill(2) takes it.
    pub fn number(self) -> i32 {
        self.0
    }

    /// Its name with `SIG` (`SIGTERM`), or the number for real-time signals.
    pub fn name(self) -> String {
        NAMES
            .iter()
            .find(|(_, n)| *n == self.0)
            .map(|(name, _)| format!("SIG{name}"))
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl std::str::FromStr for Signal {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Signal, ValueError> {
        parse_signal(text)
    }
}

/// Parses `SIGTERM`, `term`, `15`.
pub fn parse_signal(text: &str) -> Result<Signal, ValueError> {
    let invalid = || ValueError::InvalidSignal {
        value: text.to_string(),
    };
    if let Ok(number) = text.parse::<i32>() {
        return Signal::from_number(number).ok_or_else(invalid);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| Signal(*number))
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), Signal::TERM);
        assert_eq!(parse_signal("term").unwrap(), Signal::TERM);
        assert_eq!(parse_signal("9").unwrap(), Signal::KILL);
        assert_eq!(parse_signal("SIGIOT").unwrap().number(), 6);
        assert_eq!(parse_signal("Usr1").unwrap().name(), "SIGUSR1");
        assert_eq!(parse_signal("40").unwrap().name(), "40");
        assert_eq!(
            parse_signal("SIGRTMIN+1").unwrap_err().to_string(),
            "invalid signal: SIGRTMIN+1"
        );
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("65").is_err());
        assert!(parse_signal("").is_err());
    }
}
