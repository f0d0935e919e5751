//! Short port syntax to the long form (compose-go `types.ParsePortConfig`,
//! the same grammar as `docker run -p`): `[ip:][published[-range]:]target[-range][/proto]`.

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

/// Parses one short port spec into one entry per container port.
pub fn parse(spec: &str) -> Result<Vec<PortLong>, String> {
    let invalid = || format!("invalid port {spec:?}");
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) if !p.is_empty() => (r, p.to_string()),
        Some(_) => return Err(invalid()),
        None => (spec, "tcp".to_string()),
    };
    let (ip, published, target) = split_parts(rest).ok_or_else(invalid)?;
    let (t0, t1) = range(target).ok_or_else(invalid)?;
    let published_range = match published {
        Some(p) if !p.is_empty() => Some(range(p).ok_or_else(invalid)?),
        _ => None,
    };
    let count = t1 - t0 + 1;
    let mut out = Vec::new();
    for i in 0..count {
        let published = match published_range {
            Some((p0, p1)) if p1 - p0 + 1 == count => Some((p0 + i).to_string()),
            Some((p0, p1)) if count == 1 && p0 != p1 => Some(format!("{p0}-{p1}")),
            Some((p0, p1)) if p0 == p1 => Some(p0.to_string()),
            Some(_) => return Err(invalid()),
            None => None,
        };
        out.push(PortLong {
            host_ip: ip.clone(),
            target: t0 + i,
            published,
            protocol: protocol.clone(),
        });
    }
    Ok(out)
}

/// `ip:published:target`, `published:target` or `target`; an IPv6 host IP is
/// written in brackets.
fn split_parts(rest: &str) -> Option<(Option<String>, Option<&str>, &str)> {
    if let Some(inner) = rest.strip_prefix('[') {
        let (ip, after) = inner.split_once(']')?;
        let after = after.strip_prefix(':')?;
        let (published, target) = after.split_once(':')?;
        return Some((Some(ip.to_string()), Some(published), target));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    match parts.as_slice() {
        [t] => Some((None, None, t)),
        [p, t] => Some((None, Some(p), t)),
        [ip, p, t] => Some((Some(ip.to_string()), Some(p), t)),
        _ => {
            let (head, target) = rest.rsplit_once(':')?;
            let (ip, published) = head.rsplit_once(':')?;
            Some((Some(ip.to_string()), Some(published), target))
        }
    }
}

fn range(text: &str) -> Option<(i64, i64)> {
    let port = |s: &str| s.parse::<i64>().ok().filter(|p| (0..=65535).contains(p));
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            (a <= b).then_some((a, b))
        }
        None => port(text).map(|p| (p, p)),
    }
}
