//! Short port syntax to the long form (compose-go `types.ParsePortConfig`,
//! the same grammar as `docker run -p`): `[ip:][published[-range]:]target[-range][/proto]`,
//! parsed by [`crate::values::parse_port_spec`].

/// One long-syntax port, in the field order docker compose prints.
#[derive(Debug, Clone, PartialEq)]
pub struct PortLong {
    /// `host_ip`, when given.
    pub host_ip: Option<String>,
    /// Container port.
    pub target: i64,
    /// Host port or range, as text (Compose prints it quoted).
    pub published: Option<String>,
    /// `tcp` unless given.
    pub protocol: String,
}

/// Parses one short port spec into one entry per container port, with the
/// grammar `docker run -p` uses ([`crate::values::parse_port_spec`]: one
/// parser for both, as Docker's `nat.ParsePortSpec` is for both).
pub fn parse(spec: &str) -> Result<Vec<PortLong>, String> {
    let mappings = crate::values::parse_port_spec(spec).map_err(|e| match e {
        crate::values::ValueError::InvalidPort { reason, .. } => {
            format!("invalid port {spec:?}: {reason}")
        }
        other => other.to_string(),
    })?;
    Ok(mappings
        .into_iter()
        .map(|m| PortLong {
            host_ip: m.host_ip.map(|ip| ip.to_string()),
            target: i64::from(m.container_port),
            published: m.host_ports.map(|r| r.to_string()),
            protocol: m.protocol.as_str().to_string(),
        })
        .collect())
}
