//! Forgetting the UDP conntrack entries of unpublished ports. A UDP "flow"
//! to a published port keeps its DNAT for as long as packets keep coming
//! (conntrack's UDP timeout restarts with each one), so a client that keeps
//! sending would keep reaching the removed container's address instead of
//! the port's next owner (moby#8795). TCP needs nothing: a new connection
//! is a new flow.
//!
//! Done with the `conntrack` program (Debian's `conntrack` package) when it
//! is installed: `conntrack -D -p udp --orig-port-dst <port>` (plus
//! `--orig-dst <ip>` for ports bound to one address, `-f ipv6` for IPv6).
//! When it is missing this is skipped silently: the stale flows then end
//! with conntrack's UDP timeout (30 s without traffic, 120 s for streams).
//! Best effort: its failures (including "0 flow entries") are ignored.

use std::net::IpAddr;
use std::process::{Command, Stdio};

use kiln_parser::values::Protocol;

use super::PortRule;

/// The `conntrack` arguments that delete the UDP flows of `port`; `None`
/// for other protocols.
pub fn delete_args(port: &PortRule) -> Option<Vec<String>> {
    if port.protocol != Protocol::Udp {
        return None;
    }
    let mut args = vec!["-D".to_string()];
    if port.container_ip.is_ipv6() {
        args.extend(["-f".to_string(), "ipv6".to_string()]);
    }
    args.extend(["-p", "udp", "--orig-port-dst"].map(str::to_string));
    args.push(port.host_port.to_string());
    if let Some(ip) = port.host_ip {
        args.push("--orig-dst".to_string());
        args.push(ip.to_string());
    }
    args.extend(["--reply-src".to_string(), reply_src(port.container_ip)]);
    Some(args)
}

/// The DNATed flow's reply comes from the container's address.
fn reply_src(ip: IpAddr) -> String {
    ip.to_string()
}

/// Deletes the UDP flows of `ports` with the `conntrack` program, if any.
pub fn forget_udp(ports: &[PortRule]) {
    for args in ports.iter().filter_map(delete_args) {
        let ran = Command::new("conntrack")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if ran.is_err() {
            return; // not installed: skip the rest too
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host_ip: Option<&str>, protocol: Protocol, ip: &str) -> PortRule {
        PortRule {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: 8053,
            protocol,
            container_ip: ip.parse().unwrap(),
            container_port: 53,
        }
    }

    #[test]
    fn only_udp_flows_are_deleted_matching_port_and_container() {
        assert_eq!(delete_args(&rule(None, Protocol::Tcp, "10.0.0.2")), None);
        let all = delete_args(&rule(None, Protocol::Udp, "10.0.0.2")).unwrap();
        assert_eq!(
            all.join(" "),
            "-D -p udp --orig-port-dst 8053 --reply-src 10.0.0.2"
        );
        let one = delete_args(&rule(Some("127.0.0.1"), Protocol::Udp, "10.0.0.2")).unwrap();
        assert_eq!(
            one.join(" "),
            "-D -p udp --orig-port-dst 8053 --orig-dst 127.0.0.1 --reply-src 10.0.0.2"
        );
        let six = delete_args(&rule(None, Protocol::Udp, "fd00::2")).unwrap();
        assert_eq!(
            six.join(" "),
            "-D -f ipv6 -p udp --orig-port-dst 8053 --reply-src fd00::2"
        );
    }
}
