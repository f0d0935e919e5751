//! `-p`/`--publish` and Compose's short `ports:` syntax:
//! `[ip:][host[-range]:]container[-range][/proto]`, as go-connections'
//! `nat.ParsePortSpec` reads it: IPv6 addresses in brackets (`[::1]:80:80`)
//! or bare when more than three `:`-parts are given, ranges that must have
//! the same length on both sides unless the container side is one port (the
//! host range is then where a free port is picked), protocols `tcp`, `udp`,
//! `sctp` (any case; `tcp` when absent).
//!
//! Choices where Go is loose: a range `a-b-c` reads as `a-b` there (Go
//! splits and looks at two parts); kiln refuses it. Port 0 on the container
//! side is refused (Docker refuses it when the container is created).

use std::net::IpAddr;

use super::ValueError;

/// A transport protocol of a published port (serialised in Docker's
/// lower-case spelling).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Docker's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// An inclusive range of ports (`start == end` for one port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (>= start).
    pub end: u16,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortMapping {
    /// The host address to listen on (`None`: every address).
    pub host_ip: Option<IpAddr>,
    /// The host port(s): `None` picks a free one; a range of several ports
    /// picks a free one inside it.
    pub host_ports: Option<PortRange>,
    /// The container port.
    pub container_port: u16,
    /// Its protocol.
    pub protocol: Protocol,
}

impl std::fmt::Display for PortMapping {
    /// Docker's form: `[IP:][HOST]:CONTAINER/PROTO`, IPv6 in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        if let Some(host) = self.host_ports {
            write!(f, "{host}:")?;
        } else if self.host_ip.is_some() {
            write!(f, ":")?;
        }
        write!(f, "{}/{}", self.container_port, self.protocol.as_str())
    }
}

/// Parses one `-p` value into one mapping per container port.
pub fn parse_port_spec(spec: &str) -> Result<Vec<PortMapping>, ValueError> {
    let fail = |reason: String| ValueError::InvalidPort {
        value: spec.to_string(),
        reason,
    };
    let (ip, host, container) = split_parts(spec);
    let (container, proto) = match container.split_once('/') {
        Some((port, proto)) if !proto.is_empty() => (port, proto),
        Some((port, _)) => (port, "tcp"),
        None => (container, "tcp"),
    };
    let host_ip = parse_ip(ip).map_err(fail)?;
    if container.is_empty() {
        return Err(fail("no port specified".into()));
    }
    let container = parse_range(container)
        .filter(|r| r.start > 0)
        .ok_or_else(|| fail(format!("invalid containerPort: {container}")))?;
    let host_ports = match host {
        "" => None,
        text => Some(parse_range(text).ok_or_else(|| fail(format!("invalid hostPort: {text}")))?),
    };
    let width = |r: PortRange| r.end - r.start;
    if let Some(h) = host_ports {
        if width(h) != width(container) && container.start != container.end {
            return Err(fail(format!(
                "invalid ranges specified for container and host Ports: {container} and {h}"
            )));
        }
    }
    let protocol = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => return Err(fail(format!("invalid proto: {proto}"))),
    };
    Ok((container.start..=container.end)
        .enumerate()
        .map(|(i, port)| PortMapping {
            host_ip,
            host_ports: host_ports.map(|h| match container.start == container.end {
                true => h,
                false => PortRange {
                    start: h.start + i as u16,
                    end: h.start + i as u16,
                },
            }),
            container_port: port,
            protocol,
        })
        .collect())
}

/// nat's `splitParts`: the last part is the container's, the one before the
/// host's, everything before that (re-joined) the IP.
fn split_parts(spec: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let n = parts.len();
    match n {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        _ => {
            let ip_len = spec.len() - parts[n - 1].len() - parts[n - 2].len() - 2;
            (&spec[..ip_len], parts[n - 2], parts[n - 1])
        }
    }
}

fn parse_ip(ip: &str) -> Result<Option<IpAddr>, String> {
    if ip.is_empty() {
        return Ok(None);
    }
    let bare = match ip.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .ok_or_else(|| format!("invalid IP address {ip}"))?,
        None => ip,
    };
    bare.parse()
        .map(Some)
        .map_err(|_| format!("invalid IP address: {ip}"))
}

/// `80` or `8000-8010`.
fn parse_range(text: &str) -> Option<PortRange> {
    let (start, end) = text.split_once('-').unwrap_or((text, text));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(start) || !digits(end) {
        return None;
    }
    let range = PortRange {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
    };
    (range.end >= range.start).then_some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortMapping {
        let mut all = parse_port_spec(spec).unwrap();
        assert_eq!(all.len(), 1, "{spec}");
        all.remove(0)
    }

    fn range(start: u16, end: u16) -> Option<PortRange> {
        Some(PortRange { start, end })
    }

    #[test]
    fn single_ports() {
        let m = one("80");
        assert_eq!(
            (m.host_ip, m.host_ports, m.container_port),
            (None, None, 80)
        );
        assert_eq!(m.protocol, Protocol::Tcp);
        let m = one("8080:80/udp");
        assert_eq!(
            (m.host_ports, m.protocol),
            (range(8080, 8080), Protocol::Udp)
        );
        let m = one("127.0.0.1:8080:80/SCTP");
        assert_eq!(m.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(m.protocol, Protocol::Sctp);
        let m = one("127.0.0.1::80");
        assert_eq!((m.host_ports, m.container_port), (None, 80));
        let m = one("80/");
        assert_eq!(m.protocol, Protocol::Tcp);
    }

    #[test]
    fn mappings_print_in_dockers_form() {
        let shown = |s: &str| parse_port_spec(s).unwrap()[0].to_string();
        assert_eq!(shown("80"), "80/tcp");
        assert_eq!(shown("8080:80/udp"), "8080:80/udp");
        assert_eq!(shown("127.0.0.1::80"), "127.0.0.1::80/tcp");
        assert_eq!(shown("[::1]:8000-8010:80"), "[::1]:8000-8010:80/tcp");
    }

    #[test]
    fn ipv6_addresses() {
        let m = one("[::1]:80:80");
        assert_eq!(m.host_ip, Some("::1".parse().unwrap()));
        assert_eq!(m.host_ports, range(80, 80));
        let m = one("::1:8080:80");
        assert_eq!(m.host_ip, Some("::1".parse().unwrap()));
        let m = one("[fe80::1]::53/udp");
        assert_eq!((m.host_ports, m.protocol), (None, Protocol::Udp));
    }

    #[test]
    fn ranges() {
        let all = parse_port_spec("8000-8002:9000-9002").unwrap();
        let got: Vec<_> = all
            .iter()
            .map(|m| (m.host_ports, m.container_port))
            .collect();
        assert_eq!(
            got,
            [
                (range(8000, 8000), 9000),
                (range(8001, 8001), 9001),
                (range(8002, 8002), 9002)
            ]
        );
        // One container port, a host range to pick from.
        let m = one("8000-8010:80");
        assert_eq!(m.host_ports, range(8000, 8010));
        assert_eq!(parse_port_spec("7000-7001").unwrap().len(), 2);
    }

    #[test]
    fn refusals_name_the_value() {
        let err = |s: &str| parse_port_spec(s).unwrap_err().to_string();
        assert_eq!(err("8000-8001:80-82"), "invalid port spec \"8000-8001:80-82\": invalid ranges specified for container and host Ports: 80-82 and 8000-8001");
        assert!(err("").contains("no port specified"));
        assert!(err("80:").contains("no port specified"));
        assert!(err("x:80").contains("invalid hostPort: x"));
        assert!(err("80:y").contains("invalid containerPort: y"));
        assert!(err("65536").contains("invalid containerPort"));
        assert!(err("0").contains("invalid containerPort"));
        assert!(err("90-80").contains("invalid containerPort"));
        assert!(err("80/icmp").contains("invalid proto: icmp"));
        assert!(err("1.2.3:80:80").contains("invalid IP address: 1.2.3"));
        assert!(err("[::1:80:80").contains("invalid IP address"));
        assert!(err("1-2-3").contains("invalid containerPort"));
    }
}
