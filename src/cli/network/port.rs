//! `kiln port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published
//! ports from its endpoint records, in Docker's words: every mapping as
//! `80/tcp -> 0.0.0.0:8080` (and `80/tcp -> [::]:8080` when also published
//! on IPv6), or for one port just the host addresses; `No public port
//! '80/tcp' published for web` (exit 1) when it is not published.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use kiln_runtime::container::{ContainerStore, Status};
use kiln_runtime::lifecycle;
use kiln_runtime::network::ports::ipv6_available;
use kiln_runtime::network::sweep;

use super::settings::{port_entries, port_lines, NetworkIndex};
use crate::cli::container::Exit;

/// `kiln port` arguments.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container.
    container: String,
    /// A container port, optionally with its protocol (`80`, `53/udp`).
    private_port: Option<String>,
}

/// Runs `kiln port`.
pub fn port(root: &Path, args: PortArgs) -> Result<()> {
    let wanted = args.private_port.as_deref().map(parse_port).transpose()?;
    sweep::sweep(root)?;
    let store = ContainerStore::open(root)?;
    let mut container = store.find(&args.container)?;
    lifecycle::reconcile(&store, &mut container);
    let ports = match container.state.status {
        Status::Running | Status::Paused => {
            let index = NetworkIndex::load(root);
            let endpoints: Vec<_> = index
                .of(&container.record.id)
                .into_iter()
                .map(|(_, e)| e)
                .collect();
            port_entries(&endpoints, ipv6_available())
        }
        _ => Vec::new(),
    };
    let wanted_ref = wanted.as_ref().map(|(p, proto)| (*p, proto.as_str()));
    let lines = port_lines(&ports, wanted_ref);
    if let (Some((p, proto)), true) = (&wanted, lines.is_empty()) {
        let message = format!(
            "Error: No public port '{p}/{proto}' published for {}",
            args.container
        );
        return Err(Exit::new(1, &message).into());
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// `80` (tcp) or `80/udp`.
fn parse_port(text: &str) -> Result<(u16, String)> {
    let (port, proto) = match text.split_once('/') {
        Some((port, proto)) if !proto.is_empty() => (port, proto.to_ascii_lowercase()),
        Some((port, _)) => (port, "tcp".to_string()),
        None => (text, "tcp".to_string()),
    };
    let Ok(port) = port.parse::<u16>() else {
        bail!("invalid port {text:?}: expected PRIVATE_PORT[/PROTO]");
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid port {text:?}: unknown protocol {proto:?}");
    }
    Ok((port, proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ports_parse_as_dockers() {
        assert_eq!(parse_port("80").unwrap(), (80, "tcp".into()));
        assert_eq!(parse_port("53/udp").unwrap(), (53, "udp".into()));
        assert_eq!(parse_port("53/").unwrap(), (53, "tcp".into()));
        assert!(parse_port("x/tcp").is_err());
        assert!(parse_port("80/icmp").is_err());
        assert!(parse_port("70000").is_err());
    }
}
