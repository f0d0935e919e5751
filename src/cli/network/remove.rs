//! `kiln network rm` and `kiln network prune`, as Docker's: `rm` takes
//! several networks, prints each one removed, reports each failure on its
//! own line (`No such network: X`, a network in use, a predefined one) and
//! exits 1 if any failed. `prune` removes every user-defined network no
//! container uses (filters `until=`, `label=`, `label!=`), asking first
//! unless `-f` (a line read from standard input, `y` confirms), and prints
//! `Deleted Networks:` with the names.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use kiln_image::time::{now, parse_rfc3339};
use kiln_runtime::network::manage;
use kiln_runtime::network::record::NetworkRecord;
use kiln_runtime::network::NetworkError;

use super::error_line;
use super::list::{has_label, Filters};
use crate::cli::container::Exit;

/// `kiln network rm` flags.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not fail on networks that do not exist.
    #[arg(short = 'f', long)]
    force: bool,
    /// Networks (names, IDs or ID prefixes).
    #[arg(required = true)]
    networks: Vec<String>,
}

/// `kiln network prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
    /// Provide filter values (`until=<timestamp|duration>`, `label=`, `label!=`).
    #[arg(long = "filter")]
    filter: Vec<String>,
}

/// Runs `kiln network rm`.
pub fn rm(root: &Path, args: RmArgs) -> Result<()> {
    let mut failed = false;
    for name in &args.networks {
        match manage::remove(root, name) {
            Ok(_) => println!("{name}"),
            Err(NetworkError::NotFound(_)) if args.force => {}
            Err(e) => {
                eprintln!("kiln: {}", error_line(name, &e));
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::code(1).into());
    }
    Ok(())
}

/// Runs `kiln network prune`.
pub fn prune(root: &Path, args: PruneArgs) -> Result<()> {
    let filters = Filters::parse(&args.filter, &["until", "label", "label!"])?;
    let until = match filters.values("until") {
        [] => None,
        [one] => Some(until_epoch(one, now().0)?),
        _ => bail!("more than one until filter specified"),
    };
    if !args.force && !confirmed()? {
        return Ok(());
    }
    let keep = |n: &NetworkRecord| !pruned(&filters, until, n);
    let deleted = manage::prune(root, &keep)?;
    if !deleted.is_empty() {
        println!("Deleted Networks:\n{}\n", deleted.join("\n"));
    }
    Ok(())
}

/// Asks Docker's question and reads the answer from standard input.
fn confirmed() -> Result<bool> {
    print!(
        "WARNING! This will remove all custom networks not used by at least one container.\n\
         Are you sure you want to continue? [y/N] "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let yes = matches!(answer.trim(), "y" | "Y" | "yes" | "Yes");
    if !yes {
        println!();
    }
    Ok(yes)
}

/// Whether prune's filters select `network` (created before `until`, with
/// every `label=` and none of the `label!=`).
fn pruned(filters: &Filters, until: Option<u64>, network: &NetworkRecord) -> bool {
    let old_enough = match until {
        None => true,
        Some(limit) => parse_rfc3339(&network.created).is_some_and(|t| t < limit),
    };
    old_enough
        && filters
            .values("label")
            .iter()
            .all(|l| has_label(network, l))
        && !filters
            .values("label!")
            .iter()
            .any(|l| has_label(network, l))
}

/// `until=` as epoch seconds: a Unix time (`1700000000[.5]`), an RFC 3339
/// time, or a Go duration before `now` (`24h`, `1h30m`, `90s`), as Docker
/// reads it.
pub fn until_epoch(value: &str, now: u64) -> Result<u64> {
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds >= 0.0 && !value.contains(['e', 'E']) {
            return Ok(seconds as u64);
        }
    }
    if let Some(seconds) = go_duration(value) {
        return Ok(now.saturating_sub(seconds));
    }
    if let Some(time) = parse_rfc3339(value) {
        return Ok(time);
    }
    bail!("failed to parse value as time or duration: {value:?}")
}

/// A Go duration (`1h30m`, `1.5h`, `90s`, `500ms`) in whole seconds.
fn go_duration(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn until_reads_durations_unix_and_rfc3339_times() {
        assert_eq!(until_epoch("24h", 100_000).unwrap(), 100_000 - 86_400);
        assert_eq!(until_epoch("1h30m", 10_000).unwrap(), 10_000 - 5_400);
        assert_eq!(until_epoch("1700000000", 0).unwrap(), 1_700_000_000);
        assert_eq!(until_epoch("1700000000.5", 0).unwrap(), 1_700_000_000);
        assert_eq!(
            until_epoch("2023-11-14T22:13:20Z", 0).unwrap(),
            1_700_000_000
        );
        assert_eq!(
            until_epoch("soon", 0).unwrap_err().to_string(),
            "failed to parse value as time or duration: \"soon\""
        );
        assert!(until_epoch("10parsecs", 0).is_err());
    }

    #[test]
    fn prune_filters_select_by_age_and_labels() {
        let network = NetworkRecord {
            id: "a".repeat(64),
            name: "n".into(),
            driver: "bridge".into(),
            created: "2023-11-14T22:13:20Z".into(),
            bridge: String::new(),
            subnets: vec![],
            internal: false,
            ipv6: false,
            attachable: false,
            dns: true,
            mtu: 1500,
            labels: BTreeMap::from([("keep".to_string(), "yes".to_string())]),
            options: BTreeMap::new(),
        };
        let f = |items: &[&str]| {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            Filters::parse(&items, &["until", "label", "label!"]).unwrap()
        };
        assert!(pruned(&f(&[]), None, &network));
        assert!(pruned(&f(&[]), Some(1_700_000_001), &network));
        assert!(!pruned(&f(&[]), Some(1_700_000_000), &network));
        assert!(pruned(&f(&["label=keep"]), None, &network));
        assert!(!pruned(&f(&["label!=keep=yes"]), None, &network));
        assert!(pruned(&f(&["label!=keep=no"]), None, &network));
    }
}
