//! User-defined networks: containers find each other by name, alias and
//! short ID through the embedded DNS at 127.0.0.11; a container on another
//! network neither reaches nor resolves them; `--internal` networks talk
//! inside but have no route out.
//!
//! Every container here gets `--dns 127.0.0.1`: a name kiln's DNS does not
//! own is forwarded to the container's `--dns` servers, and the host's own
//! resolver is off this machine, so forwarded lookups must stay local (they
//! then fail at once). Only names kiln owns are expected to resolve.

use crate::fixture::parts;
use crate::support::net::OtherHost;
use crate::world::World;

/// `timeout 10 nslookup NAME` in `container`: its output and success.
fn lookup(w: &World, container: &str, name: &str) -> (String, bool) {
    let (out, err, code) = w.exec_sh(container, &format!("timeout 10 nslookup {name}"));
    (format!("{out}{err}"), code == Some(0))
}

#[test]
fn containers_on_a_network_reach_each_other_by_name_alias_and_short_id() {
    let w = World::new("byname");
    w.network("front", &[]);
    w.network("back", &[]);
    let dns = ["--dns", "127.0.0.1"];
    let a = w.httpd(
        "alpha",
        &[
            "--network",
            "front",
            "--network-alias",
            "web",
            dns[0],
            dns[1],
        ],
    );
    w.sleeper("bravo", &["--network", "front", dns[0], dns[1]]);
    w.sleeper("charlie", &["--network", "back", dns[0], dns[1]]);
    let a_ip = w.ip_of("alpha", "front").to_string();
    let short = &a[..12];

    let (resolv, _, _) = w.exec_sh("bravo", "cat /etc/resolv.conf");
    assert!(
        resolv.lines().any(|l| l.trim() == "nameserver 127.0.0.11"),
        "{resolv}"
    );
    for name in ["alpha", "web", short] {
        let (out, ok) = lookup(&w, "bravo", name);
        assert!(ok, "nslookup {name} failed: {out}");
        assert!(out.contains(&a_ip), "nslookup {name}: {out} lacks {a_ip}");
        let (out, err, code) = w.exec_sh("bravo", &format!("ping -c1 -W2 {name}"));
        assert_eq!(code, Some(0), "ping {name}: {out}{err}");
        let (out, err, code) = w.exec_sh("bravo", &format!("timeout 10 wget -qO- http://{name}/"));
        assert_eq!(code, Some(0), "wget {name}: {err}");
        assert_eq!(out, "hello from alpha\n");
    }

    // Another network: no route to alpha's address, and none of its names.
    // Controls first, so the failures below are isolation's: charlie's own
    // network works (its gateway answers, its DNS knows charlie).
    let (_, back_gateway) = w.subnet_gateway("back");
    let (out, err, code) = w.exec_sh("charlie", &format!("ping -c1 -W2 {back_gateway}"));
    assert_eq!(code, Some(0), "charlie -> its gateway: {out}{err}");
    let charlie_ip = w.ip_of("charlie", "back").to_string();
    let (out, ok) = lookup(&w, "charlie", "charlie");
    assert!(ok && out.contains(&charlie_ip), "{out}");
    let (out, err, code) = w.exec_sh("charlie", &format!("timeout 10 wget -qO- http://{a_ip}/"));
    assert_ne!(code, Some(0), "charlie reached alpha by IP: {out}{err}");
    let (out, err, code) = w.exec_sh("charlie", &format!("ping -c1 -W2 {a_ip}"));
    assert_ne!(code, Some(0), "charlie pinged alpha: {out}{err}");
    for name in ["alpha", "web", "bravo"] {
        let (out, _) = lookup(&w, "charlie", name);
        assert!(!out.contains(&a_ip), "charlie resolved {name}: {out}");
        let (out, err, code) = w.exec_sh("charlie", &format!("ping -c1 -W2 {name}"));
        assert_ne!(code, Some(0), "charlie pinged {name}: {out}{err}");
    }
    w.finish();
}

#[test]
fn internal_network_talks_inside_but_has_no_route_out() {
    let mut other = OtherHost::new();
    other.serve_peer(9000);
    let peer = other.ip.to_string();
    let w = World::new("internal");
    w.network("inner", &["--internal"]);
    w.network("outer", &[]);
    let dns = ["--dns", "127.0.0.1"];
    w.httpd("xray", &["--network", "inner", dns[0], dns[1]]);
    w.sleeper("yankee", &["--network", "inner", dns[0], dns[1]]);
    w.sleeper("zulu", &["--network", "outer", dns[0], dns[1]]);

    let (out, err, code) = w.exec_sh("yankee", "timeout 10 wget -qO- http://xray/");
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "hello from xray\n"),
        "{err}"
    );
    let x_ip = w.ip_of("xray", "inner");
    let (out, err, code) = w.exec_sh("yankee", &format!("timeout 10 wget -qO- http://{x_ip}/"));
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "hello from xray\n"),
        "{err}"
    );

    // The same probe from a normal network reaches the other host (so the
    // failure below is the network's, not the probe's).
    let probe = format!("timeout 10 nc -w 3 {peer} 9000 </dev/null");
    let (out, err, code) = w.exec_sh("zulu", &probe);
    assert_eq!(code, Some(0), "outer -> other host: {out}{err}");
    assert!(out.starts_with("tcp peer="), "{out}");
    let (out, err, code) = w.exec_sh("yankee", &probe);
    assert_ne!(code, Some(0), "internal -> other host: {out}{err}");
    assert!(!out.contains("peer="), "{out}");

    // A network in use cannot be removed (Docker's words); once its
    // containers are gone it can.
    let (out, err, code) = parts(&w.run(&["network", "rm", "inner"]));
    assert_ne!(code, Some(0), "{out}");
    assert!(err.contains("has active endpoints"), "{err}");
    for name in ["xray", "yankee"] {
        w.ok(&["rm", "-f", name]);
    }
    w.rm_network("inner");
    w.finish();
}
