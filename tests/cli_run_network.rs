//! End-to-end: `kiln run`/`create` on networks — the default `bridge`
//! network, `--network none|host|container:X`, user-defined networks with
//! names and aliases, `--add-host NAME:host-gateway`, `--dns*`,
//! `--domainname`, `--mac-address`, and published ports answering on
//! 127.0.0.1. Real kernel, real binary; every test has its own `--root` (so
//! its own bridge names and nft table, removed by `Scratch`'s drop), lets
//! IPAM choose subnets, and talks only to 127.0.0.1 and its own containers.
//! Each kiln call is bounded by a timeout (a hang fails, never blocks).

mod support;

// The container tests' fixture; this file uses part of it.
#[allow(dead_code)]
#[path = "cli_containers/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use fixture::{Root, IMG};
use kiln_runtime::network::manage::{self, CreateRequest};
use kiln_runtime::network::record::NetworkStore;

/// The longest any one kiln command may take here.
const BOUND: Duration = Duration::from_secs(60);

/// `kiln ARGS…` killed after [`BOUND`].
fn run(r: &Root, args: &[&str]) -> Output {
    let mut child = r
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kiln");
    let end = Instant::now() + BOUND;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            panic!("kiln {} did not finish within {BOUND:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Standard output of a bounded kiln run that must succeed.
fn ok(r: &Root, args: &[&str]) -> String {
    let out = run(r, args);
    assert!(
        out.status.success(),
        "kiln {} failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one-line error of a bounded kiln run that must fail with 125.
fn fails(r: &Root, args: &[&str]) -> String {
    let out = run(r, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(125),
        "kiln {}: {err}",
        args.join(" ")
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// `eth0`'s IPv4 address and prefix in `ip -4 -o addr` output.
fn eth0_address(text: &str) -> (IpAddr, u8) {
    let cidr = text
        .lines()
        .find(|l| l.contains("eth0") && l.contains("inet "))
        .and_then(|l| l.split_whitespace().skip_while(|w| *w != "inet").nth(1))
        .unwrap_or_else(|| panic!("no eth0 address in {text:?}"));
    let (ip, len) = cidr.split_once('/').unwrap();
    (ip.parse().unwrap(), len.parse().unwrap())
}

/// Whether `ip` is inside `subnet` (`a.b.c.d/n`, IPv4).
fn in_subnet(ip: IpAddr, subnet: &str) -> bool {
    let (base, len) = subnet.split_once('/').unwrap();
    let (IpAddr::V4(ip), Ok(IpAddr::V4(base))) = (ip, base.parse::<IpAddr>()) else {
        return false;
    };
    let len: u32 = len.parse().unwrap();
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(base) & mask
}

/// A user-defined network made through the library (IPAM picks the subnet).
fn user_network(r: &Root, name: &str) {
    let request = CreateRequest {
        name: name.into(),
        ..CreateRequest::default()
    };
    manage::create(&r.root, &request).expect("create network");
}

/// The busybox httpd serving `text` on port 80, as a shell command.
fn httpd(text: &str) -> String {
    format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www")
}

/// `GET /` over plain TCP from the test process, with timeouts.
fn http_get(address: &str) -> std::io::Result<String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = (|| {
            let socket = address.parse().unwrap();
            let mut stream = TcpStream::connect_timeout(&socket, Duration::from_secs(5))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut body = String::new();
            stream.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) => return Ok(body),
            // httpd may not listen yet: retry until the bound.
            Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn default_bridge_gives_an_address_of_its_subnet_and_dockers_etc_files() {
    let r = Root::new("net-default");
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--hostname",
            "box",
            IMG,
            "sh",
            "-c",
            "ip -4 -o addr show; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf",
        ],
    );
    let parts: Vec<&str> = out.split("---\n").collect();
    let (ip, _) = eth0_address(parts[0]);
    let bridge = NetworkStore::open(&r.root).unwrap().find("bridge").unwrap();
    let subnet = &bridge.subnets[0].subnet;
    assert!(in_subnet(ip, subnet), "{ip} not in the bridge's {subnet}");
    assert!(
        parts[1].lines().any(|l| l == format!("{ip}\tbox")),
        "/etc/hosts has no line for the container's address: {}",
        parts[1]
    );
    assert!(
        parts[1].starts_with("127.0.0.1\tlocalhost\n"),
        "{}",
        parts[1]
    );
    // The default network has no embedded DNS (as Docker).
    assert!(!parts[2].contains("127.0.0.11"), "{}", parts[2]);
    // Docker 20.10 records no --network as `default`.
    let id = ok(&r, &["create", IMG, "true"]).trim().to_string();
    let doc = r.inspect_json(&id);
    assert_eq!(doc["HostConfig"]["NetworkMode"], "default");
}

#[test]
fn dns_flags_domainname_and_mac_address_reach_the_container() {
    let r = Root::new("net-dns-flags");
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--dns",
            "10.200.53.53",
            "--dns-search",
            "corp.test",
            "--dns-option",
            "ndots:3",
            IMG,
            "cat",
            "/etc/resolv.conf",
        ],
    );
    assert!(out.lines().any(|l| l == "nameserver 10.200.53.53"), "{out}");
    assert!(out.lines().any(|l| l == "search corp.test"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("options") && l.contains("ndots:3")),
        "{out}"
    );
    user_network(&r, "front");
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "front",
            "--hostname",
            "web",
            "--domainname",
            "corp.test",
            "--mac-address",
            "92:d0:c6:0a:29:33",
            IMG,
            "sh",
            "-c",
            "cat /sys/class/net/eth0/address; cat /etc/hosts /etc/resolv.conf",
        ],
    );
    assert!(out.starts_with("92:d0:c6:0a:29:33\n"), "{out}");
    assert!(
        out.lines().any(|l| l.ends_with("\tweb.corp.test web")),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "nameserver 127.0.0.11"), "{out}");
}

#[test]
fn none_host_and_container_networks() {
    let r = Root::new("net-modes");
    let none = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            IMG,
            "ls",
            "/sys/class/net",
        ],
    );
    assert_eq!(none.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    let host = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "host",
            IMG,
            "ls",
            "/sys/class/net",
        ],
    );
    // kiln's own bridges and host veths (`kb…`, `kv…`) come and go with the
    // tests running beside this one (a veth goes with its container's
    // namespace a moment after the container): compare the others.
    let steady = |name: &String| !name.starts_with("kb") && !name.starts_with("kv");
    let mut ours: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(steady)
        .collect();
    ours.sort();
    let mut theirs: Vec<String> = host
        .split_whitespace()
        .map(String::from)
        .filter(steady)
        .collect();
    theirs.sort();
    assert_eq!(theirs, ours);
    // -p with host networking: recorded, not published, Docker's warning.
    let out = run(
        &r,
        &["run", "--rm", "--network", "host", "-p", "80", IMG, "true"],
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "WARNING: Published ports are discarded when using host network mode\n"
    );
    // container:X shares X's namespace (same address) and hostname.
    let x = r.detach(&["--name", "xbox", "--hostname", "xhost", IMG, "sleep", "600"]);
    let theirs = ok(&r, &["exec", "xbox", "ip", "-4", "-o", "addr", "show"]);
    let mine = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "container:xbox",
            IMG,
            "sh",
            "-c",
            "ip -4 -o addr show; hostname",
        ],
    );
    assert_eq!(eth0_address(&mine), eth0_address(&theirs));
    assert_eq!(mine.lines().last(), Some("xhost"));
    let doc = {
        let id = ok(&r, &["create", "--network", "container:xbox", IMG, "true"]);
        r.inspect_json(id.trim())
    };
    assert_eq!(doc["HostConfig"]["NetworkMode"], format!("container:{x}"));
    for (flag, value, words) in [
        (
            "-p",
            "80",
            "port publishing and the container type network mode",
        ),
        ("--dns", "10.0.0.1", "dns and the network mode"),
        ("--hostname", "h", "hostname and the network mode"),
        (
            "--add-host",
            "a:10.0.0.1",
            "custom host-to-IP mapping and the network mode",
        ),
    ] {
        let err = fails(
            &r,
            &[
                "run",
                "--rm",
                "--network",
                "container:xbox",
                flag,
                value,
                IMG,
                "true",
            ],
        );
        assert!(
            err.contains(&format!("conflicting options: {words}")),
            "{flag}: {err}"
        );
    }
    ok(&r, &["stop", "-t", "1", "xbox"]);
    let err = fails(
        &r,
        &["run", "--rm", "--network", "container:xbox", IMG, "true"],
    );
    assert!(
        err.contains(&format!(
            "cannot join network of a non running container: {x}"
        )),
        "{err}"
    );
    let err = fails(&r, &["run", "--rm", "--network", "nosuchnet", IMG, "true"]);
    assert!(err.contains("network nosuchnet not found"), "{err}");
}

#[test]
fn add_host_gateway_is_the_networks_gateway() {
    let r = Root::new("net-host-gateway");
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--add-host",
            "gw:host-gateway",
            "--add-host",
            "db:10.200.9.9",
            IMG,
            "cat",
            "/etc/hosts",
        ],
    );
    let bridge = NetworkStore::open(&r.root).unwrap().find("bridge").unwrap();
    let gateway = bridge.subnets[0].gateway;
    assert!(out.lines().any(|l| l == format!("{gateway}\tgw")), "{out}");
    assert!(out.lines().any(|l| l == "10.200.9.9\tdb"), "{out}");
    // With host networking: the host's own address (its default route's).
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "host",
            "--add-host",
            "gw:host-gateway",
            IMG,
            "cat",
            "/etc/hosts",
        ],
    );
    let line = out
        .lines()
        .find(|l| l.ends_with("\tgw"))
        .unwrap_or_else(|| panic!("{out}"));
    let ip: IpAddr = line.split('\t').next().unwrap().parse().unwrap();
    assert!(ip.is_loopback() || !ip.is_unspecified(), "{line}");
}

#[test]
fn published_ports_answer_on_loopback_and_conflicts_are_refused() {
    let r = Root::new("net-publish");
    let web = r.detach(&[
        "--name",
        "web",
        "-p",
        "127.0.0.1::80",
        IMG,
        "sh",
        "-c",
        &httpd("hello-kiln"),
    ]);
    let doc = r.inspect_json(&web);
    let binding = &doc["NetworkSettings"]["Ports"]["80/tcp"][0];
    assert_eq!(binding["HostIp"], "127.0.0.1", "{doc:#}");
    let port: u16 = binding["HostPort"].as_str().unwrap().parse().unwrap();
    assert!(port > 0);
    let body = http_get(&format!("127.0.0.1:{port}")).expect("GET through the published port");
    assert!(body.contains("hello-kiln"), "{body}");
    // The same host port again: Docker's words, exit 125, nothing left.
    let spec = format!("127.0.0.1:{port}:80");
    let err = fails(
        &r,
        &[
            "run", "-d", "--name", "web2", "-p", &spec, IMG, "sleep", "600",
        ],
    );
    assert!(err.contains("port is already allocated"), "{err}");
    // -P publishes the exposed ports (here from --expose) on random ports.
    let all = r.detach(&["-P", "--expose", "80", IMG, "sh", "-c", &httpd("from-P")]);
    let doc = r.inspect_json(&all);
    let ports = &doc["NetworkSettings"]["Ports"]["80/tcp"];
    let port: u16 = ports[0]["HostPort"].as_str().unwrap().parse().unwrap();
    let body = http_get(&format!("127.0.0.1:{port}")).expect("GET through -P's port");
    assert!(body.contains("from-P"), "{body}");
    assert_eq!(doc["HostConfig"]["PublishAllPorts"], true);
    // Removing the container unpublishes: the port answers no more.
    ok(&r, &["rm", "-f", &web]);
    let gone = TcpStream::connect_timeout(
        &format!("127.0.0.1:{}", binding["HostPort"].as_str().unwrap())
            .parse()
            .unwrap(),
        Duration::from_secs(2),
    );
    assert!(gone.is_err(), "the port still answers after rm -f");
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let r = Root::new("net-user");
    user_network(&r, "front");
    user_network(&r, "back");
    r.detach(&[
        "--name",
        "db",
        "--network",
        "front",
        "--network-alias",
        "database",
        IMG,
        "sh",
        "-c",
        &httpd("from-db"),
    ]);
    let probe = "for n in db database; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $n 80 | tail -1; done";
    let end = Instant::now() + Duration::from_secs(20);
    let out = loop {
        let out = ok(
            &r,
            &["run", "--rm", "--network", "front", IMG, "sh", "-c", probe],
        );
        if out.lines().count() == 2 || Instant::now() > end {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(out, "from-db\nfrom-db\n");
    // Another network neither resolves nor reaches it.
    let db_ip = r.inspect("{{.NetworkSettings.Networks.front.IPAddress}}", "db");
    assert!(!db_ip.is_empty());
    let script = format!("nslookup db 127.0.0.11 >/dev/null 2>&1 && echo resolved; nc -w 2 {db_ip} 80 </dev/null && echo reached; echo done");
    let out = ok(
        &r,
        &["run", "--rm", "--network", "back", IMG, "sh", "-c", &script],
    );
    assert_eq!(out, "done\n");
    // A static address on a user network.
    let front = NetworkStore::open(&r.root).unwrap().find("front").unwrap();
    let base: std::net::Ipv4Addr = front.subnets[0]
        .subnet
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let wanted = std::net::Ipv4Addr::from(u32::from(base) + 200).to_string();
    let out = ok(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "front",
            "--ip",
            &wanted,
            IMG,
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
        ],
    );
    assert_eq!(eth0_address(&out).0.to_string(), wanted);
}

#[test]
fn restarts_by_policy_keep_the_address_and_stop_detaches() {
    let r = Root::new("net-restart");
    let id = r.detach(&[
        "--restart",
        "on-failure:1",
        "-p",
        "127.0.0.1::80",
        IMG,
        "sh",
        "-c",
        "ip -4 -o addr show eth0; exit 3",
    ]);
    r.wait_inspect("{{.RestartCount}}", &id, "1", BOUND);
    r.wait_inspect("{{.State.Status}}", &id, "exited", BOUND);
    let logs = ok(&r, &["logs", &id]);
    let lines: Vec<(IpAddr, u8)> = logs.lines().map(eth0_address).collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert_eq!(lines[0], lines[1], "the restart kept the address: {logs}");
    // The monitor's end detached it: no endpoint is left on the network.
    let store = NetworkStore::open(&r.root).unwrap();
    assert!(store.endpoints_of(&id).unwrap().is_empty());
}
