//! The container's embedded DNS on the real kernel: a [`Responder`] bound
//! at 127.0.0.11:53 inside a network namespace, asked from inside it by
//! `dig` (UDP and TCP) and by an in-process client; names come from network
//! records under a temp root. Only kiln's own names and a fake upstream on
//! 127.0.0.1 are ever asked: nothing leaves the machine.
//!
//! [`Responder`]: kiln_runtime::network::dns::Responder

mod dns_support;

use std::sync::atomic::Ordering;
use std::time::Instant;

use dns_support::*;

const NET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const NET_PLAIN: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const CLIENT: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const WEB: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const WEB2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const SECRET: &str = "5555555555555555555555555555555555555555555555555555555555555555";
const HIDDEN: &str = "6666666666666666666666666666666666666666666666666666666666666666";

/// The asker `client` is on `neta` (DNS) with `web` (alias `api`, IPv4 and
/// IPv6) and `web2` (alias `api` too), and on `plain` (no DNS) with
/// `hidden`; `secret` is on `netb`, which the asker is not on.
fn world() -> Fixture {
    let f = Fixture::new();
    f.network(NET_A, "neta", true);
    f.network(NET_B, "netb", true);
    f.network(NET_PLAIN, "plain", false);
    f.endpoint(NET_A, CLIENT, "client", &["10.200.1.2"]);
    f.endpoint_with(
        NET_A,
        WEB,
        "web",
        &["10.200.1.3", "fd00:200:1::3"],
        &["api"],
    );
    f.endpoint_with(NET_A, WEB2, "web2", &["10.200.1.4"], &["api"]);
    f.endpoint(NET_B, SECRET, "secret", &["10.200.2.2"]);
    f.endpoint(NET_PLAIN, CLIENT, "client", &["10.200.3.2"]);
    f.endpoint(NET_PLAIN, HIDDEN, "hidden", &["10.200.3.3"]);
    f
}

#[test]
fn udp_answers_names_aliases_short_ids_and_name_dot_network() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let answers = serve(&mut responder, || {
        [
            "web",
            "WEB.",
            "0123456789ab",
            "web.neta",
            "Web.NetA.",
            "api",
            "client",
        ]
        .map(|name| f.dig(&["+short", name]))
    });
    let one = vec!["10.200.1.3".to_owned()];
    assert_eq!(answers[0], one);
    assert_eq!(answers[1], one);
    assert_eq!(answers[2], one);
    assert_eq!(answers[3], one);
    assert_eq!(answers[4], one);
    assert_eq!(
        answers[5],
        ["10.200.1.3", "10.200.1.4"],
        "every address, record order"
    );
    assert_eq!(answers[6], ["10.200.1.2"], "the asker resolves itself");
}

#[test]
fn tcp_answers_local_names() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let (web, api) = serve(&mut responder, || {
        (
            f.dig(&["+tcp", "+short", "web"]),
            f.dig(&["+tcp", "+short", "api.neta"]),
        )
    });
    assert_eq!(web, ["10.200.1.3"]);
    assert_eq!(api, ["10.200.1.3", "10.200.1.4"]);
}

#[test]
fn aaaa_answers_ipv6_and_a_known_name_without_ipv6_is_noerror_empty() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let (v6, none, status) = serve(&mut responder, || {
        (
            f.dig(&["+short", "AAAA", "web"]),
            f.dig(&["+short", "AAAA", "web2"]),
            f.dig_status(&["AAAA", "web2"]),
        )
    });
    assert_eq!(v6, ["fd00:200:1::3"]);
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(status, "NOERROR");
}

#[test]
fn other_networks_names_are_nxdomain_and_never_forwarded() {
    let f = world();
    let upstream = FakeUpstream::start(false);
    let mut responder = f.responder(CLIENT, vec![upstream.address]);
    let statuses = serve(&mut responder, || {
        ["secret", "hidden", "secret.netb", "nosuchname"].map(|n| f.dig_status(&[n]))
    });
    assert_eq!(
        statuses[0], "NXDOMAIN",
        "a container of a network the asker is not on"
    );
    assert_eq!(
        statuses[1], "NXDOMAIN",
        "a container of a network without DNS"
    );
    assert_eq!(statuses[3], "NXDOMAIN");
    // A dotted unknown name is forwarded: the fake upstream says NXDOMAIN.
    assert_eq!(statuses[2], "NXDOMAIN");
    assert_eq!(
        upstream.seen.load(Ordering::SeqCst),
        1,
        "only secret.netb went upstream"
    );
}

#[test]
fn other_names_are_forwarded_to_the_upstream_over_udp_and_tcp() {
    let f = world();
    let upstream = FakeUpstream::start(false);
    let mut responder = f.responder(CLIENT, vec![upstream.address]);
    let (udp, tcp) = serve(&mut responder, || {
        (
            f.dig(&["+short", "outside.test"]),
            f.dig(&["+tcp", "+short", "OUTSIDE.test"]),
        )
    });
    assert_eq!(udp, ["192.0.2.77"]);
    assert_eq!(tcp, ["192.0.2.77"]);
    assert_eq!(upstream.seen.load(Ordering::SeqCst), 2);
}

#[test]
fn a_silent_upstream_gives_servfail_at_the_deadline() {
    let f = world();
    let upstream = FakeUpstream::start(true);
    let mut responder = f.responder(CLIENT, vec![upstream.address]);
    let reply = ask_past_the_deadline(&f, &mut responder, &query(0x4242, "slow.test", 1));
    assert_eq!(&reply[..2], &[0x42, 0x42]);
    assert_eq!(rcode(&reply), 2, "SERVFAIL");
    assert!(responder.next_deadline().is_none());
}

#[test]
fn after_a_timeout_the_next_upstream_is_asked() {
    let f = world();
    let dead = FakeUpstream::start(true);
    let alive = FakeUpstream::start(false);
    let mut responder = f.responder(CLIENT, vec![dead.address, alive.address]);
    let first = ask_past_the_deadline(&f, &mut responder, &query(1, "outside.test", 1));
    assert_eq!(rcode(&first), 2, "SERVFAIL from the dead server's timeout");
    let second = serve(&mut responder, || f.dig(&["+short", "outside.test"]));
    assert_eq!(second, ["192.0.2.77"]);
    assert_eq!(dead.seen.load(Ordering::SeqCst), 1);
    assert_eq!(alive.seen.load(Ordering::SeqCst), 1);
}

#[test]
fn no_upstream_gives_servfail_at_once() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let status = serve(&mut responder, || f.dig_status(&["outside.test"]));
    assert_eq!(status, "SERVFAIL");
}

#[test]
fn ptr_answers_name_dot_network_for_network_addresses() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let (v4, v6, foreign) = serve(&mut responder, || {
        (
            f.dig(&["+short", "-x", "10.200.1.3"]),
            f.dig(&["+short", "-x", "fd00:200:1::3"]),
            f.dig_status(&["-x", "10.200.2.2"]),
        )
    });
    assert_eq!(v4, ["web.neta."]);
    assert_eq!(v6, ["web.neta."]);
    // Not a local address: forwarded, and there is no upstream here.
    assert_eq!(foreign, "SERVFAIL");
}

#[test]
fn a_new_container_resolves_once_the_generation_changes() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let before = serve(&mut responder, || f.dig_status(&["late"]));
    f.endpoint(
        NET_A,
        "7777777777777777777777777777777777777777777777777777777777777777",
        "late",
        &["10.200.1.9"],
    );
    let after = serve(&mut responder, || f.dig(&["+short", "late"]));
    assert_eq!(before, "NXDOMAIN");
    assert_eq!(after, ["10.200.1.9"]);
}

#[test]
fn hostile_datagrams_are_survived() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let reply = serve(&mut responder, || {
        in_netns(&f.netns, || {
            let socket = client_socket();
            for junk in [
                &b""[..],
                &[0xff; 3][..],
                &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12][..],
                &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, b'a'][..],
            ] {
                socket.send_to(junk, "127.0.0.11:53").unwrap();
            }
            socket
                .send_to(&query(7, "web", 1), "127.0.0.11:53")
                .unwrap();
            let mut buf = [0u8; 512];
            loop {
                let (n, _) = socket.recv_from(&mut buf).unwrap();
                // Junk with a readable header may get FORMERR first.
                if buf[..2] == [0, 7] {
                    return buf[..n].to_vec();
                }
                assert_eq!(buf[3] & 0x0f, 1, "junk gets FORMERR or nothing");
            }
        })
    });
    assert_eq!(rcode(&reply), 0);
    assert_eq!(&reply[reply.len() - 4..], &[10, 200, 1, 3]);
    let status = serve(&mut responder, || f.dig(&["+short", "web"]));
    assert_eq!(status, ["10.200.1.3"], "still serving after junk");
}

/// Measures the median of 1000 sequential UDP queries for a container name
/// from inside the namespace (printed; the benchmark script holds targets).
#[test]
fn thousand_sequential_queries_are_all_answered() {
    let f = world();
    let mut responder = f.responder(CLIENT, Vec::new());
    let mut times = serve(&mut responder, || {
        in_netns(&f.netns, || {
            let socket = client_socket();
            let mut times = Vec::with_capacity(1000);
            for i in 0..1000u16 {
                let q = query(i, "web", 1);
                let started = Instant::now();
                let reply = ask(&socket, &q);
                times.push(started.elapsed());
                assert_eq!(&reply[..2], &i.to_be_bytes());
                assert_eq!(rcode(&reply), 0);
                assert_eq!(&reply[reply.len() - 4..], &[10, 200, 1, 3]);
            }
            times
        })
    });
    times.sort();
    eprintln!(
        "dns query latency over 1000: median {:?}, p90 {:?}, p99 {:?}",
        times[500], times[900], times[990]
    );
    assert_eq!(times.len(), 1000);
}
