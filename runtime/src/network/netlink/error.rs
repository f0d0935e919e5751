//! [`NetlinkError`]: a netlink or sysctl failure, naming the link, address,
//! route or key it was about.

/// A netlink or sysctl failure, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The kernel refused a request.
    #[error("netlink: {operation} {object}: {source}")]
    Request {
        /// What was asked (`create bridge`, `add address`…).
        operation: &'static str,
        /// The link or address.
        object: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// The container's namespace already has an interface of the name its
    /// new veth end was to get (e.g. a second `eth0`).
    #[error("netlink: interface {interface} already exists in the container's network namespace")]
    InterfaceTaken {
        /// The name asked for inside the namespace.
        interface: String,
    },
    /// A link of the bridge's name exists but is not a bridge.
    #[error("netlink: link {name} exists and is not a bridge (kind {kind})")]
    NotABridge {
        /// The link's name.
        name: String,
        /// Its kind (`veth`, `dummy`…, or `none`).
        kind: String,
    },
    /// A link name the kernel would refuse or that would escape a sysctl
    /// path (empty, over 15 bytes, `/`, whitespace, `.`/`..`).
    #[error("netlink: invalid link name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Reading or writing `/proc/sys/<key>`.
    #[error("sysctl {key}: {source}")]
    Sysctl {
        /// The key (`net/ipv4/ip_forward`).
        key: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl NetlinkError {
    /// Shorthand for [`NetlinkError::Request`].
    pub(crate) fn request(
        operation: &'static str,
        object: impl Into<String>,
        source: std::io::Error,
    ) -> Self {
        NetlinkError::Request {
            operation,
            object: object.into(),
            source,
        }
    }
}

/// Checks a link name as the kernel's `dev_valid_name` does, so that it can
/// also be used in a `/proc/sys/net/.../conf/<name>/` path.
pub(crate) fn check_link_name(name: &str) -> Result<(), NetlinkError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > 15 {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved name")
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b == b'.' || b.is_ascii_whitespace() || b == 0)
    {
        Some("contains '/', ':', '.', whitespace or NUL")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NetlinkError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}
