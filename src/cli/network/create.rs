//! `kiln network create`: Docker's flags turned into a
//! [`CreateRequest`]. `--subnet`, `--gateway` and `--ip-range` are paired
//! as Docker's CLI pairs them (`consolidateIpam`): each gateway and range
//! goes to the one `--subnet` that contains it, in the order the subnets
//! were given; a gateway or range without a subnet, two on one subnet, or
//! overlapping subnets are refused. Swarm-only flags (`--ingress`,
//! `--scope swarm|global`, `--config-from`, `--config-only`) are refused in
//! one line: kiln is single-host by design.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use kiln_runtime::network::ipam::Prefix;
use kiln_runtime::network::manage::{self, CreateRequest, SubnetRequest};

/// `kiln network create` flags (Docker 20.10's).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the network (bridge; host and none are predefined).
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment.
    #[arg(long)]
    subnet: Vec<String>,
    /// IPv4 or IPv6 gateway for the master subnet.
    #[arg(long)]
    gateway: Vec<String>,
    /// Allocate container IPs from a sub-range.
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    /// Restrict external access to the network.
    #[arg(long)]
    internal: bool,
    /// Enable IPv6 networking.
    #[arg(long)]
    ipv6: bool,
    /// Set metadata on a network (KEY[=VALUE]).
    #[arg(long)]
    label: Vec<String>,
    /// Set driver specific options (KEY=VALUE).
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    /// Enable manual container attachment (every kiln network is attachable).
    #[arg(long)]
    attachable: bool,
    /// IP Address Management driver (only `default`).
    #[arg(long = "ipam-driver", default_value = "default")]
    ipam_driver: String,
    /// Swarm routing-mesh network (refused: kiln is single-host).
    #[arg(long)]
    ingress: bool,
    /// Control the network's scope (only `local`).
    #[arg(long)]
    scope: Option<String>,
    /// The network from which to copy the configuration (refused: Swarm).
    #[arg(long = "config-from")]
    config_from: Option<String>,
    /// Create a configuration only network (refused: Swarm).
    #[arg(long = "config-only")]
    config_only: bool,
    /// The network's name.
    name: String,
}

/// Runs `kiln network create` and prints the new network's ID.
pub fn create(root: &Path, args: CreateArgs) -> Result<()> {
    let request = request(&args)?;
    manage::ensure_predefined(root)?;
    let network = manage::create(root, &request)?;
    println!("{}", network.id);
    Ok(())
}

/// The request `args` ask for, or the one-line reason they are refused.
pub fn request(args: &CreateArgs) -> Result<CreateRequest> {
    refuse_swarm(args)?;
    check_name(&args.name)?;
    if args.ipam_driver != "default" {
        bail!(
            "--ipam-driver {:?} is not supported (only default)",
            args.ipam_driver
        );
    }
    let driver = match args.driver.as_str() {
        "bridge" => "bridge".to_string(),
        "host" | "none" | "null" => {
            let name = if args.driver == "host" {
                "host"
            } else {
                "null"
            };
            bail!("only one instance of \"{name}\" network is allowed");
        }
        other => bail!("network driver {other:?} is not supported (only bridge)"),
    };
    Ok(CreateRequest {
        name: args.name.clone(),
        driver,
        subnets: consolidate(&args.subnet, &args.gateway, &args.ip_range)?,
        internal: args.internal,
        ipv6: args.ipv6,
        attachable: args.attachable,
        labels: key_values(&args.label),
        options: key_values(&args.opt),
    })
}

/// Refuses the flags that only mean something to a Swarm.
fn refuse_swarm(args: &CreateArgs) -> Result<()> {
    let flag = if args.ingress {
        Some("--ingress")
    } else if args.scope.as_deref().is_some_and(|s| s != "local") {
        Some("--scope")
    } else if args.config_from.is_some() {
        Some("--config-from")
    } else if args.config_only {
        Some("--config-only")
    } else {
        None
    };
    if let Some(flag) = flag {
        bail!("{flag} is a Swarm option: kiln runs on one host and does not support it");
    }
    Ok(())
}

/// Docker's rule for network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !first_ok || !rest_ok {
        bail!("invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    Ok(())
}

/// `KEY=VALUE` (or `KEY`, an empty value) pairs, as Docker's map options.
fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (item.clone(), String::new()),
        })
        .collect()
}

/// Pairs gateways and ranges with the subnet containing them (Docker's
/// `consolidateIpam`), keeping the subnets' order.
pub fn consolidate(
    subnets: &[String],
    gateways: &[String],
    ranges: &[String],
) -> Result<Vec<SubnetRequest>> {
    if subnets.len() < gateways.len() || subnets.len() < ranges.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut prefixes: Vec<Prefix> = Vec::new();
    let mut out: Vec<SubnetRequest> = Vec::new();
    for text in subnets {
        let prefix = Prefix::parse(text, "--subnet")?;
        if prefixes.iter().any(|p| p.overlaps(&prefix)) {
            bail!("multiple overlapping subnet configuration is not supported");
        }
        prefixes.push(prefix);
        out.push(SubnetRequest {
            subnet: text.clone(),
            ..SubnetRequest::default()
        });
    }
    assign_ranges(&prefixes, &mut out, ranges)?;
    assign_gateways(&prefixes, &mut out, gateways)?;
    Ok(out)
}

/// Gives each `--ip-range` to the subnet containing it (one per subnet).
fn assign_ranges(prefixes: &[Prefix], out: &mut [SubnetRequest], ranges: &[String]) -> Result<()> {
    for text in ranges {
        let range = Prefix::parse(text, "--ip-range")?;
        let i = owner(prefixes, range.address, "range", text)?;
        if let Some(other) = &out[i].ip_range {
            bail!(
                "cannot configure multiple ranges ({text}, {other}) on the same subnet ({})",
                out[i].subnet
            );
        }
        out[i].ip_range = Some(text.clone());
    }
    Ok(())
}

/// Gives each `--gateway` to the subnet containing it (one per subnet).
fn assign_gateways(
    prefixes: &[Prefix],
    out: &mut [SubnetRequest],
    gateways: &[String],
) -> Result<()> {
    for text in gateways {
        let Ok(gateway) = text.parse::<IpAddr>() else {
            bail!("invalid --gateway {text:?}: not an IP address");
        };
        let i = owner(prefixes, gateway, "gateway", text)?;
        if let Some(other) = out[i].gateway {
            bail!(
                "cannot configure multiple gateways ({text}, {other}) for the same subnet ({})",
                out[i].subnet
            );
        }
        out[i].gateway = Some(gateway);
    }
    Ok(())
}

/// The index of the subnet containing `address`.
fn owner(prefixes: &[Prefix], address: IpAddr, what: &str, text: &str) -> Result<usize> {
    match prefixes.iter().position(|p| p.contains(address)) {
        Some(i) => Ok(i),
        None => bail!("no matching subnet for {what} {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gateways_and_ranges_go_to_the_subnet_containing_them() {
        let out = consolidate(
            &strings(&["10.200.1.0/24", "10.200.2.0/24"]),
            &strings(&["10.200.2.254", "10.200.1.1"]),
            &strings(&["10.200.2.128/25"]),
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].subnet, "10.200.1.0/24");
        assert_eq!(out[0].gateway, Some("10.200.1.1".parse().unwrap()));
        assert_eq!(out[0].ip_range, None);
        assert_eq!(out[1].gateway, Some("10.200.2.254".parse().unwrap()));
        assert_eq!(out[1].ip_range.as_deref(), Some("10.200.2.128/25"));
    }

    #[test]
    fn unpaired_doubled_and_overlapping_are_refused_as_docker() {
        let err = |s: &[&str], g: &[&str], r: &[&str]| {
            consolidate(&strings(s), &strings(g), &strings(r))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[], &["10.0.0.1"], &[]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.200.3.0/24"], &["10.200.4.1"], &[]),
            "no matching subnet for gateway 10.200.4.1"
        );
        assert_eq!(
            err(&["10.200.3.0/24", "10.200.3.0/25"], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["10.200.3.0/24", "10.200.5.0/24"], &["10.200.3.1", "10.200.3.2"], &[]),
            "cannot configure multiple gateways (10.200.3.2, 10.200.3.1) for the same subnet (10.200.3.0/24)"
        );
        assert!(err(&["nonsense"], &[], &[]).contains("--subnet"));
    }

    #[test]
    fn names_follow_dockers_rule() {
        assert!(check_name("front_end.v2-x").is_ok());
        assert!(check_name("-x").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a/../b").is_err());
    }

    #[test]
    fn labels_and_options_are_maps() {
        let map = key_values(&strings(&["a=1", "b", "c=x=y"]));
        assert_eq!(map["a"], "1");
        assert_eq!(map["b"], "");
        assert_eq!(map["c"], "x=y");
    }
}
