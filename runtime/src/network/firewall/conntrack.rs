//! Forgetting the UDP conntrack entries of unpublished ports. A UDP "flow"
//! to a published port keeps its DNAT for as long as packets keep coming
//! (conntrack's UDP timeout restarts with each one), so a client that keeps
//! sending would keep reaching the removed container's address instead of
//! the port's next owner (moby#8795; Docker deletes them too). TCP needs
//! nothing: a new connection is a new flow.
//!
//! In-process over ctnetlink, on the kept nfnetlink socket: one dump of the
//! conntrack table per address family, then `IPCTNL_MSG_CT_DELETE` with the
//! original tuple of each matching entry, copied as the dump gave it (a
//! delete without a tuple would flush the whole table, so kiln never sends
//! one). Matching: UDP, original destination port = the host port (and
//! address, for ports bound to one), reply source = the container's address
//! and port — the DNATed flows of that element and nothing else. Best
//! effort: failures are ignored (the flows then end with conntrack's UDP
//! timeout, 30 s without traffic, 120 s for streams).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kiln_parser::values::Protocol;

use super::nfnl::{self, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use super::PortRule;

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const IPPROTO_UDP: u8 = 17;

/// One direction of a conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
}

/// Parses a `CTA_TUPLE_*` attribute's value.
pub fn parse_tuple(value: &[u8]) -> Option<Tuple> {
    let ip = nfnl::attr_value(value, CTA_TUPLE_IP)?;
    let proto = nfnl::attr_value(value, CTA_TUPLE_PROTO)?;
    let v4 = |k| nfnl::attr_value(ip, k).and_then(|b| <[u8; 4]>::try_from(b).ok());
    let v6 = |k| nfnl::attr_value(ip, k).and_then(|b| <[u8; 16]>::try_from(b).ok());
    let (src, dst) = match (v4(CTA_IP_V4_SRC), v4(CTA_IP_V4_DST)) {
        (Some(s), Some(d)) => (Ipv4Addr::from(s).into(), Ipv4Addr::from(d).into()),
        _ => (
            Ipv6Addr::from(v6(CTA_IP_V6_SRC)?).into(),
            Ipv6Addr::from(v6(CTA_IP_V6_DST)?).into(),
        ),
    };
    let port = |k| {
        nfnl::attr_value(proto, k)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes)
    };
    Some(Tuple {
        src,
        dst,
        proto: *nfnl::attr_value(proto, CTA_PROTO_NUM)?.first()?,
        sport: port(CTA_PROTO_SRC_PORT).unwrap_or(0),
        dport: port(CTA_PROTO_DST_PORT).unwrap_or(0),
    })
}

/// Whether the entry (original, reply) is a DNATed UDP flow of `port`.
pub fn is_flow_of(orig: &Tuple, reply: &Tuple, port: &PortRule) -> bool {
    port.protocol == Protocol::Udp
        && orig.proto == IPPROTO_UDP
        && orig.dport == port.host_port
        && port.host_ip.is_none_or(|ip| orig.dst == ip)
        && reply.src == port.container_ip
        && reply.sport == port.container_port
}

/// Deletes the UDP flows of `ports`, best effort.
pub fn forget_udp(ports: &[PortRule]) {
    let _ = try_forget(ports);
}

/// Deletes the UDP flows of `ports`; how many went.
pub fn try_forget(ports: &[PortRule]) -> io::Result<usize> {
    let udp: Vec<&PortRule> = ports
        .iter()
        .filter(|p| p.protocol == Protocol::Udp)
        .collect();
    let mut deleted = 0;
    for (family, v6) in [(libc::AF_INET as u8, false), (libc::AF_INET6 as u8, true)] {
        let mine: Vec<&PortRule> = udp
            .iter()
            .copied()
            .filter(|p| p.container_ip.is_ipv6() == v6)
            .collect();
        if mine.is_empty() {
            continue;
        }
        for tuple in matching_entries(family, &mine)? {
            deleted += usize::from(delete(family, &tuple)?);
        }
    }
    Ok(deleted)
}

/// The raw `CTA_TUPLE_ORIG` attributes of the entries that are flows of
/// one of `ports`, from a dump of `family`'s table.
fn matching_entries(family: u8, ports: &[&PortRule]) -> io::Result<Vec<Vec<u8>>> {
    let sock = nfnl::socket()?;
    let seq = nfnl::next_seq(1);
    let kind = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    sock.send(&nfnl::message(
        kind,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        family,
        0,
        &[],
    ))?;
    let mut found = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = sock.recv(&mut buf, 0)?;
        for m in nfnl::messages(&buf[..n]) {
            if m.seq != seq {
                continue;
            }
            match m.kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => match nfnl::error_code(m.payload) {
                    Some(0) | None => return Ok(found),
                    Some(code) => return Err(io::Error::from_raw_os_error(-code)),
                },
                _ => found.extend(entry_if_matching(m.payload, ports)),
            }
        }
    }
}

/// The raw original tuple of one dumped entry, when it matches.
fn entry_if_matching(payload: &[u8], ports: &[&PortRule]) -> Option<Vec<u8>> {
    let attrs = nfnl::attrs(payload.get(4..)?);
    let raw = attrs.iter().find(|a| a.0 == CTA_TUPLE_ORIG)?;
    let orig = parse_tuple(raw.1)?;
    let reply = parse_tuple(attrs.iter().find(|a| a.0 == CTA_TUPLE_REPLY)?.1)?;
    ports
        .iter()
        .any(|p| is_flow_of(&orig, &reply, p))
        .then(|| raw.2.to_vec())
}

/// Deletes one entry by its original tuple; `false` when it was gone.
fn delete(family: u8, orig: &[u8]) -> io::Result<bool> {
    let sock = nfnl::socket()?;
    let seq = nfnl::next_seq(1);
    let kind = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
    sock.send(&nfnl::message(
        kind,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        family,
        0,
        orig,
    ))?;
    match nfnl::wait_acks(&sock, seq, 1) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host_ip: Option<&str>, protocol: Protocol) -> PortRule {
        PortRule {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: 8053,
            protocol,
            container_ip: "10.0.0.2".parse().unwrap(),
            container_port: 53,
        }
    }

    fn tuple(src: &str, dst: &str, sport: u16, dport: u16) -> Tuple {
        Tuple {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: IPPROTO_UDP,
            sport,
            dport,
        }
    }

    /// `CTA_TUPLE_*` bytes as the kernel nests them.
    fn encode(t: &Tuple) -> Vec<u8> {
        let mut v = Vec::new();
        nfnl::nested(&mut v, CTA_TUPLE_IP, |ip| match (t.src, t.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                nfnl::attr(ip, CTA_IP_V4_SRC, &s.octets());
                nfnl::attr(ip, CTA_IP_V4_DST, &d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                nfnl::attr(ip, CTA_IP_V6_SRC, &s.octets());
                nfnl::attr(ip, CTA_IP_V6_DST, &d.octets());
            }
            _ => unreachable!("one family"),
        });
        nfnl::nested(&mut v, CTA_TUPLE_PROTO, |p| {
            nfnl::attr(p, CTA_PROTO_NUM, &[t.proto]);
            nfnl::attr(p, CTA_PROTO_SRC_PORT, &t.sport.to_be_bytes());
            nfnl::attr(p, CTA_PROTO_DST_PORT, &t.dport.to_be_bytes());
        });
        v
    }

    #[test]
    fn tuples_parse_back() {
        for t in [
            tuple("192.0.2.9", "192.0.2.2", 40000, 8053),
            tuple("fd00::9", "fd00::1", 40000, 8053),
        ] {
            assert_eq!(parse_tuple(&encode(&t)), Some(t));
        }
        assert_eq!(parse_tuple(&[1, 2, 3]), None);
    }

    #[test]
    fn only_the_dnated_udp_flows_of_the_element_match() {
        let orig = tuple("192.0.2.9", "192.0.2.2", 40000, 8053);
        let reply = tuple("10.0.0.2", "192.0.2.9", 53, 40000);
        assert!(is_flow_of(&orig, &reply, &rule(None, Protocol::Udp)));
        assert!(is_flow_of(
            &orig,
            &reply,
            &rule(Some("192.0.2.2"), Protocol::Udp)
        ));
        assert!(!is_flow_of(
            &orig,
            &reply,
            &rule(Some("127.0.0.1"), Protocol::Udp)
        ));
        assert!(!is_flow_of(&orig, &reply, &rule(None, Protocol::Tcp)));
        let other_container = tuple("10.0.0.3", "192.0.2.9", 53, 40000);
        assert!(!is_flow_of(
            &orig,
            &other_container,
            &rule(None, Protocol::Udp)
        ));
        let other_port = tuple("192.0.2.9", "192.0.2.2", 40000, 8054);
        assert!(!is_flow_of(&other_port, &reply, &rule(None, Protocol::Udp)));
    }

    #[test]
    fn a_dumped_entry_gives_its_original_tuple_verbatim() {
        let orig = encode(&tuple("192.0.2.9", "192.0.2.2", 40000, 8053));
        let reply = encode(&tuple("10.0.0.2", "192.0.2.9", 53, 40000));
        let mut payload = vec![libc::AF_INET as u8, 0, 0, 0];
        nfnl::attr(&mut payload, CTA_TUPLE_ORIG | 0x8000, &orig);
        nfnl::attr(&mut payload, CTA_TUPLE_REPLY | 0x8000, &reply);
        let port = rule(None, Protocol::Udp);
        let raw = entry_if_matching(&payload, &[&port]).unwrap();
        assert_eq!(&raw[4..], &orig[..], "the attribute, header and all");
        assert_eq!(
            u16::from_ne_bytes([raw[2], raw[3]]),
            CTA_TUPLE_ORIG | 0x8000
        );
        let tcp = rule(None, Protocol::Tcp);
        assert_eq!(entry_if_matching(&payload, &[&tcp]), None);
    }
}
