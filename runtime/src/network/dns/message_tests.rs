use super::*;

/// `Web.Example` A, ID 0x1234, RD.
const QUERY: [u8; 29] = [
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header
    3, b'W', b'e', b'b', 7, b'E', b'x', b'a', b'm', b'p', b'l', b'e', 0, // name
    0, 1, 0, 1, // A IN
];

fn with_opt(query: &[u8], size: u16) -> Vec<u8> {
    let mut q = query.to_vec();
    q[11] = 1;
    q.push(0);
    q.extend_from_slice(&TYPE_OPT.to_be_bytes());
    q.extend_from_slice(&size.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    q
}

#[test]
fn a_query_is_read() {
    let query = parse_query(&QUERY).unwrap();
    assert_eq!(query.header.id, 0x1234);
    assert_eq!(query.header.opcode(), 0);
    assert_eq!(query.question.name, "web.example");
    assert_eq!(query.question.qtype, TYPE_A);
    assert_eq!(query.question.qclass, CLASS_IN);
    assert_eq!(query.question.wire, QUERY[12..]);
    assert_eq!(query.edns_udp_size, None);
    assert_eq!(query.udp_limit(), 512);
}

#[test]
fn an_a_answer_has_golden_bytes() {
    let query = parse_query(&QUERY).unwrap();
    let reply = reply(
        &query,
        Rcode::NoError,
        &[Rdata::A([10, 0, 0, 1].into())],
        600,
        512,
    );
    let mut expected = vec![0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    expected.extend_from_slice(&QUERY[12..]); // the question, letter case kept
    expected.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 0, 0, 1]);
    assert_eq!(reply, expected);
}

#[test]
fn aaaa_and_ptr_answers_have_golden_bytes() {
    let query = parse_query(&QUERY).unwrap();
    let v6: std::net::Ipv6Addr = "fd00::3".parse().unwrap();
    let reply = reply(&query, Rcode::NoError, &[Rdata::Aaaa(v6)], 600, 512);
    let tail = &reply[reply.len() - 28..];
    assert_eq!(
        &tail[..12],
        &[0xc0, 12, 0, 28, 0, 1, 0, 0, 0x02, 0x58, 0, 16]
    );
    assert_eq!(&tail[12..], &v6.octets());

    let ptr = super::reply(
        &query,
        Rcode::NoError,
        &[Rdata::Ptr("web.neta".into())],
        600,
        512,
    );
    let mut expected = vec![0xc0, 12, 0, 12, 0, 1, 0, 0, 0x02, 0x58, 0, 10];
    expected.extend_from_slice(&[3, b'w', b'e', b'b', 4, b'n', b'e', b't', b'a', 0]);
    assert_eq!(&ptr[ptr.len() - expected.len()..], &expected[..]);
}

#[test]
fn error_codes_are_set_in_the_header() {
    let query = parse_query(&QUERY).unwrap();
    for (rcode, value) in [
        (Rcode::NxDomain, 3),
        (Rcode::ServFail, 2),
        (Rcode::Refused, 5),
    ] {
        let reply = reply(&query, rcode, &[], 600, 512);
        assert_eq!(reply[3] & 0x0f, value);
        assert_eq!(&reply[6..8], &[0, 0], "no answers");
    }
}

#[test]
fn edns_is_read_for_its_size_and_answered_with_a_minimal_opt() {
    let q = with_opt(&QUERY, 4096);
    let query = parse_query(&q).unwrap();
    assert_eq!(query.edns_udp_size, Some(4096));
    assert_eq!(query.udp_limit(), MAX_EDNS_UDP);
    let reply = reply(&query, Rcode::NoError, &[], 600, 512);
    assert_eq!(&reply[10..12], &[0, 1], "one additional record");
    assert_eq!(
        &reply[reply.len() - 11..],
        &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]
    );
    let tiny = parse_query(&with_opt(&QUERY, 100)).unwrap();
    assert_eq!(tiny.udp_limit(), MAX_UDP, "below 512 counts as 512");
}

#[test]
fn too_many_answers_for_udp_set_tc_and_drop_them() {
    let query = parse_query(&QUERY).unwrap();
    let answers: Vec<Rdata> = (0..40).map(|i| Rdata::A([10, 0, 0, i].into())).collect();
    let full = reply(&query, Rcode::NoError, &answers, 600, usize::MAX);
    assert_eq!(&full[6..8], &[0, 40]);
    let cut = reply(&query, Rcode::NoError, &answers, 600, 512);
    assert_ne!(cut[2] & 0x02, 0, "TC");
    assert_eq!(&cut[6..8], &[0, 0]);
}

#[test]
fn hostile_names_are_refused_without_panicking() {
    let header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let cases: Vec<(Vec<u8>, MessageError)> = vec![
        (
            vec![0xc0, 12, 0, 1, 0, 1],
            MessageError::BadPointer { at: 12 },
        ),
        (
            vec![0xc0, 14, 0, 1, 0, 1],
            MessageError::BadPointer { at: 12 },
        ),
        (vec![0x40, b'a'], MessageError::BadLabel { at: 12 }),
        (vec![0x80, b'a'], MessageError::BadLabel { at: 12 }),
        (vec![63, b'a'], MessageError::Short { at: 76 }),
        (vec![3, b'w', b'e'], MessageError::Short { at: 16 }),
        (vec![1, b'a', 0, 0], MessageError::Short { at: 17 }),
    ];
    for (name, error) in cases {
        let mut q = header.to_vec();
        q.extend_from_slice(&name);
        assert_eq!(parse_query(&q), Err(error), "{name:?}");
    }
    let mut long = header.to_vec();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'x'; 63]);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(
        parse_query(&long),
        Err(MessageError::NameTooLong { at: 12 })
    );
}

#[test]
fn pointer_chains_are_bounded() {
    // A name made of a long backward chain: each pointer points to the one
    // before it, the first to a root label.
    let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    for i in 0..20u16 {
        let target = if i == 0 { 12 } else { 13 + (i - 1) * 2 };
        q.extend_from_slice(&(0xc000 | target).to_be_bytes());
    }
    let last = q.len() - 2;
    assert!(matches!(
        read_name(&q, last),
        Err(MessageError::BadPointer { .. })
    ));
    assert_eq!(read_name(&q, 13 + 2 * 3).unwrap(), (String::new(), 21));
}

#[test]
fn question_counts_and_responses_are_refused() {
    let mut none = QUERY.to_vec();
    none[5] = 0;
    assert_eq!(parse_query(&none), Err(MessageError::QuestionCount(0)));
    let mut two = QUERY.to_vec();
    two[5] = 2;
    assert_eq!(parse_query(&two), Err(MessageError::QuestionCount(2)));
    let mut response = QUERY.to_vec();
    response[2] |= 0x80;
    assert_eq!(parse_query(&response), Err(MessageError::NotQuery));
    assert_eq!(
        error_reply(&response, Rcode::FormErr),
        None,
        "never answer a response"
    );
}

#[test]
fn error_replies_need_only_a_header() {
    let reply = error_reply(&QUERY[..12], Rcode::FormErr).unwrap();
    assert_eq!(reply, [0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(error_reply(&QUERY[..3], Rcode::FormErr), None);
    let full = error_reply(&QUERY, Rcode::ServFail).unwrap();
    assert_eq!(
        &full[2..4],
        &[0x81, 0x82],
        "RA, SERVFAIL, not authoritative"
    );
    assert_eq!(&full[12..], &QUERY[12..], "question echoed");
}

#[test]
fn odd_bytes_in_labels_are_escaped_not_matched() {
    let mut q = QUERY[..12].to_vec();
    q.extend_from_slice(&[5, b'w', b'.', b'e', 0xff, b'B', 0, 0, 1, 0, 1]);
    assert_eq!(parse_query(&q).unwrap().question.name, "w\\046e\\255b");
}

#[test]
fn encoded_names_skip_empty_labels() {
    assert_eq!(encode_name("a..b."), [1, b'a', 1, b'b', 0]);
    assert_eq!(encode_name(""), [0]);
}

/// xorshift64: reproducible pseudo-random bytes.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_and_mutated_messages_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let base = with_opt(&QUERY, 1232);
    for round in 0..200_000 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = (next(&mut state) % 300) as usize;
            (0..len).map(|_| next(&mut state) as u8).collect()
        } else {
            let mut m = base.clone();
            for _ in 0..1 + next(&mut state) % 4 {
                let at = (next(&mut state) as usize) % m.len();
                m[at] = next(&mut state) as u8;
            }
            m.truncate(12 + (next(&mut state) as usize) % (m.len() - 11));
            m
        };
        if let Ok(query) = parse_query(&bytes) {
            let answers = [
                Rdata::A([1, 2, 3, 4].into()),
                Rdata::Ptr(query.question.name.clone()),
            ];
            let _ = reply(&query, Rcode::NoError, &answers, 600, query.udp_limit());
        }
        let _ = error_reply(&bytes, Rcode::FormErr);
    }
}
