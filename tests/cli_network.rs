//! End-to-end tests of `kiln network create|ls|inspect|rm|prune|connect|
//! disconnect`, `kiln port` and `ps`'s PORTS/NETWORKS, driving the binary
//! against a temp root on the real kernel: the bridges and nft tables they
//! make are checked by name (the root's tag), and every test removes its
//! root's networking state when it ends (containers first, then
//! `network::manage::reset`), even when it fails.
//!
//! Subnets given explicitly are in 10.200.160.0/20 (this file's share of
//! the test range); the others are chosen by kiln's IPAM.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kiln_runtime::network::names::RootTag;
use serde_json::Value;
use support::{kiln, kiln_stdin, load_busybox_local, ok, Scratch};

/// A scratch root whose containers and networking state are removed on drop.
struct NetRoot {
    root: PathBuf,
    _scratch: Scratch,
}

impl NetRoot {
    fn new(name: &str) -> NetRoot {
        let scratch = Scratch::new(&format!("net-{name}"));
        let root = scratch.0.join("root");
        NetRoot {
            root,
            _scratch: scratch,
        }
    }

    fn kiln(&self, args: &[&str]) -> Output {
        kiln(&self.root, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(self.kiln(args))
    }

    /// This root's tag (bridges `kb<tag>*`, table `inet kiln_<tag>`).
    fn tag(&self) -> RootTag {
        RootTag::of(&self.root)
    }
}

impl Drop for NetRoot {
    fn drop(&mut self) {
        if let Ok(ids) = String::from_utf8(self.kiln(&["ps", "-aq"]).stdout) {
            for id in ids.split_whitespace() {
                let _ = self.kiln(&["rm", "-f", id]);
            }
        }
        let _ = kiln_runtime::network::manage::reset(&self.root);
    }
}

/// The standard error of a run that failed with exit code 1.
fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Names of the host's links starting with `prefix`.
fn links(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// `nft list table inet <table>` (empty when there is no such table).
fn nft_table(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The network's record as `network inspect` shows it.
fn inspect(net: &NetRoot, name: &str) -> Value {
    let text = net.ok(&["network", "inspect", name]);
    let docs: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 1, "{text}");
    docs[0].clone()
}

/// The Linux bridge of a network (from its record under the root).
fn bridge_of(root: &Path, id: &str) -> String {
    let text = std::fs::read_to_string(root.join(format!("networks/{id}.json"))).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    record["bridge"].as_str().unwrap().to_string()
}

#[test]
fn create_ls_inspect_rm_with_formats_filters_and_kernel_objects() {
    let net = NetRoot::new("create");
    let id = net.ok(&[
        "network",
        "create",
        "--subnet",
        "10.200.161.0/24",
        "--gateway",
        "10.200.161.254",
        "--ip-range",
        "10.200.161.128/25",
        "--label",
        "team=web",
        "--attachable",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "front",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let table = net.ok(&["network", "ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    );
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["bridge", "front", "host", "none"]);
    let front: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(front, [&id[..12], "front", "bridge", "local"]);

    assert_eq!(
        net.ok(&["network", "ls", "-q", "--no-trunc", "--filter", "name=fro"]),
        format!("{id}\n")
    );
    let custom = net.ok(&[
        "network",
        "ls",
        "--filter",
        "type=custom",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Internal}}",
    ]);
    assert_eq!(custom, "front bridge local team=web false\n");
    let builtin = net.ok(&[
        "network",
        "ls",
        "--filter",
        "type=builtin",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(builtin, "bridge\nhost\nnone\n");
    let labelled = net.ok(&[
        "network",
        "ls",
        "-f",
        "label=team=web",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(labelled, "front\n");
    let dangling = net.ok(&[
        "network",
        "ls",
        "-f",
        "dangling=true",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(dangling, "front\n");
    let null = net.ok(&[
        "network",
        "ls",
        "-f",
        "driver=null",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(null, "none\n");

    let doc = inspect(&net, "front");
    assert_eq!(doc["Name"], "front");
    assert_eq!(doc["Id"], id.as_str());
    assert_eq!(doc["Scope"], "local");
    assert_eq!(doc["Driver"], "bridge");
    assert_eq!(doc["EnableIPv6"], false);
    assert_eq!(doc["Internal"], false);
    assert_eq!(doc["Attachable"], true);
    assert_eq!(doc["Ingress"], false);
    assert_eq!(doc["ConfigOnly"], false);
    assert_eq!(doc["ConfigFrom"]["Network"], "");
    assert_eq!(doc["IPAM"]["Driver"], "default");
    assert_eq!(
        doc["IPAM"]["Config"],
        serde_json::json!([{
            "Subnet": "10.200.161.0/24",
            "Gateway": "10.200.161.254",
            "IPRange": "10.200.161.128/25"
        }])
    );
    assert_eq!(doc["Containers"], serde_json::json!({}));
    assert_eq!(doc["Labels"]["team"], "web");
    assert_eq!(doc["Options"]["com.docker.network.driver.mtu"], "1400");
    let formatted = net.ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Name}} {{.IPAM.Driver}}",
        &id[..8],
    ]);
    assert_eq!(formatted, "front default\n");

    // The kernel objects: a bridge with the root's prefix, in the root's table.
    let tag = net.tag();
    let bridge = bridge_of(&net.root, &id);
    assert!(bridge.starts_with(&tag.bridge_prefix()), "{bridge}");
    assert!(links(&tag.bridge_prefix()).contains(&bridge));
    assert!(nft_table(&tag.table()).contains(&format!("\"{bridge}\"")));

    assert_eq!(net.ok(&["network", "rm", "front"]), "front\n");
    assert!(!links(&tag.bridge_prefix()).contains(&bridge));
    assert!(!nft_table(&tag.table()).contains(&format!("\"{bridge}\"")));
    let after = net.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(after, "bridge\nhost\nnone\n");
}

#[test]
fn errors_name_the_network_and_exit_1() {
    let net = NetRoot::new("errors");
    net.ok(&["network", "create", "dup"]);
    let err = failed(net.kiln(&["network", "create", "dup"]));
    assert_eq!(err, "kiln: network with name dup already exists\n");

    let err = failed(net.kiln(&["network", "inspect", "nosuch"]));
    assert_eq!(err, "kiln: Error: No such network: nosuch\n");

    // Several at once: each failure on its own line, the rest still removed.
    let out = net.kiln(&["network", "rm", "nosuch", "bridge", "dup", "host"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dup\n");
    let err = failed(out);
    assert_eq!(
        err,
        "kiln: Error: No such network: nosuch\n\
         kiln: bridge is a pre-defined network and cannot be removed\n\
         kiln: host is a pre-defined network and cannot be removed\n"
    );
    assert_eq!(net.ok(&["network", "rm", "-f", "nosuch"]), "");

    let one_line = |args: &[&str]| {
        let err = failed(net.kiln(args));
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    assert!(one_line(&["network", "create", "--ingress", "x"]).contains("--ingress"));
    assert!(one_line(&["network", "create", "--scope", "swarm", "x"]).contains("--scope"));
    assert!(one_line(&["network", "create", "--config-only", "x"]).contains("--config-only"));
    assert!(
        one_line(&["network", "create", "--subnet", "10.200.162.0/33", "x"]).contains("--subnet")
    );
    assert_eq!(
        one_line(&[
            "network",
            "create",
            "--subnet",
            "10.200.162.0/24",
            "--gateway",
            "10.200.163.1",
            "x"
        ]),
        "kiln: no matching subnet for gateway 10.200.163.1\n"
    );
    assert_eq!(
        one_line(&["network", "create", "--gateway", "10.200.163.1", "x"]),
        "kiln: every ip-range or gateway must have a corresponding subnet\n"
    );
    assert_eq!(
        one_line(&["network", "create", "-d", "host", "x"]),
        "kiln: only one instance of \"host\" network is allowed\n"
    );
    assert!(one_line(&["network", "create", "../x"]).contains("invalid network name"));
    assert_eq!(
        one_line(&["network", "ls", "--filter", "colour=red"]),
        "kiln: Invalid filter 'colour'\n"
    );
    let names = net.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(names, "bridge\nhost\nnone\n");
}

#[test]
fn prune_asks_then_removes_unused_networks_by_filter() {
    let net = NetRoot::new("prune");
    net.ok(&["network", "create", "--label", "keep=yes", "kept"]);
    net.ok(&["network", "create", "gone1"]);
    net.ok(&["network", "create", "gone2"]);

    let declined = ok(kiln_stdin(&net.root, &["network", "prune"], "n\n"));
    assert!(declined.starts_with(
        "WARNING! This will remove all custom networks not used by at least one container.\n\
         Are you sure you want to continue? [y/N] "
    ));
    assert!(!declined.contains("Deleted"));
    let confirmed = ok(kiln_stdin(
        &net.root,
        &["network", "prune", "--filter", "label!=keep"],
        "y\n",
    ));
    assert!(
        confirmed.ends_with("Deleted Networks:\ngone1\ngone2\n\n"),
        "{confirmed}"
    );
    assert_eq!(
        net.ok(&["network", "prune", "-f", "--filter", "until=24h"]),
        ""
    );
    assert_eq!(
        net.ok(&["network", "prune", "-f"]),
        "Deleted Networks:\nkept\n\n"
    );
    let names = net.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(names, "bridge\nhost\nnone\n");
    let tag = net.tag();
    let bridges = links(&tag.bridge_prefix());
    assert_eq!(
        bridges.len(),
        1,
        "only the default bridge stays: {bridges:?}"
    );
}

#[test]
fn networks_in_use_connect_disconnect_and_ps() {
    let net = NetRoot::new("connect");
    load_busybox_local(&net.root);
    net.ok(&["network", "create", "back"]);
    net.ok(&["network", "create", "side"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "back",
        "busybox:local",
        "sleep",
        "300",
    ]);
    let err = failed(net.kiln(&["network", "rm", "back"]));
    assert!(
        err.starts_with("kiln: error while removing network: network back id ")
            && err.ends_with(" has active endpoints\n"),
        "{err}"
    );
    let containers = inspect(&net, "back")["Containers"].clone();
    let (cid, entry) = containers.as_object().unwrap().iter().next().unwrap();
    assert_eq!(cid.len(), 64);
    assert_eq!(entry["Name"], "app");
    assert!(entry["IPv4Address"].as_str().unwrap().contains('/'));
    assert_eq!(entry["EndpointID"].as_str().unwrap().len(), 64);

    net.ok(&["network", "connect", "--alias", "api", "side", "app"]);
    let err = failed(net.kiln(&["network", "connect", "side", "app"]));
    assert_eq!(
        err,
        "kiln: endpoint with name app already exists in network side\n"
    );
    let side = inspect(&net, "side")["Containers"][cid.as_str()].clone();
    let address = side["IPv4Address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let addrs = net.ok(&["exec", "app", "ip", "-o", "-4", "addr", "show", "eth1"]);
    assert!(addrs.contains(&address), "{addrs}");
    let networks = net.ok(&["ps", "--format", "{{.Names}} {{.Networks}}"]);
    assert_eq!(networks, "app back,side\n");
    let side_id = inspect(&net, "side")["Id"].as_str().unwrap().to_string();
    let record = net
        .root
        .join(format!("networks/{side_id}/endpoints/{cid}.json"));
    let endpoint: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(endpoint["interface"], "eth1");
    assert_eq!(endpoint["aliases"], serde_json::json!(["api"]));

    net.ok(&["network", "disconnect", "side", "app"]);
    let err = failed(net.kiln(&["network", "disconnect", "side", "app"]));
    assert_eq!(
        err,
        "kiln: container app is not connected to network side\n"
    );
    let gone = net.kiln(&["exec", "app", "ip", "link", "show", "eth1"]);
    assert!(!gone.status.success(), "eth1 is still there");
    assert_eq!(inspect(&net, "side")["Containers"], serde_json::json!({}));
    let err = failed(net.kiln(&["network", "connect", "nosuch", "app"]));
    assert_eq!(err, "kiln: network nosuch not found\n");

    net.ok(&["rm", "-f", "app"]);
    assert_eq!(net.ok(&["network", "rm", "back", "side"]), "back\nside\n");
    // The kernel frees a dead namespace's veth asynchronously (~30 ms):
    // wait for it, bounded.
    let prefix = net.tag().veth_prefix();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !links(&prefix).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(links(&prefix), Vec::<String>::new());
}

#[test]
fn port_and_ps_show_published_ports_as_docker() {
    let net = NetRoot::new("port");
    load_busybox_local(&net.root);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "80",
        "-p",
        "127.0.0.1::81/udp",
        "busybox:local",
        "sleep",
        "300",
    ]);
    let all = net.ok(&["port", "web"]);
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 2, "{all}");
    // The default bridge has no IPv6: published on 0.0.0.0 only.
    let host_port = lines[0]
        .strip_prefix("80/tcp -> 0.0.0.0:")
        .unwrap_or_else(|| panic!("{all}"))
        .to_string();
    assert!(host_port.parse::<u16>().unwrap() > 0);
    let udp_port = lines[1]
        .strip_prefix("81/udp -> 127.0.0.1:")
        .unwrap_or_else(|| panic!("{all}"))
        .to_string();

    assert_eq!(
        net.ok(&["port", "web", "80"]),
        format!("0.0.0.0:{host_port}\n")
    );
    assert_eq!(
        net.ok(&["port", "web", "81/udp"]),
        format!("127.0.0.1:{udp_port}\n")
    );
    let err = failed(net.kiln(&["port", "web", "82"]));
    assert_eq!(
        err,
        "kiln: Error: No public port '82/tcp' published for web\n"
    );
    let err = failed(net.kiln(&["port", "nosuch"]));
    assert!(err.contains("No such container: nosuch"), "{err}");

    let ports = net.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(
        ports,
        format!("0.0.0.0:{host_port}->80/tcp, 127.0.0.1:{udp_port}->81/udp\n")
    );
    let table = net.ok(&["ps"]);
    assert!(table.lines().next().unwrap().contains("PORTS"));
    assert!(
        table.contains(&format!("0.0.0.0:{host_port}->80/tcp")),
        "{table}"
    );

    // On an IPv6 network a port published on every address is on `::` too
    // (when the host has IPv6), listed as Docker lists a port bound on both.
    net.ok(&["network", "create", "--ipv6", "six"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "web6",
        "--network",
        "six",
        "-p",
        "80",
        "busybox:local",
        "sleep",
        "300",
    ]);
    let six = net.ok(&["port", "web6"]);
    let port6 = six
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("80/tcp -> 0.0.0.0:"))
        .unwrap_or_else(|| panic!("{six}"))
        .to_string();
    let ipv6 = std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6").unwrap();
    if ipv6.trim() == "0" {
        assert_eq!(
            six,
            format!("80/tcp -> 0.0.0.0:{port6}\n80/tcp -> [::]:{port6}\n")
        );
        let ports = net.ok(&["ps", "--filter", "name=web6", "--format", "{{.Ports}}"]);
        assert_eq!(
            ports,
            format!("0.0.0.0:{port6}->80/tcp, :::{port6}->80/tcp\n")
        );
    } else {
        assert_eq!(six, format!("80/tcp -> 0.0.0.0:{port6}\n"));
    }
    net.ok(&["rm", "-f", "web6"]);

    net.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(net.ok(&["port", "web"]), "");
    assert_eq!(net.ok(&["ps", "-a", "--format", "[{{.Ports}}]"]), "[]\n");
}
