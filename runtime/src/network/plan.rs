//! The pure half of `network create` and of the predefined networks: checks
//! a [`CreateRequest`] against the root's other networks and the host's
//! routes, and decides the record (subnets, gateways, bridge name, MTU)
//! before anything touches the kernel. Unit-tested without root.
//!
//! Docker's behaviour kept here: names match `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`;
//! a taken name is refused; `--driver host`/`null` are refused for user
//! networks ("only one instance"); an unknown driver (`none` included, as
//! Docker has no driver of that name) is "plugin not found"; a `--subnet`
//! overlapping another network is "Pool overlaps with other one on this
//! address space"; a `--gateway` must lie inside its subnet; subnets chosen
//! from the default pools skip any prefix the host routes. An IPv6
//! `--subnet` turns IPv6 on (kiln records what it was given rather than
//! silently dropping it).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::ipam::{self, Prefix};
use super::manage::{CreateRequest, SubnetRequest};
use super::names::{valid_link_name, RootTag};
use super::record::{NetworkRecord, Subnet};
use super::NetworkError;

/// The predefined networks' names (Docker's).
pub const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// `-o` key of a user-chosen bridge name (Docker's).
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
/// `-o` key of the MTU (Docker's).
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";

/// What a plan is made against.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    /// The root's networks now.
    pub existing: &'a [NetworkRecord],
    /// Prefixes the host routes (default pools overlapping them are skipped).
    pub routed: &'a [Prefix],
    /// The root's tag (bridge names).
    pub tag: &'a RootTag,
    /// MTU when `-o com.docker.network.driver.mtu` is not given.
    pub default_mtu: u32,
    /// The new network's ID (64 hex digits).
    pub id: String,
    /// Its creation time (RFC 3339).
    pub created: String,
}

/// Whether `name` is a valid network name (Docker's pattern).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The record of a user-defined network `request` would create.
pub fn plan_network(
    request: &CreateRequest,
    ctx: &PlanContext<'_>,
) -> Result<NetworkRecord, NetworkError> {
    if !valid_name(&request.name) {
        return Err(NetworkError::InvalidName(request.name.clone()));
    }
    if PREDEFINED.contains(&request.name.as_str())
        || ctx.existing.iter().any(|n| n.name == request.name)
    {
        return Err(NetworkError::NameTaken(request.name.clone()));
    }
    match request.driver.as_str() {
        "" | "bridge" => {}
        "host" | "null" => return Err(NetworkError::OnlyOneInstance(request.driver.clone())),
        other => return Err(NetworkError::UnknownDriver(other.to_string())),
    }
    let mtu = mtu_option(&request.options)?.unwrap_or(ctx.default_mtu);
    let bridge = bridge_name(&request.options, ctx)?;
    let (subnets, ipv6) = plan_subnets(&request.subnets, request.ipv6, ctx)?;
    Ok(NetworkRecord {
        id: ctx.id.clone(),
        name: request.name.clone(),
        driver: "bridge".into(),
        created: ctx.created.clone(),
        bridge,
        subnets,
        internal: request.internal,
        ipv6,
        attachable: request.attachable,
        dns: true,
        mtu,
        labels: request.labels.clone(),
        options: request.options.clone(),
    })
}

/// The record of the default `bridge` network: bridge `kb<tag>0`, the first
/// free default pool, no name resolution (as Docker's `bridge`), and the
/// options Docker shows on it.
pub fn plan_default_bridge(ctx: &PlanContext<'_>) -> Result<NetworkRecord, NetworkError> {
    let (subnets, _) = plan_subnets(&[], false, ctx)?;
    let bridge = ctx.tag.bridge_name(0);
    let options: BTreeMap<String, String> = [
        ("com.docker.network.bridge.default_bridge", "true"),
        ("com.docker.network.bridge.enable_icc", "true"),
        ("com.docker.network.bridge.enable_ip_masquerade", "true"),
        ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
        (OPT_BRIDGE_NAME, bridge.as_str()),
        (OPT_MTU, &ctx.default_mtu.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(NetworkRecord {
        name: "bridge".into(),
        driver: "bridge".into(),
        bridge,
        subnets,
        dns: false,
        mtu: ctx.default_mtu,
        options,
        ..plain_record("", "", ctx)
    })
}

/// The record of the predefined `host` (driver `host`) or `none` (driver
/// `null`) network: no bridge, no addresses.
pub fn plan_plain(name: &str, driver: &str, ctx: &PlanContext<'_>) -> NetworkRecord {
    plain_record(name, driver, ctx)
}

fn plain_record(name: &str, driver: &str, ctx: &PlanContext<'_>) -> NetworkRecord {
    NetworkRecord {
        id: ctx.id.clone(),
        name: name.to_string(),
        driver: driver.to_string(),
        created: ctx.created.clone(),
        bridge: String::new(),
        subnets: Vec::new(),
        internal: false,
        ipv6: false,
        attachable: false,
        dns: false,
        mtu: 0,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
    }
}

/// `-o com.docker.network.driver.mtu`, when given.
fn mtu_option(options: &BTreeMap<String, String>) -> Result<Option<u32>, NetworkError> {
    let Some(text) = options.get(OPT_MTU) else {
        return Ok(None);
    };
    match text.parse::<u32>() {
        Ok(mtu) if (68..=65535).contains(&mtu) => Ok(Some(mtu)),
        _ => Err(NetworkError::InvalidOption {
            flag: "-o com.docker.network.driver.mtu",
            value: text.clone(),
            reason: "the MTU must be a number from 68 to 65535".into(),
        }),
    }
}

/// The user's `-o com.docker.network.bridge.name`, or `kb<tag><n>` with the
/// smallest `n >= 1` no other network uses.
fn bridge_name(
    options: &BTreeMap<String, String>,
    ctx: &PlanContext<'_>,
) -> Result<String, NetworkError> {
    let used = |name: &str| ctx.existing.iter().any(|n| n.bridge == name);
    if let Some(name) = options.get(OPT_BRIDGE_NAME) {
        let reason = if !valid_link_name(name) {
            "not a valid link name (1 to 15 bytes, no '/', ':' or spaces)"
        } else if used(name) {
            "another network uses this bridge"
        } else {
            return Ok(name.clone());
        };
        return Err(NetworkError::InvalidOption {
            flag: "-o com.docker.network.bridge.name",
            value: name.clone(),
            reason: reason.into(),
        });
    }
    let n = (1..).find(|n| !used(&ctx.tag.bridge_name(*n))).unwrap_or(1);
    Ok(ctx.tag.bridge_name(n))
}

/// The subnets of a new network: the requested ones, checked, plus one
/// from the default pools for each family that needs one and has none;
/// and whether IPv6 is on.
fn plan_subnets(
    requests: &[SubnetRequest],
    ipv6: bool,
    ctx: &PlanContext<'_>,
) -> Result<(Vec<Subnet>, bool), NetworkError> {
    let others: Vec<Prefix> = ctx
        .existing
        .iter()
        .flat_map(|n| n.subnets.iter())
        .filter_map(|s| Prefix::parse(&s.subnet, "--subnet").ok())
        .collect();
    let mut chosen: Vec<(Prefix, Subnet)> = Vec::new();
    for request in requests {
        let (prefix, subnet) = check_subnet(request)?;
        let clash = ctx
            .existing
            .iter()
            .find(|n| n.subnets.iter().any(|s| overlaps_text(&s.subnet, &prefix)))
            .map(|n| n.name.clone())
            .or_else(|| {
                (chosen.iter().any(|(p, _)| p.overlaps(&prefix))).then(|| request.subnet.clone())
            });
        if let Some(network) = clash {
            return Err(NetworkError::PoolOverlap {
                subnet: request.subnet.clone(),
                network,
            });
        }
        chosen.push((prefix, subnet));
    }
    let ipv6 = ipv6 || chosen.iter().any(|(p, _)| !p.is_ipv4());
    let mut taken: Vec<Prefix> = others
        .into_iter()
        .chain(ctx.routed.iter().copied())
        .collect();
    taken.retain(|p| p.len > 0);
    if !chosen.iter().any(|(p, _)| p.is_ipv4()) {
        let pool = ipam::free_ipv4_subnet(&taken).ok_or(NetworkError::NoFreeSubnet)?;
        chosen.insert(0, (pool, auto_subnet(&pool)));
    }
    if ipv6 && !chosen.iter().any(|(p, _)| !p.is_ipv4()) {
        let pool = ipam::free_ipv6_subnet(&taken).ok_or(NetworkError::NoFreeIpv6Subnet)?;
        chosen.push((pool, auto_subnet(&pool)));
    }
    Ok((chosen.into_iter().map(|(_, s)| s).collect(), ipv6))
}

fn auto_subnet(pool: &Prefix) -> Subnet {
    Subnet {
        subnet: pool.to_string(),
        gateway: ipam::default_gateway(pool),
        ip_range: None,
    }
}

fn overlaps_text(subnet: &str, prefix: &Prefix) -> bool {
    Prefix::parse(subnet, "--subnet").is_ok_and(|p| p.overlaps(prefix))
}

/// One `--subnet` with its `--gateway` and `--ip-range`, checked.
fn check_subnet(request: &SubnetRequest) -> Result<(Prefix, Subnet), NetworkError> {
    let prefix = Prefix::parse(&request.subnet, "--subnet")?;
    let gateway = match request.gateway {
        Some(gateway) => {
            if !prefix.contains(gateway) {
                return Err(NetworkError::InvalidOption {
                    flag: "--gateway",
                    value: gateway.to_string(),
                    reason: format!("it is not inside the subnet {prefix}"),
                });
            }
            gateway
        }
        None => ipam::default_gateway(&prefix),
    };
    if let Some(range) = &request.ip_range {
        let parsed = Prefix::parse(range, "--ip-range")?;
        if !prefix.contains(parsed.address) || parsed.len < prefix.len {
            return Err(NetworkError::InvalidOption {
                flag: "--ip-range",
                value: range.clone(),
                reason: format!("it is not inside the subnet {prefix}"),
            });
        }
    }
    let subnet = Subnet {
        subnet: prefix.to_string(),
        gateway,
        ip_range: request.ip_range.clone(),
    };
    Ok((prefix, subnet))
}

/// The prefixes of `routes` (as [`super::netlink::routed_prefixes`] gives
/// them), skipping default routes.
pub fn routed(routes: &[(IpAddr, u8)]) -> Vec<Prefix> {
    routes
        .iter()
        .filter(|(_, len)| *len > 0)
        .map(|(address, len)| Prefix::new(*address, *len))
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
