//! The networking flags of `kiln run`/`kiln create` as typed options:
//! `--network` with `--network-alias`/`--ip`/`--ip6`, `--dns`,
//! `--mac-address`, `--expose`. Messages are Docker's CLI's and daemon's.

use anyhow::{anyhow, Result};
use kiln_parser::values::{self, NetworkAttachment, Protocol};
use kiln_runtime::lifecycle::{network::parse_mac, ExposedPort};

use super::run::CreateArgs;

/// `--network` (absent: `default`, the predefined `bridge` network, as
/// Docker records it) with the endpoint flags, which need a user-defined
/// network.
pub(super) fn attachment(args: &CreateArgs) -> Result<NetworkAttachment> {
    let mut attachment = values::parse_network(args.network.as_deref().unwrap_or("default"))?;
    let ipv4 = ip_flag("--ip", args.ip.as_deref())?;
    let ipv6 = ip_flag("--ip6", args.ip6.as_deref())?;
    match &mut attachment {
        NetworkAttachment::Named {
            aliases,
            ipv4: v4,
            ipv6: v6,
            ..
        } => {
            *aliases = args.network_alias.clone();
            *v4 = ipv4;
            *v6 = ipv6;
        }
        _ if ipv4.is_some() || ipv6.is_some() => {
            return Err(anyhow!(
                "user specified IP address is supported on user defined networks only"
            ))
        }
        _ if !args.network_alias.is_empty() => {
            return Err(anyhow!(
                "network-scoped alias is supported only for containers in user defined networks"
            ))
        }
        _ => {}
    }
    Ok(attachment)
}

/// `--ip`/`--ip6`: an address of the right family.
fn ip_flag<T: std::str::FromStr>(flag: &str, value: Option<&str>) -> Result<Option<T>> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                anyhow!("invalid argument {v:?} for \"{flag}\" flag: invalid string being converted to IP address: {v}")
            })
        })
        .transpose()
}

/// `--dns`: IP addresses.
pub(super) fn dns(values: &[String]) -> Result<Vec<std::net::IpAddr>> {
    values
        .iter()
        .map(|v| {
            v.parse().map_err(|_| {
                anyhow!("invalid argument {v:?} for \"--dns\" flag: {v} is not an ip address")
            })
        })
        .collect()
}

/// `--mac-address`.
pub(super) fn mac(value: Option<&str>) -> Result<Option<[u8; 6]>> {
    value
        .map(|v| parse_mac(v).ok_or_else(|| anyhow!("{v} is not a valid mac address")))
        .transpose()
}

/// `--expose PORT[-END][/PROTO]`.
pub(super) fn expose(values: &[String]) -> Result<Vec<ExposedPort>> {
    let mut out = Vec::new();
    for value in values {
        let fail = || anyhow!("invalid range format for --expose: {value}");
        let (range, proto) = value.split_once('/').unwrap_or((value, "tcp"));
        let protocol = match proto.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return Err(anyhow!("invalid proto: {proto}")),
        };
        let (start, end) = range.split_once('-').unwrap_or((range, range));
        let start: u16 = start.parse().map_err(|_| fail())?;
        let end: u16 = end.parse().map_err(|_| fail())?;
        if start == 0 || end < start {
            return Err(fail());
        }
        out.extend((start..=end).map(|port| ExposedPort { port, protocol }));
    }
    Ok(out)
}
