//! `--network` and Compose's `network_mode`: `none`, `host`,
//! `container:NAME|ID`, or the name of a network (Docker's `bridge` and
//! `default` are names too: which network they mean is the runtime's call).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ValueError;

/// How a container is connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkAttachment {
    /// A network namespace of its own with loopback only.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// The network namespace of another container (name or ID).
    Container(String),
    /// A named network, with the aliases and static addresses asked for
    /// (`--network-alias`, `--ip`, `--ip6`; Compose's `networks:`).
    Named {
        /// The network's name.
        name: String,
        /// Extra DNS names of the container on it.
        aliases: Vec<String>,
        /// A static IPv4 address.
        ipv4: Option<Ipv4Addr>,
        /// A static IPv6 address.
        ipv6: Option<Ipv6Addr>,
    },
}

/// Parses one `--network` value.
pub fn parse_network(value: &str) -> Result<NetworkAttachment, ValueError> {
    let fail = |reason: &str| ValueError::InvalidNetwork {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    Ok(match value {
        "none" => NetworkAttachment::None,
        "host" => NetworkAttachment::Host,
        "" => return Err(fail("the network name is empty")),
        other => match other.strip_prefix("container:") {
            Some("") => return Err(fail("no container name or ID after \"container:\"")),
            Some(id) => NetworkAttachment::Container(id.to_string()),
            None => NetworkAttachment::Named {
                name: other.to_string(),
                aliases: Vec::new(),
                ipv4: None,
                ipv6: None,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_modes() {
        assert_eq!(parse_network("none").unwrap(), NetworkAttachment::None);
        assert_eq!(parse_network("host").unwrap(), NetworkAttachment::Host);
        assert_eq!(
            parse_network("container:web").unwrap(),
            NetworkAttachment::Container("web".into())
        );
        assert!(matches!(
            parse_network("front").unwrap(),
            NetworkAttachment::Named { ref name, .. } if name == "front"
        ));
        assert!(parse_network("container:").is_err());
        assert_eq!(
            parse_network("").unwrap_err().to_string(),
            "invalid --network \"\": the network name is empty"
        );
    }
}
