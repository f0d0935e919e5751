//! The default `bridge` network (a `run` without `--network`), as Docker's:
//! outbound traffic is masqueraded behind the host's address, there is no
//! embedded DNS and no name resolution between containers, and
//! `/etc/resolv.conf` is not `127.0.0.11`.

use crate::fixture::IMG;
use crate::support::net::OtherHost;
use crate::world::World;

#[test]
fn default_bridge_nats_outbound_and_resolves_no_names() {
    let mut other = OtherHost::new();
    other.serve_peer(9000);
    let w = World::new("bridge");

    // Outbound NAT: the other host sees this host's address on their link,
    // not the container's.
    let probe = format!("timeout 10 nc -w 3 {} 9000 </dev/null", other.ip);
    let out = w.ok(&["run", "--rm", IMG, "sh", "-c", &probe]);
    assert_eq!(out, format!("tcp peer={}\n", other.host_ip));

    let id = w.sleeper("named", &[]);
    let c = w.r.inspect_json(&id);
    let nets = c["NetworkSettings"]["Networks"].as_object().unwrap();
    assert!(nets.contains_key("bridge"), "{nets:?}");
    let named_ip = w.ip_of("named", "bridge").to_string();

    // No embedded DNS: resolv.conf does not point at it, and nothing answers
    // there (the query stays inside the container).
    let out = w.ok(&["run", "--rm", IMG, "cat", "/etc/resolv.conf"]);
    assert!(!out.contains("127.0.0.11"), "{out}");
    let (out, err, code) = crate::fixture::parts(&w.run(&[
        "run",
        "--rm",
        IMG,
        "sh",
        "-c",
        "timeout 10 nslookup named 127.0.0.11",
    ]));
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(!out.contains(&named_ip), "{out}");
    let hosts = w.ok(&["run", "--rm", IMG, "cat", "/etc/hosts"]);
    assert!(!hosts.contains("named"), "{hosts}");

    // Containers on the bridge still reach each other by address.
    let (out, err, code) =
        crate::fixture::parts(&w.run(&["run", "--rm", IMG, "ping", "-c1", "-W2", &named_ip]));
    assert_eq!(code, Some(0), "{out}{err}");
    w.finish();
}
