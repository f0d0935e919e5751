//! `kiln network inspect`: a JSON array shaped like Docker 20.10's
//! (`Name`, `Id`, `Created`, `Scope`, `Driver`, `EnableIPv6`, `IPAM`,
//! `Internal`, `Attachable`, `Ingress`, `ConfigFrom`, `ConfigOnly`,
//! `Containers`, `Options`, `Labels`), indented by four spaces as Docker's
//! CLI prints it, or `-f` templates over each document. Missing networks are
//! reported one line each (`No such network: X`) after the found ones are
//! printed, and the command exits 1, as Docker's.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_runtime::network::manage::{self, NetworkView};
use kiln_runtime::network::record::EndpointRecord;
use serde::Serialize;

use super::error_line;
use crate::cli::container::Exit;
use crate::cli::format::Template;

/// `kiln network inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using a Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Networks (names, IDs or ID prefixes).
    #[arg(required = true)]
    networks: Vec<String>,
}

/// Runs `kiln network inspect`.
pub fn inspect(root: &Path, args: InspectArgs) -> Result<()> {
    manage::ensure_predefined(root)?;
    let mut docs = Vec::new();
    let mut failed = false;
    for name in &args.networks {
        match manage::inspect(root, name) {
            Ok(view) => docs.push(document(&view)),
            Err(e) => {
                eprintln!("kiln: {}", error_line(name, &e));
                failed = true;
            }
        }
    }
    match &args.format {
        Some(format) => {
            let template = Template::parse(format)?;
            for doc in &docs {
                println!("{}", template.render(&serde_json::to_value(doc)?)?);
            }
        }
        None => println!("{}", pretty(&docs)),
    }
    if failed {
        return Err(Exit::code(1).into());
    }
    Ok(())
}

/// Docker's document of one network, its fields in Docker's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDoc {
    name: String,
    id: String,
    created: String,
    scope: &'static str,
    driver: String,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    ipam: IpamDoc,
    internal: bool,
    attachable: bool,
    ingress: bool,
    config_from: ConfigFrom,
    config_only: bool,
    containers: BTreeMap<String, ContainerDoc>,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

/// `IPAM`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct IpamDoc {
    driver: &'static str,
    options: BTreeMap<String, String>,
    config: Vec<IpamConfig>,
}

/// One `IPAM.Config` entry (`IPRange` only when set, as Docker's
/// `omitempty`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct IpamConfig {
    subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "Option::is_none")]
    ip_range: Option<String>,
    gateway: String,
}

/// `ConfigFrom` (always empty: a Swarm feature).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigFrom {
    network: String,
}

/// One entry of `Containers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerDoc {
    name: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    mac_address: String,
    #[serde(rename = "IPv4Address")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    ipv6_address: String,
}

/// Docker's document of one network.
pub fn document(view: &NetworkView) -> NetworkDoc {
    let n = &view.network;
    let config = n
        .subnets
        .iter()
        .map(|s| IpamConfig {
            subnet: s.subnet.clone(),
            ip_range: s.ip_range.clone(),
            gateway: s.gateway.to_string(),
        })
        .collect();
    NetworkDoc {
        name: n.name.clone(),
        id: n.id.clone(),
        created: n.created.clone(),
        scope: "local",
        driver: n.driver.clone(),
        enable_ipv6: n.ipv6,
        ipam: IpamDoc {
            driver: "default",
            options: BTreeMap::new(),
            config,
        },
        internal: n.internal,
        attachable: n.attachable,
        ingress: false,
        config_from: ConfigFrom {
            network: String::new(),
        },
        config_only: false,
        containers: view
            .endpoints
            .iter()
            .map(|e| (e.container_id.clone(), container_doc(e)))
            .collect(),
        options: n.options.clone(),
        labels: n.labels.clone(),
    }
}

/// One entry of `Containers`.
fn container_doc(e: &EndpointRecord) -> ContainerDoc {
    let cidr = |a: &Option<(std::net::IpAddr, u8)>| {
        a.map(|(ip, len)| format!("{ip}/{len}")).unwrap_or_default()
    };
    ContainerDoc {
        name: e.container_name.clone(),
        endpoint_id: e.endpoint_id.clone(),
        mac_address: e.mac.clone(),
        ipv4_address: cidr(&e.ipv4),
        ipv6_address: cidr(&e.ipv6),
    }
}

/// JSON with Docker's four-space indentation.
pub fn pretty(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(value, &mut ser) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_runtime::network::record::{NetworkRecord, Subnet};
    use std::collections::BTreeMap;

    #[test]
    fn documents_are_shaped_as_dockers() {
        let network = NetworkRecord {
            id: "a".repeat(64),
            name: "front".into(),
            driver: "bridge".into(),
            created: "2026-12-07T22:15:34.5Z".into(),
            bridge: "kbabcdef1".into(),
            subnets: vec![Subnet {
                subnet: "10.200.1.0/24".into(),
                gateway: "10.200.1.1".parse().unwrap(),
                ip_range: Some("10.200.1.128/25".into()),
            }],
            internal: true,
            ipv6: false,
            attachable: true,
            dns: true,
            mtu: 1400,
            labels: BTreeMap::from([("a".to_string(), "b".to_string())]),
            options: BTreeMap::new(),
        };
        let endpoint = EndpointRecord {
            network_id: network.id.clone(),
            container_id: "c".repeat(64),
            container_name: "web".into(),
            endpoint_id: "e".repeat(64),
            interface: "eth0".into(),
            host_veth: "kvabcdef0".into(),
            mac: "02:42:0a:c8:01:80".into(),
            ipv4: Some(("10.200.1.128".parse().unwrap(), 24)),
            ipv6: None,
            aliases: vec![],
            ports: vec![],
            dns_servers: vec![],
            holder_pid: 1,
            holder_start: 1,
        };
        let typed = document(&NetworkView {
            network,
            endpoints: vec![endpoint],
        });
        let text = pretty(&typed);
        let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
        assert!(at("Name") < at("Id") && at("Id") < at("Created") && at("Subnet") < at("Gateway"));
        let doc = serde_json::to_value(&typed).unwrap();
        assert_eq!(doc["IPAM"]["Config"][0]["Gateway"], "10.200.1.1");
        assert_eq!(doc["IPAM"]["Config"][0]["IPRange"], "10.200.1.128/25");
        assert_eq!(doc["IPAM"]["Driver"], "default");
        assert_eq!(doc["Internal"], true);
        assert_eq!(doc["ConfigFrom"]["Network"], "");
        let c = &doc["Containers"]["c".repeat(64)];
        assert_eq!(c["Name"], "web");
        assert_eq!(c["IPv4Address"], "10.200.1.128/24");
        assert_eq!(c["IPv6Address"], "");
        assert!(pretty(&[1]).contains("\n    1\n"));
    }
}
