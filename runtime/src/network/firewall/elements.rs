//! Published-port elements written straight over nfnetlink: one batch
//! (`NFT_MSG_NEWSETELEM` with `NLM_F_EXCL`, or `NFT_MSG_DELSETELEM`) on a
//! `NETLINK_NETFILTER` socket, one send and one read of the acks.
//!
//! Why not libnftables for these: before any element command, libnftables
//! 1.0.6 fills its cache with a dump of every table, chain, set, flowtable
//! and object of the host (about fifteen netlink round trips), which took
//! 3 ms a transaction on this shared machine under load against ~0.1 ms
//! for the batch itself. Publishing is on `kiln run`'s critical path, so
//! the elements take the short way; everything else (tables, chains,
//! rules, listings) still goes through libnftables, which owns the syntax.
//!
//! Encoding, as nft lays out concatenated keys: each field is padded to 4
//! bytes (`NFT_REG32_SIZE`), protocol numbers are one byte, ports two
//! bytes in network order, addresses as they are.

use std::io;
use std::net::IpAddr;

use kiln_parser::values::Protocol;

use super::nfnl::{self, attr, c_string, message, nested, NLM_F_ACK, NLM_F_REQUEST};
use super::rules::port_map;
use super::PortRule;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// Adding (fails with EEXIST on a present key) or deleting elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `create element`.
    Create,
    /// `delete element`.
    Delete,
}

/// The protocol number nft stores for `inet_proto`.
fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn push_addr(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend(a.octets()),
        IpAddr::V6(a) => out.extend(a.octets()),
    }
}

/// The key of a port element: `[host ip .] proto . port`, fields padded.
pub fn key_bytes(p: &PortRule) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    if let Some(ip) = p.host_ip {
        push_addr(&mut k, ip);
    }
    k.extend([proto_number(p.protocol), 0, 0, 0]);
    k.extend(p.host_port.to_be_bytes());
    k.extend([0, 0]);
    k
}

/// The data of a port element: `container ip . port`, fields padded.
pub fn data_bytes(p: &PortRule) -> Vec<u8> {
    let mut d = Vec::with_capacity(20);
    push_addr(&mut d, p.container_ip);
    d.extend(p.container_port.to_be_bytes());
    d.extend([0, 0]);
    d
}

/// The batch for `op` on `ports` of `table`: begin, one message per map
/// (sequence numbers `seq + 1 ..`), end. Ports must have a map.
pub fn batch(op: Op, table: &str, ports: &[PortRule], seq: u32) -> (Vec<u8>, u32) {
    let mut maps: Vec<&str> = ports.iter().filter_map(port_map).collect();
    maps.sort();
    maps.dedup();
    let res = NFNL_SUBSYS_NFTABLES;
    let mut out = message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, 0, res, &[]);
    let (kind, flags) = match op {
        Op::Create => (NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL),
        Op::Delete => (NFT_MSG_DELSETELEM, 0),
    };
    let mut n = 0;
    for map in &maps {
        let mut payload = Vec::new();
        attr(&mut payload, NFTA_SET_ELEM_LIST_TABLE, &c_string(table));
        attr(&mut payload, NFTA_SET_ELEM_LIST_SET, &c_string(map));
        nested(&mut payload, NFTA_SET_ELEM_LIST_ELEMENTS, |list| {
            for p in ports.iter().filter(|p| port_map(p) == Some(map)) {
                nested(list, NFTA_LIST_ELEM, |e| {
                    nested(e, NFTA_SET_ELEM_KEY, |k| {
                        attr(k, NFTA_DATA_VALUE, &key_bytes(p))
                    });
                    if op == Op::Create {
                        nested(e, NFTA_SET_ELEM_DATA, |d| {
                            attr(d, NFTA_DATA_VALUE, &data_bytes(p))
                        });
                    }
                });
            }
        });
        n += 1;
        let type_ = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        let flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        out.extend(message(type_, flags, seq + n, NFPROTO_INET, 0, &payload));
    }
    out.extend(message(
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq + n + 1,
        0,
        res,
        &[],
    ));
    (out, n)
}

/// Runs `op` on `ports` in one batch. `Err` carries the kernel's errno
/// (EEXIST, ENOENT...) as an [`io::Error`].
pub fn apply(op: Op, table: &str, ports: &[PortRule]) -> io::Result<()> {
    let sock = nfnl::socket()?;
    let seq = nfnl::next_seq(ports.len() as u32 + 3);
    let (bytes, acks) = batch(op, table, ports, seq);
    sock.send(&bytes)?;
    nfnl::wait_acks(&sock, seq + 1, acks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(host_ip: Option<&str>, ip: &str) -> PortRule {
        PortRule {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: 0x1f90, // 8080
            protocol: Protocol::Udp,
            container_ip: ip.parse().unwrap(),
            container_port: 80,
        }
    }

    #[test]
    fn keys_and_data_are_laid_out_as_nft_concatenations() {
        let all = port(None, "10.0.0.2");
        assert_eq!(key_bytes(&all), [17, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(data_bytes(&all), [10, 0, 0, 2, 0, 80, 0, 0]);
        let one = port(Some("127.0.0.1"), "10.0.0.2");
        assert_eq!(
            key_bytes(&one),
            [127, 0, 0, 1, 17, 0, 0, 0, 0x1f, 0x90, 0, 0]
        );
        let six = port(Some("::1"), "fd00::2");
        assert_eq!(key_bytes(&six).len(), 16 + 4 + 4);
        assert_eq!(data_bytes(&six)[..2], [0xfd, 0]);
        assert_eq!(data_bytes(&six)[16..], [0, 80, 0, 0]);
    }

    #[test]
    fn a_batch_is_begin_one_message_per_map_end() {
        let ports = [
            port(None, "10.0.0.2"),
            port(Some("127.0.0.1"), "10.0.0.2"),
            port(None, "10.0.0.3"),
        ];
        let (bytes, acks) = batch(Op::Create, "kiln_t1", &ports, 100);
        assert_eq!(acks, 2, "pub4 and pub4_ip");
        let msgs = nfnl::messages(&bytes);
        let kinds: Vec<u16> = msgs.iter().map(|m| m.kind).collect();
        let set_elem = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
        assert_eq!(kinds, [0x10, set_elem, set_elem, 0x11]);
        let seqs: Vec<u32> = msgs.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [100, 101, 102, 103]);
        let flags = u16::from_ne_bytes([bytes[20 + 6], bytes[20 + 7]]);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // pub4 first (sorted), with two elements; nfgenmsg family inet.
        let body = &msgs[1].payload;
        assert_eq!(body[0], NFPROTO_INET);
        let attrs = nfnl::attrs(&body[4..]);
        assert_eq!(attrs[0].1, b"kiln_t1\0");
        assert_eq!(attrs[1].1, b"pub4\0");
        let elems = nfnl::attrs(attrs[2].1);
        assert_eq!(elems.len(), 2);
        let first = nfnl::attrs(elems[0].1);
        let key = nfnl::attr_value(first[0].1, NFTA_DATA_VALUE).unwrap();
        assert_eq!(key, key_bytes(&ports[0]));
        let data = nfnl::attr_value(first[1].1, NFTA_DATA_VALUE).unwrap();
        assert_eq!(data, data_bytes(&ports[0]));
    }

    #[test]
    fn a_delete_batch_carries_keys_only() {
        let (bytes, acks) = batch(Op::Delete, "kiln_t1", &[port(None, "10.0.0.2")], 7);
        assert_eq!(acks, 1);
        let msgs = nfnl::messages(&bytes);
        assert_eq!(
            msgs[1].kind,
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELSETELEM
        );
        let attrs = nfnl::attrs(&msgs[1].payload[4..]);
        let elem = nfnl::attrs(nfnl::attrs(attrs[2].1)[0].1);
        assert_eq!(elem.len(), 1, "no data");
        assert_eq!(elem[0].0, NFTA_SET_ELEM_KEY);
    }
}
