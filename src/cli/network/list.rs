//! `kiln network ls`: Docker's columns (NETWORK ID, NAME, DRIVER, SCOPE),
//! `-q`, `--no-trunc`, `--format` and `--filter` with Docker's keys:
//! `driver=` (exact), `id=` and `name=` (all or part, as Docker matches),
//! `label=KEY` / `label=KEY=VALUE`, `scope=` (always `local` here),
//! `type=custom|builtin` (builtin: the predefined `bridge`, `host`, `none`)
//! and `dangling=true|false` (true: user-defined networks no container
//! uses). Values of one key are alternatives; different keys must all hold.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use kiln_runtime::network::manage::{self, NetworkView};
use kiln_runtime::network::record::NetworkRecord;
use serde_json::{json, Value};

use crate::cli::format::render_rows;

/// The networks Docker's daemon makes itself and never removes.
pub const PREDEFINED: &[&str] = &["bridge", "host", "none"];

/// `kiln network ls` flags.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Filter: driver=, id=, label=, name=, scope=, type=custom|builtin, dangling=.
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Go template: {{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}} {{.Labels}} {{.CreatedAt}}.
    #[arg(long)]
    format: Option<String>,
    /// Do not truncate the output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
}

/// Parsed `--filter` values: key -> alternatives.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses `KEY=VALUE` items, accepting only the keys in `allowed`.
    pub fn parse(items: &[String], allowed: &[&str]) -> Result<Filters> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                bail!("bad format of filter (expected name=value): {item}");
            };
            let key = key.trim().to_ascii_lowercase();
            if !allowed.contains(&key.as_str()) {
                bail!("Invalid filter '{key}'");
            }
            map.entry(key).or_default().push(value.to_string());
        }
        let filters = Filters(map);
        filters.check_values()?;
        Ok(filters)
    }

    /// The values given for `key`.
    pub fn values(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Refuses `dangling=` and `type=` values Docker refuses.
    fn check_values(&self) -> Result<()> {
        for value in self.values("dangling") {
            if dangling_wanted(value).is_none() {
                bail!("Invalid filter 'dangling={value}'");
            }
        }
        for value in self.values("type") {
            if value != "custom" && value != "builtin" {
                bail!("Invalid filter: 'type'='{value}'");
            }
        }
        Ok(())
    }

    /// Whether `view` passes every filter.
    pub fn matches(&self, view: &NetworkView) -> bool {
        let n = &view.network;
        let any = |key: &str, test: &dyn Fn(&str) -> bool| {
            let values = self.values(key);
            values.is_empty() || values.iter().any(|v| test(v))
        };
        any("driver", &|v| n.driver == v)
            && any("id", &|v| n.id.contains(v))
            && any("name", &|v| n.name.contains(v))
            && any("scope", &|v| v == "local")
            && any("type", &|v| (v == "builtin") == is_predefined(n))
            && any("label", &|v| has_label(n, v))
            && any("dangling", &|v| {
                dangling_wanted(v) == Some(is_dangling(view))
            })
    }
}

/// `true`/`1` and `false`/`0`, as Docker reads `dangling=`.
fn dangling_wanted(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A user-defined network no container uses.
fn is_dangling(view: &NetworkView) -> bool {
    !is_predefined(&view.network) && view.endpoints.is_empty()
}

/// One of `bridge`, `host`, `none`.
pub fn is_predefined(network: &NetworkRecord) -> bool {
    PREDEFINED.contains(&network.name.as_str())
}

/// `label=KEY` (the key is set) or `label=KEY=VALUE` (set to VALUE).
pub fn has_label(network: &NetworkRecord, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((key, value)) => network.labels.get(key).is_some_and(|v| v == value),
        None => network.labels.contains_key(filter),
    }
}

/// Runs `kiln network ls`.
pub fn ls(root: &Path, args: LsArgs) -> Result<()> {
    let filters = Filters::parse(
        &args.filter,
        &["driver", "id", "label", "name", "scope", "type", "dangling"],
    )?;
    manage::ensure_predefined(root)?;
    let shown: Vec<NetworkView> = manage::list(root)?
        .into_iter()
        .filter(|v| filters.matches(v))
        .collect();
    if args.quiet {
        for view in &shown {
            println!("{}", id_text(&view.network.id, args.no_trunc));
        }
        return Ok(());
    }
    let rows: Vec<Value> = shown
        .iter()
        .map(|v| row(&v.network, args.no_trunc))
        .collect();
    let format = args
        .format
        .unwrap_or_else(|| "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}".into());
    print!("{}", render_rows(&format, &rows, header)?);
    Ok(())
}

/// The ID, cut to Docker's 12 digits unless `no_trunc`.
fn id_text(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        &id[..id.len().min(12)]
    }
}

/// Docker's column titles.
fn header(field: &str) -> String {
    match field {
        "ID" => "NETWORK ID".into(),
        "CreatedAt" => "CREATED AT".into(),
        other => other.to_uppercase(),
    }
}

/// The fields `--format` sees for one network (strings, as Docker's
/// formatter gives them).
pub fn row(n: &NetworkRecord, no_trunc: bool) -> Value {
    let labels = n
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": id_text(&n.id, no_trunc),
        "Name": n.name,
        "Driver": n.driver,
        "Scope": "local",
        "IPv6": n.ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": labels,
        "CreatedAt": go_time(&n.created),
    })
}

/// An RFC 3339 UTC time as Go prints a `time.Time`
/// (`2026-12-07 22:15:34.123456789 +0000 UTC`); other text unchanged.
pub fn go_time(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(rest) => format!("{} +0000 UTC", rest.replacen('T', " ", 1)),
        None => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(name: &str, id: &str, driver: &str) -> NetworkRecord {
        NetworkRecord {
            id: id.repeat(64 / id.len()),
            name: name.into(),
            driver: driver.into(),
            created: "2026-12-07T22:15:34.5Z".into(),
            bridge: String::new(),
            subnets: Vec::new(),
            internal: false,
            ipv6: false,
            attachable: false,
            dns: true,
            mtu: 1500,
            labels: BTreeMap::from([("team".to_string(), "web".to_string())]),
            options: BTreeMap::new(),
        }
    }

    fn view(network: NetworkRecord) -> NetworkView {
        NetworkView {
            network,
            endpoints: Vec::new(),
        }
    }

    fn shown(filters: &[&str], views: &[NetworkView]) -> Vec<String> {
        let items: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let all = ["driver", "id", "label", "name", "scope", "type", "dangling"];
        let f = Filters::parse(&items, &all).unwrap();
        views
            .iter()
            .filter(|v| f.matches(v))
            .map(|v| v.network.name.clone())
            .collect()
    }

    #[test]
    fn filters_match_as_dockers() {
        let views = [
            view(network("bridge", "ab", "bridge")),
            view(network("host", "cd", "host")),
            view(network("front", "ef", "bridge")),
        ];
        assert_eq!(shown(&["type=custom"], &views), ["front"]);
        assert_eq!(shown(&["type=builtin"], &views), ["bridge", "host"]);
        assert_eq!(shown(&["driver=bridge"], &views), ["bridge", "front"]);
        assert_eq!(shown(&["name=ro"], &views), ["front"]);
        assert_eq!(shown(&["id=cdcd", "id=efe"], &views), ["host", "front"]);
        assert_eq!(shown(&["dangling=true"], &views), ["front"]);
        assert_eq!(shown(&["dangling=0"], &views), ["bridge", "host"]);
        assert_eq!(shown(&["label=team=web", "name=b"], &views), ["bridge"]);
        assert!(shown(&["label=team=db"], &views).is_empty());
        assert_eq!(shown(&["scope=local"], &views).len(), 3);
        assert!(shown(&["scope=swarm"], &views).is_empty());
    }

    #[test]
    fn bad_filters_are_refused_in_one_line() {
        let all = ["driver", "dangling", "type"];
        let err = |item: &str| {
            Filters::parse(&[item.to_string()], &all)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err("colour=red"), "Invalid filter 'colour'");
        assert_eq!(err("dangling=maybe"), "Invalid filter 'dangling=maybe'");
        assert_eq!(err("type=mine"), "Invalid filter: 'type'='mine'");
        assert_eq!(
            err("driver"),
            "bad format of filter (expected name=value): driver"
        );
    }

    #[test]
    fn rows_carry_dockers_fields() {
        let r = row(&network("front", "ef", "bridge"), false);
        assert_eq!(r["ID"], "efefefefefef");
        assert_eq!(r["Scope"], "local");
        assert_eq!(r["IPv6"], "false");
        assert_eq!(r["Labels"], "team=web");
        assert_eq!(r["CreatedAt"], "2026-12-07 22:15:34.5 +0000 UTC");
        assert_eq!(header("ID"), "NETWORK ID");
    }
}
