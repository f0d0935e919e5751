use super::*;
use crate::spec::NetworkMode;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn hosts_has_docker_layout() {
    let text = hosts(
        "web",
        None,
        &[ip("172.18.0.2"), ip("fd00::2")],
        &[
            ("db.local".into(), ip("10.0.0.5")),
            ("host.docker.internal".into(), ip("172.18.0.1")),
        ],
    );
    assert_eq!(
        text,
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n\
         10.0.0.5\tdb.local\n\
         172.18.0.1\thost.docker.internal\n\
         172.18.0.2\tweb\n\
         fd00::2\tweb\n"
    );
}

#[test]
fn hosts_names_the_fqdn_then_the_short_name_with_a_domain() {
    let with_domain = hosts("web", Some("example.com"), &[ip("172.18.0.2")], &[]);
    assert!(with_domain.ends_with("ff02::2\tip6-allrouters\n172.18.0.2\tweb.example.com web\n"));
    let dotted = hosts("web.corp", None, &[ip("172.18.0.2")], &[]);
    assert!(dotted.ends_with("\n172.18.0.2\tweb.corp web\n"));
    let empty_domain = hosts("web", Some(""), &[ip("172.18.0.2")], &[]);
    assert!(empty_domain.ends_with("\n172.18.0.2\tweb\n"));
    assert_eq!(hosts("", None, &[ip("172.18.0.2")], &[]), LOCALHOST_LINES);
}

#[test]
fn hosts_starts_as_the_private_hosts_of_spec_etc_files() {
    let dir = tempfile::tempdir().unwrap();
    crate::spec::etc_files(dir.path(), "box", &NetworkMode::None).unwrap();
    let private = std::fs::read_to_string(dir.path().join("hosts")).unwrap();
    assert!(private.starts_with(LOCALHOST_LINES), "{private}");
    assert!(hosts("box", None, &[], &[]).starts_with(LOCALHOST_LINES));
}

const HOST: &str = "# from the host\n\
    search corp.example lab.example\n\
    nameserver 127.0.0.53\n\
    nameserver 10.0.0.2\n\
    nameserver ::1\n\
    options edns0 ndots:2\n";

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn embedded_points_at_127_0_0_11_with_host_search_and_options() {
    let text = resolv_conf(HOST, Resolver::Embedded, &[], &[], &[]);
    assert_eq!(
        text,
        "search corp.example lab.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"
    );
    let bare = resolv_conf("nameserver 10.0.0.2\n", Resolver::Embedded, &[], &[], &[]);
    assert_eq!(bare, "nameserver 127.0.0.11\noptions ndots:0\n");
}

#[test]
fn embedded_takes_dns_search_and_options_flags() {
    let search = strings(&["svc.local"]);
    let options = strings(&["ndots:3", "timeout:1"]);
    let text = resolv_conf(
        HOST,
        Resolver::Embedded,
        &[ip("10.9.9.9")],
        &search,
        &options,
    );
    assert_eq!(
        text,
        "search svc.local\nnameserver 127.0.0.11\noptions ndots:3 timeout:1\n"
    );
    let dot = resolv_conf(
        HOST,
        Resolver::Embedded,
        &[],
        &strings(&["."]),
        &strings(&["rotate"]),
    );
    assert_eq!(dot, "nameserver 127.0.0.11\noptions rotate ndots:0\n");
}

#[test]
fn host_resolver_copies_the_host_file_without_loopback_servers() {
    let text = resolv_conf(HOST, Resolver::Host, &[], &[], &[]);
    assert_eq!(
        text,
        "# from the host\nsearch corp.example lab.example\nnameserver 10.0.0.2\noptions edns0 ndots:2\n"
    );
}

#[test]
fn host_resolver_rebuilds_from_flags() {
    let text = resolv_conf(
        HOST,
        Resolver::Host,
        &[ip("10.9.9.9"), ip("fd00::53")],
        &[],
        &[],
    );
    assert_eq!(
        text,
        "search corp.example lab.example\nnameserver 10.9.9.9\nnameserver fd00::53\noptions edns0 ndots:2\n"
    );
    let text = resolv_conf(HOST, Resolver::Host, &[], &strings(&["x.example"]), &[]);
    assert_eq!(
        text,
        "search x.example\nnameserver 10.0.0.2\noptions edns0 ndots:2\n"
    );
}

#[test]
fn host_resolver_never_invents_public_servers() {
    let only_loopback = "nameserver 127.0.0.53\noptions edns0\n";
    let text = resolv_conf(only_loopback, Resolver::Host, &[], &[], &[]);
    assert_eq!(text, "options edns0\n");
    assert!(!resolv_conf("", Resolver::Host, &[], &[], &[]).contains("8.8.8.8"));
}
