//! `EXPOSE` port specs after expansion: `80`, `80/tcp`, `53/udp`,
//! `8000-8010/tcp`, `132/sctp`. The protocol defaults to tcp and is
//! case-insensitive; port 0 and reversed ranges are rejected.

use std::fmt;

/// A transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        })
    }
}

/// One expanded EXPOSE word: a port or an inclusive range, with its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSpec {
    /// First port.
    pub start: u16,
    /// Last port (equal to `start` for a single port).
    pub end: u16,
    /// The protocol.
    pub protocol: Protocol,
}

impl PortSpec {
    /// Parses `port[-port][/proto]`; the error says what is wrong.
    pub fn parse(spec: &str) -> Result<PortSpec, String> {
        let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
        let protocol = match proto.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return Err(format!("invalid proto: {proto:?} in port spec {spec:?}")),
        };
        let (start, end) = ports.split_once('-').unwrap_or((ports, ports));
        let start = port(start, spec)?;
        let end = port(end, spec)?;
        if end < start {
            return Err(format!(
                "invalid port range: {spec:?} ends before it starts"
            ));
        }
        Ok(PortSpec {
            start,
            end,
            protocol,
        })
    }

    /// Every port of the spec as the image config's `ExposedPorts` keys
    /// (`8000/tcp`, `8001/tcp`, ...).
    pub fn ports(&self) -> impl Iterator<Item = String> + '_ {
        (self.start..=self.end).map(move |p| format!("{p}/{}", self.protocol))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}/{}", self.start, self.protocol)
        } else {
            write!(f, "{}-{}/{}", self.start, self.end, self.protocol)
        }
    }
}

fn port(text: &str, spec: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("invalid port {text:?} in port spec {spec:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let p = PortSpec::parse("80").unwrap();
        assert_eq!((p.start, p.end, p.protocol), (80, 80, Protocol::Tcp));
        assert_eq!(PortSpec::parse("53/UDP").unwrap().to_string(), "53/udp");
        let r = PortSpec::parse("8000-8002/tcp").unwrap();
        assert_eq!(r.to_string(), "8000-8002/tcp");
        assert_eq!(
            r.ports().collect::<Vec<_>>(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert_eq!(
            PortSpec::parse("132/sctp").unwrap().protocol,
            Protocol::Sctp
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "0",
            "65536",
            "x",
            "80/icmp",
            "90-80",
            "+80",
            "80-",
            "80/tcp/udp",
        ] {
            assert!(PortSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
