//! A small, pure DNS wire codec (RFC 1035, RFC 6891): enough to read one
//! question and write the embedded server's answers (A, AAAA, PTR; NOERROR,
//! NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP).
//!
//! Every byte of a query is hostile input: reads are bounds-checked, names
//! are limited to 63-byte labels and 255 bytes in all, compression pointers
//! must point strictly backwards (no loops) and at most
//! [`MAX_POINTERS`] are followed. Nothing here panics on any input (the
//! tests feed it random bytes).
//!
//! Answers carry their owner name as a pointer to the question's name (the
//! only name compression a single-question answer needs). An EDNS `OPT`
//! record in the query is read only for its UDP payload size; the reply
//! carries a minimal `OPT` back (RFC 6891 §7: a responder that understands
//! EDNS answers with one), with no options echoed.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Record type A.
pub const TYPE_A: u16 = 1;
/// Record type PTR.
pub const TYPE_PTR: u16 = 12;
/// Record type AAAA.
pub const TYPE_AAAA: u16 = 28;
/// Record type OPT (EDNS).
pub const TYPE_OPT: u16 = 41;
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// Class ANY (`*`), accepted as IN for local names.
pub const CLASS_ANY: u16 = 255;
/// The largest UDP reply without EDNS (RFC 1035 §4.2.1).
pub const MAX_UDP: usize = 512;
/// The largest UDP reply kiln sends even if a client advertises more
/// (the common DNS-flag-day value, below any MTU).
pub const MAX_EDNS_UDP: usize = 1232;
/// Compression pointers followed in one name, at most.
pub const MAX_POINTERS: usize = 16;
/// Largest label (RFC 1035).
const MAX_LABEL: usize = 63;
/// Largest name on the wire (RFC 1035).
const MAX_NAME: usize = 255;
/// Header length.
pub const HEADER_LEN: usize = 12;

/// What makes a message unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message ends before offset `at`.
    #[error("DNS message truncated at byte {at}")]
    Short {
        /// Where more bytes were needed.
        at: usize,
    },
    /// A label longer than 63 bytes, or a reserved label type.
    #[error("bad DNS label at byte {at}")]
    BadLabel {
        /// Where.
        at: usize,
    },
    /// A name longer than 255 bytes.
    #[error("DNS name longer than 255 bytes at byte {at}")]
    NameTooLong {
        /// Where the name started.
        at: usize,
    },
    /// A compression pointer forwards, to itself, or one too many.
    #[error("bad DNS compression pointer at byte {at}")]
    BadPointer {
        /// Where the pointer is.
        at: usize,
    },
    /// Not exactly one question.
    #[error("DNS query with {0} questions (one expected)")]
    QuestionCount(u16),
    /// The message is a response, not a query.
    #[error("DNS message is a response")]
    NotQuery,
}

/// A response code (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// Answered (possibly with no records: "NODATA").
    NoError = 0,
    /// The query could not be read.
    FormErr = 1,
    /// The server failed (upstream timed out or none).
    ServFail = 2,
    /// The name does not exist.
    NxDomain = 3,
    /// Opcode not supported.
    NotImp = 4,
    /// The server will not answer this.
    Refused = 5,
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction ID.
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z, rcode.
    pub flags: u16,
    /// Questions.
    pub qdcount: u16,
    /// Answers.
    pub ancount: u16,
    /// Authority records.
    pub nscount: u16,
    /// Additional records.
    pub arcount: u16,
}

impl Header {
    /// Reads the header at the start of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Header, MessageError> {
        Ok(Header {
            id: read_u16(buf, 0)?,
            flags: read_u16(buf, 2)?,
            qdcount: read_u16(buf, 4)?,
            ancount: read_u16(buf, 6)?,
            nscount: read_u16(buf, 8)?,
            arcount: read_u16(buf, 10)?,
        })
    }

    /// The 4-bit opcode.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    /// Whether QR (response) is set.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
}

/// The single question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name as asked, lowercased, dot-separated, without the final dot
    /// (empty: the root).
    pub name: String,
    /// The question's bytes as on the wire (name, type, class), echoed in
    /// the reply with the asker's own letter case.
    pub wire: Vec<u8>,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// A query read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Its header.
    pub header: Header,
    /// Its one question.
    pub question: Question,
    /// The EDNS UDP payload size, when an OPT record came with it.
    pub edns_udp_size: Option<u16>,
}

impl Query {
    /// The largest UDP reply this asker accepts.
    pub fn udp_limit(&self) -> usize {
        match self.edns_udp_size {
            Some(size) => (size as usize).clamp(MAX_UDP, MAX_EDNS_UDP),
            None => MAX_UDP,
        }
    }
}

/// The data of one answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A name (dot-separated, no final dot).
    Ptr(String),
}

impl Rdata {
    /// The record type.
    pub fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => TYPE_A,
            Rdata::Aaaa(_) => TYPE_AAAA,
            Rdata::Ptr(_) => TYPE_PTR,
        }
    }
}

/// Reads one query: header, exactly one question, and an OPT record among
/// the additional ones if present. Answer and authority sections of a query
/// are skipped, bounds-checked.
pub fn parse_query(buf: &[u8]) -> Result<Query, MessageError> {
    let header = Header::parse(buf)?;
    if header.is_response() {
        return Err(MessageError::NotQuery);
    }
    if header.qdcount != 1 {
        return Err(MessageError::QuestionCount(header.qdcount));
    }
    let (name, after_name) = read_name(buf, HEADER_LEN)?;
    let qtype = read_u16(buf, after_name)?;
    let qclass = read_u16(buf, after_name + 2)?;
    let end = after_name + 4;
    let question = Question {
        name,
        wire: buf[HEADER_LEN..end].to_vec(),
        qtype,
        qclass,
    };
    let mut at = end;
    for _ in 0..(header.ancount as usize + header.nscount as usize) {
        at = skip_record(buf, at)?.0;
    }
    let mut edns_udp_size = None;
    for _ in 0..header.arcount {
        let (next, rtype, class) = skip_record(buf, at)?;
        if rtype == TYPE_OPT {
            edns_udp_size = Some(class);
        }
        at = next;
    }
    Ok(Query {
        header,
        question,
        edns_udp_size,
    })
}

/// The reply to `query`: its ID, RD copied, RA and (for local answers) AA
/// set, the question echoed, then `answers` (owner name compressed to the
/// question's) with `ttl`; a minimal OPT when the query had one. When the
/// answers do not fit in `limit` bytes, they are dropped and TC is set (the
/// client retries over TCP).
pub fn reply(query: &Query, rcode: Rcode, answers: &[Rdata], ttl: u32, limit: usize) -> Vec<u8> {
    let mut out = reply_with(query, rcode, answers, ttl, false);
    if out.len() > limit {
        out = reply_with(query, rcode, &[], ttl, true);
    }
    out
}

/// An error reply (no answers, no AA) for a message that may not even have
/// a readable question: only the ID and RD of `buf` are used, plus the
/// question when it is readable.
pub fn error_reply(buf: &[u8], rcode: Rcode) -> Option<Vec<u8>> {
    let id = read_u16(buf, 0).ok()?;
    let flags = read_u16(buf, 2).ok()?;
    if flags & 0x8000 != 0 {
        return None;
    }
    if let Ok(query) = parse_query(buf) {
        let mut out = reply_with(&query, rcode, &[], 0, false);
        out[2] &= !0x04; // not authoritative
        return Some(out);
    }
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&id.to_be_bytes());
    let out_flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode as u16;
    out.extend_from_slice(&out_flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

fn reply_with(query: &Query, rcode: Rcode, answers: &[Rdata], ttl: u32, tc: bool) -> Vec<u8> {
    let opcode_rd = query.header.flags & 0x7900;
    let mut flags = 0x8000 | opcode_rd | 0x0400 | 0x0080 | rcode as u16;
    if tc {
        flags |= 0x0200;
    }
    let mut out = Vec::with_capacity(64 + answers.len() * 16);
    out.extend_from_slice(&query.header.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    let arcount = u16::from(query.edns_udp_size.is_some());
    for count in [1, answers.len().min(u16::MAX as usize) as u16, 0, arcount] {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(&query.question.wire);
    for answer in answers {
        write_answer(&mut out, answer, ttl);
    }
    if query.edns_udp_size.is_some() {
        // root name, OPT, our payload size, rcode/version/flags 0, no data
        out.push(0);
        out.extend_from_slice(&TYPE_OPT.to_be_bytes());
        out.extend_from_slice(&(MAX_EDNS_UDP as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    out
}

fn write_answer(out: &mut Vec<u8>, answer: &Rdata, ttl: u32) {
    out.extend_from_slice(&[0xc0, HEADER_LEN as u8]);
    out.extend_from_slice(&answer.rtype().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    match answer {
        Rdata::A(ip) => {
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&ip.octets());
        }
        Rdata::Aaaa(ip) => {
            out.extend_from_slice(&16u16.to_be_bytes());
            out.extend_from_slice(&ip.octets());
        }
        Rdata::Ptr(name) => {
            let wire = encode_name(name);
            out.extend_from_slice(&(wire.len() as u16).to_be_bytes());
            out.extend_from_slice(&wire);
        }
    }
}

/// `name` (dot-separated) in wire form, uncompressed. Empty labels are
/// skipped; labels over 63 bytes are cut (names come from kiln's own
/// records, which are checked on the way in).
pub fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let bytes = &label.as_bytes()[..label.len().min(MAX_LABEL)];
        if out.len() + bytes.len() + 2 > MAX_NAME {
            break;
        }
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
    out
}

/// Reads the name at `start`: (lowercased dotted text, offset after the
/// name where it sits — after the first pointer when compressed).
pub fn read_name(buf: &[u8], start: usize) -> Result<(String, usize), MessageError> {
    let mut text = String::new();
    let mut wire_len = 1usize;
    let mut at = start;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *buf.get(at).ok_or(MessageError::Short { at })? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => break,
            0x00 => {
                let label = buf
                    .get(at + 1..at + 1 + len)
                    .ok_or(MessageError::Short { at: at + 1 + len })?;
                wire_len += len + 1;
                if wire_len > MAX_NAME {
                    return Err(MessageError::NameTooLong { at: start });
                }
                if !text.is_empty() {
                    text.push('.');
                }
                push_label(&mut text, label);
                at += 1 + len;
            }
            0xc0 => {
                let low = *buf.get(at + 1).ok_or(MessageError::Short { at: at + 1 })?;
                let target = ((len & 0x3f) << 8) | low as usize;
                jumps += 1;
                if target >= at || jumps > MAX_POINTERS {
                    return Err(MessageError::BadPointer { at });
                }
                end.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(MessageError::BadLabel { at }),
        }
    }
    Ok((text, end.unwrap_or(at + 1)))
}

/// Appends a label lowercased; bytes outside printable ASCII, and dots or
/// backslashes inside a label, are escaped as `\DDD` so they never match a
/// local name by accident.
fn push_label(text: &mut String, label: &[u8]) {
    for &byte in label {
        if byte.is_ascii_graphic() && byte != b'.' && byte != b'\\' {
            text.push(byte.to_ascii_lowercase() as char);
        } else {
            text.push_str(&format!("\\{byte:03}"));
        }
    }
}

/// Skips one resource record at `at`: (offset after it, type, class).
fn skip_record(buf: &[u8], at: usize) -> Result<(usize, u16, u16), MessageError> {
    let (_, after) = read_name(buf, at)?;
    let rtype = read_u16(buf, after)?;
    let class = read_u16(buf, after + 2)?;
    let rdlen = read_u16(buf, after + 8)? as usize;
    let next = after + 10 + rdlen;
    if next > buf.len() {
        return Err(MessageError::Short { at: next });
    }
    Ok((next, rtype, class))
}

/// The big-endian u16 at `at`.
pub fn read_u16(buf: &[u8], at: usize) -> Result<u16, MessageError> {
    match buf.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(MessageError::Short { at: at + 2 }),
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
