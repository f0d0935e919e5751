//! `/etc/hosts`, `/etc/resolv.conf` and the hostname as Docker writes them:
//! `--add-host` (with `host-gateway`), `--dns`, `--dns-search`,
//! `--dns-option`, `--hostname`. The `--dns` server is only written, never
//! queried (it is not on this machine).

use crate::fixture::IMG;
use crate::world::World;

/// The lines of `text`, each as its whitespace-separated words (Docker
/// separates with a tab; the words are what resolvers read).
fn words(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .filter(|w: &Vec<String>| !w.is_empty())
        .collect()
}

fn has_line(text: &str, want: &[&str]) -> bool {
    words(text).iter().any(|l| l == want)
}

const SHOW: &str = "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname";

#[test]
fn hosts_resolv_conf_and_hostname_on_the_default_bridge() {
    let w = World::new("etc-bridge");
    let (_, gateway) = w.subnet_gateway("bridge");
    let out = w.ok(&[
        "run",
        "--rm",
        "--name",
        "etc",
        "--hostname",
        "h1",
        "--add-host",
        "a:1.2.3.4",
        "--add-host",
        "gw:host-gateway",
        "--dns",
        "10.9.9.9",
        "--dns-search",
        "example.test",
        "--dns-option",
        "ndots:2",
        IMG,
        "sh",
        "-c",
        SHOW,
    ]);
    let parts: Vec<&str> = out.split("---\n").collect();
    let (hosts, resolv, hostname) = (parts[0], parts[1], parts[2]);
    assert_eq!(hostname, "h1\n");

    // Docker's layout: localhost lines first, the IPv6 names, then the
    // container's address and --add-host entries.
    let lines = words(hosts);
    assert_eq!(lines[0], ["127.0.0.1", "localhost"], "{hosts}");
    for want in [
        &["::1", "localhost", "ip6-localhost", "ip6-loopback"][..],
        &["fe00::0", "ip6-localnet"],
        &["ff00::0", "ip6-mcastprefix"],
        &["ff02::1", "ip6-allnodes"],
        &["ff02::2", "ip6-allrouters"],
        &["1.2.3.4", "a"],
    ] {
        assert!(has_line(hosts, want), "{hosts} lacks {want:?}");
    }
    let gw = gateway.to_string();
    assert!(has_line(hosts, &[&gw, "gw"]), "{hosts} lacks {gw} gw");
    assert!(
        lines
            .iter()
            .any(|l| l.len() == 2 && l[1] == "h1" && l[0].parse::<std::net::Ipv4Addr>().is_ok()),
        "{hosts} lacks <ip> h1"
    );

    // --dns replaces the host's servers; search and options as given.
    assert!(has_line(resolv, &["nameserver", "10.9.9.9"]), "{resolv}");
    assert_eq!(
        words(resolv)
            .iter()
            .filter(|l| l[0] == "nameserver")
            .count(),
        1,
        "{resolv}"
    );
    assert!(has_line(resolv, &["search", "example.test"]), "{resolv}");
    assert!(has_line(resolv, &["options", "ndots:2"]), "{resolv}");
    w.finish();
}

#[test]
fn user_network_keeps_the_embedded_dns_in_resolv_conf_with_dns_flags() {
    let w = World::new("etc-user");
    w.network("apps", &[]);
    let (_, gateway) = w.subnet_gateway("apps");
    let (_, bridge_gateway) = w.subnet_gateway("bridge");
    let out = w.ok(&[
        "run",
        "--rm",
        "--network",
        "apps",
        "--hostname",
        "h2",
        "--add-host",
        "gw:host-gateway",
        "--dns",
        "10.9.9.9",
        IMG,
        "sh",
        "-c",
        SHOW,
    ]);
    let parts: Vec<&str> = out.split("---\n").collect();
    let (hosts, resolv) = (parts[0], parts[1]);
    // As Docker: the embedded server stays the container's only
    // nameserver; --dns is where it forwards other names to.
    assert!(has_line(resolv, &["nameserver", "127.0.0.11"]), "{resolv}");
    assert!(!has_line(resolv, &["nameserver", "10.9.9.9"]), "{resolv}");
    assert!(has_line(resolv, &["options", "ndots:0"]), "{resolv}");
    // Docker writes the default bridge's gateway for `host-gateway`; the
    // design notes chose the first network's gateway. Both are this host's
    // own addresses, reachable from the container: either is right.
    let (gw, bgw) = (gateway.to_string(), bridge_gateway.to_string());
    assert!(
        has_line(hosts, &[&gw, "gw"]) || has_line(hosts, &[&bgw, "gw"]),
        "{hosts} lacks {gw} gw or {bgw} gw"
    );
    assert!(
        words(hosts).iter().any(|l| l.len() == 2 && l[1] == "h2"),
        "{hosts}"
    );
    w.finish();
}
