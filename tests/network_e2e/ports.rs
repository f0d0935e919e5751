//! Published ports (`-p`, `-P`, `kiln port`) as a Docker user sees them:
//! reachable from 127.0.0.1, localhost, the host's own address, another
//! container through the host (hairpin) and another host, with the client's
//! address kept; bound to one address when one is given; UDP; a port in use
//! refused with Docker's message and exit code 125.
//!
//! Host ports are picked free at run time (never hard-coded) so tests and
//! other work on this machine do not collide.

use std::net::{SocketAddr, TcpListener};

use crate::fixture::{parts, IMG};
use crate::support::net::{free_port, host_ipv4, http_get, peer_server_in, udp_ask, OtherHost};
use crate::world::{unmapped, World};

#[test]
fn published_port_answers_from_every_host_address_and_keeps_the_client_address() {
    let other = OtherHost::new();
    let w = World::new("publish");
    let port = free_port();
    let spec = format!("{port}:80");
    w.httpd("web", &["-p", &spec]);
    let host_ip = host_ipv4().to_string();

    for host in ["127.0.0.1", "localhost", host_ip.as_str()] {
        let body = http_get(host, port, "/").unwrap_or_else(|e| panic!("{host}:{port}: {e}"));
        assert_eq!(body, "hello from web\n", "{host}");
    }
    // Another host, through this host's address on their link: the
    // container sees the other host's own address.
    let via = other.host_ip.to_string();
    let seen = other.client("http", &via, port, "/cgi-bin/peer");
    assert_eq!(seen.map(unmapped), Ok(format!("peer={}\n", other.ip)));
    // Another container through the host's address (hairpin), from the
    // default bridge and from a user network.
    w.network("side", &[]);
    let url = format!("http://{host_ip}:{port}/");
    for net in ["bridge", "side"] {
        let out = parts(&w.run(&[
            "run",
            "--rm",
            "--network",
            net,
            IMG,
            "timeout",
            "10",
            "wget",
            "-qO-",
            &url,
        ]));
        assert_eq!(out.0, "hello from web\n", "hairpin from {net}: {out:?}");
    }
    let ports = w.ok(&["port", "web"]);
    assert!(
        ports
            .lines()
            .any(|l| l == format!("80/tcp -> 0.0.0.0:{port}")),
        "{ports}"
    );
    assert_eq!(
        w.ok(&["port", "web", "80"]).lines().next(),
        Some(format!("0.0.0.0:{port}").as_str())
    );
    w.finish();
}

#[test]
fn port_published_on_127_0_0_1_answers_only_there() {
    let other = OtherHost::new();
    let w = World::new("loopback-only");
    let port = free_port();
    let spec = format!("127.0.0.1:{port}:80");
    w.httpd("local", &["-p", &spec]);

    assert_eq!(
        http_get("127.0.0.1", port, "/"),
        Ok("hello from local\n".into())
    );
    let host_ip = host_ipv4().to_string();
    let res = http_get(&host_ip, port, "/");
    assert!(res.is_err(), "{host_ip}:{port} answered: {res:?}");
    let via = other.host_ip.to_string();
    let res = other.client("http", &via, port, "/");
    assert!(res.is_err(), "other host reached {via}:{port}: {res:?}");
    let ports = w.ok(&["port", "local"]);
    assert_eq!(ports.trim(), format!("80/tcp -> 127.0.0.1:{port}"));
    w.finish();
}

#[test]
fn udp_port_is_published_with_the_client_address_kept() {
    let other = OtherHost::new();
    let w = World::new("udp");
    let port = free_port();
    let spec = format!("{port}:53/udp");
    w.sleeper("dnsish", &["-p", &spec]);
    // busybox's nc has no UDP mode: the UDP server is the peer server,
    // started in the container's own network namespace.
    let _server = peer_server_in(w.pid_of("dnsish"), 53);

    let reply = udp_ask(SocketAddr::from(([127, 0, 0, 1], port)));
    assert!(
        matches!(&reply, Ok(r) if r.starts_with("udp peer=")),
        "{reply:?}"
    );
    let reply = udp_ask(SocketAddr::from((host_ipv4(), port)));
    assert!(
        matches!(&reply, Ok(r) if r.starts_with("udp peer=")),
        "{reply:?}"
    );
    let via = other.host_ip.to_string();
    let reply = other.client("udp", &via, port, "");
    assert_eq!(reply, Ok(format!("udp peer={}\n", other.ip)));
    // Docker lists `[::]:PORT` too when the port is also published for
    // IPv6; the IPv4 line must be there.
    let ports = w.ok(&["port", "dnsish"]);
    let want = format!("53/udp -> 0.0.0.0:{port}");
    assert!(ports.lines().any(|l| l == want), "{ports}");
    drop(_server);
    w.finish();
}

#[test]
fn port_in_use_is_refused_with_dockers_message() {
    let w = World::new("conflict");
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let spec = format!("{port}:80");
    let out = w.run(&[
        "run", "-d", "--name", "clash", "-p", &spec, IMG, "sleep", "600",
    ]);
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(125), "{stdout}{stderr}");
    let want = format!("Bind for 0.0.0.0:{port} failed: port is already allocated");
    assert!(stderr.contains(&want), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Once the port is free the same publication works: nothing was left
    // behind by the refused one.
    drop(taken);
    let _ = w.run(&["rm", "-f", "clash"]);
    w.httpd("second", &["-p", &spec]);
    assert_eq!(
        http_get("127.0.0.1", port, "/"),
        Ok("hello from second\n".into())
    );
    w.finish();
}

#[test]
fn publish_all_maps_exposed_ports_to_random_host_ports() {
    let w = World::new("publish-all");
    let ctx = w.r.dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM kiln-test/busybox\nEXPOSE 80\n",
    )
    .unwrap();
    w.ok(&["build", "-q", "-t", "kt/exposed:1", ctx.to_str().unwrap()]);

    let who = "WHO=exposed";
    let id = w.r.detach(&[
        "--name",
        "exposed",
        "-P",
        "-e",
        who,
        "kt/exposed:1",
        "sh",
        "-c",
        crate::world::HTTPD,
    ]);
    w.wait_listening(&id, "-ltn", 80);
    let ports = w.ok(&["port", "exposed"]);
    let line = ports
        .lines()
        .find(|l| l.starts_with("80/tcp -> 0.0.0.0:"))
        .unwrap_or_else(|| panic!("no 80/tcp mapping: {ports:?}"));
    let port: u16 = line.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(
        w.ok(&["port", "exposed", "80/tcp"]).lines().next(),
        Some(format!("0.0.0.0:{port}").as_str())
    );
    assert_eq!(
        http_get("127.0.0.1", port, "/"),
        Ok("hello from exposed\n".into())
    );

    // `-p 80` (no host port) also gets a random one.
    w.httpd("random", &["-p", "80"]);
    let out = w.ok(&["port", "random", "80"]);
    let port: u16 = out
        .lines()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        http_get("localhost", port, "/"),
        Ok("hello from random\n".into())
    );
    w.finish();
}
