//! The error of every value parser: which value failed and why, one line.

/// A value that does not parse; every variant carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A mount flag (`-v`, `--mount`, `--tmpfs`) whose value cannot work.
    #[error("invalid {flag} {value:?}: {reason}")]
    Invalid {
        /// The flag (`-v`, `--mount`, `--tmpfs`).
        flag: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `-v` with more than three parts, or `DST:MODE` (Docker's words).
    #[error("invalid volume specification: '{value}'")]
    InvalidVolumeSpec {
        /// The value.
        value: String,
    },
    /// Not a size (go-units' words).
    #[error("invalid size: '{value}'")]
    InvalidSize {
        /// The value.
        value: String,
    },
    /// A size of `i64::MAX` bytes or more.
    #[error("invalid size: '{value}' (larger than 9223372036854775807 bytes)")]
    SizeTooLarge {
        /// The value.
        value: String,
    },
    /// Not a Go duration; `message` is Go's (`time: invalid duration "x"`).
    #[error("{message}")]
    Duration {
        /// The value.
        value: String,
        /// Go's words.
        message: String,
    },
    /// Not a signal name or number.
    #[error("invalid signal: {value}")]
    InvalidSignal {
        /// The value.
        value: String,
    },
    /// Not a restart policy; `reason` is Docker's sentence.
    #[error("{reason}")]
    InvalidRestart {
        /// The value.
        value: String,
        /// Docker's words.
        reason: String,
    },
    /// Not a port spec.
    #[error("invalid port spec {value:?}: {reason}")]
    InvalidPort {
        /// The value.
        value: String,
        /// nat.ParsePortSpec's words.
        reason: String,
    },
    /// Not a `--network` value.
    #[error("invalid --network {value:?}: {reason}")]
    InvalidNetwork {
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// An unknown or malformed `--security-opt`.
    #[error("invalid --security-opt: {value:?}")]
    InvalidSecurityOpt {
        /// The value.
        value: String,
    },
    /// Not a `--ulimit`.
    #[error("invalid --ulimit {value:?}: {reason}")]
    InvalidUlimit {
        /// The value.
        value: String,
        /// go-units' words.
        reason: String,
    },
    /// Not a `--device`.
    #[error("invalid --device {value:?}: {reason}")]
    InvalidDevice {
        /// The value.
        value: String,
        /// The Docker CLI's words.
        reason: String,
    },
    /// Not an allowed `--sysctl`.
    #[error("invalid --sysctl {value:?}: {reason}")]
    InvalidSysctl {
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// Not an `--add-host` entry.
    #[error("invalid --add-host {value:?}: {reason}")]
    InvalidExtraHost {
        /// The value.
        value: String,
        /// Docker's words.
        reason: String,
    },
}
