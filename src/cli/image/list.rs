//! `kiln images` (and `kiln image ls`): one line per reference, dangling
//! images as `<none> <none>`.
//!
//! Choices: SIZE is the stored size of the config and layer blobs (Docker
//! shows the unpacked size, which needs unpacked snapshots); CREATED comes from
//! the image config's `created`, falling back to when the tag was set. `-a`
//! is accepted and changes nothing: kiln has no intermediate images.
//!
//! Filters (`--filter`/`-f`, Docker's keys): `dangling=true|false`,
//! `reference=PATTERN` (a glob with `*` and `?`, which do not match `/`, on
//! the familiar `name` or `name:tag`), `label=KEY` or `label=KEY=VALUE` (the
//! config's labels). Filters with different keys must all match; several
//! filters with the same key match if any does.

use super::Stores;
use crate::cli::display::{human_age, human_size};
use crate::cli::format::render_rows;
use anyhow::{bail, Result};
use clap::Args;
use kiln_image::catalog::{all_images, Image};
use kiln_image::time::{format_rfc3339, parse_rfc3339};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// `kiln images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show manifest digests.
    #[arg(long)]
    pub digests: bool,
    /// Show all images (kiln has no intermediate images: same as without).
    #[arg(short, long)]
    pub all: bool,
    /// Filter: dangling=true|false, reference=PATTERN, label=KEY[=VALUE].
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Go template: {{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.CreatedSince}} {{.Size}}; `table` prefix for columns.
    #[arg(long)]
    pub format: Option<String>,
}

/// Runs `kiln images`.
pub fn images(root: &Path, args: ImagesArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let filters = Filters::parse(&args.filter)?;
    let mut rows = Vec::new();
    for image in all_images(&stores.content, &stores.index)? {
        rows.extend(
            rows_of(&image)
                .into_iter()
                .filter(|r| filters.keep(&image, r)),
        );
    }
    rows.sort_by(|a, b| {
        (text(a, "Repository"), text(a, "Tag")).cmp(&(text(b, "Repository"), text(b, "Tag")))
    });
    let mut out = std::io::stdout().lock();
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for row in rows.iter().filter(|r| seen.insert(text(r, "ID"))) {
            writeln!(out, "{}", text(row, "ID"))?;
        }
        return Ok(());
    }
    let default = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let format = args.format.as_deref().unwrap_or(default);
    write!(out, "{}", render_rows(format, &rows, header)?)?;
    Ok(())
}

/// A string field of a row.
fn text<'r>(row: &'r Value, key: &str) -> &'r str {
    row[key].as_str().unwrap_or_default()
}

/// Docker's column titles.
fn header(field: &str) -> String {
    match field {
        "ID" => "IMAGE ID".to_string(),
        "CreatedSince" => "CREATED".to_string(),
        "CreatedAt" => "CREATED AT".to_string(),
        other => other.to_uppercase(),
    }
}

/// The lines `image` contributes: one per reference, or one `<none>` line.
fn rows_of(image: &Image) -> Vec<Value> {
    let created = parse_rfc3339(image.config_str("created")).unwrap_or(image.last_tagged);
    let size = human_size(image.config_size + image.layers_size());
    let row = |repository: String, tag: &str| {
        json!({
            "Repository": repository,
            "Tag": tag,
            "ID": image.short_id(),
            "Digest": image.manifest.to_string(),
            "CreatedSince": human_age(created),
            "CreatedAt": format_rfc3339(created),
            "Size": size,
            "Containers": "N/A",
        })
    };
    if image.dangling() {
        return vec![row("<none>".to_string(), "<none>")];
    }
    image
        .references
        .iter()
        .map(|r| row(r.familiar_name(), r.tag().unwrap_or("<none>")))
        .collect()
}

/// `--filter` values grouped by key.
struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses `key=value` filters; unknown keys are errors.
    fn parse(filters: &[String]) -> Result<Filters> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for filter in filters {
            let Some((key, value)) = filter.split_once('=') else {
                bail!("bad format of filter (expected name=value): {filter}");
            };
            match key {
                "dangling" if value != "true" && value != "false" => {
                    bail!("invalid filter 'dangling={value}': expected true or false")
                }
                "dangling" | "reference" | "label" => {}
                _ => bail!("invalid filter '{key}'"),
            }
            map.entry(key.to_string())
                .or_default()
                .push(value.to_string());
        }
        Ok(Filters(map))
    }

    /// Whether the line `row` of `image` passes every filter key.
    fn keep(&self, image: &Image, row: &Value) -> bool {
        self.0.iter().all(|(key, values)| {
            values.iter().any(|value| match key.as_str() {
                "dangling" => image.dangling() == (value == "true"),
                "reference" => matches_reference(value, row),
                _ => matches_label(value, image),
            })
        })
    }
}

/// Whether the row's `name` or `name:tag` matches the glob `pattern`.
fn matches_reference(pattern: &str, row: &Value) -> bool {
    let (name, tag) = (text(row, "Repository"), text(row, "Tag"));
    name != "<none>" && (glob(pattern, name) || glob(pattern, &format!("{name}:{tag}")))
}

/// Whether the image config has label `KEY` (or `KEY=VALUE`).
fn matches_label(filter: &str, image: &Image) -> bool {
    let labels = &image.config["config"]["Labels"];
    match filter.split_once('=') {
        Some((key, value)) => labels[key].as_str() == Some(value),
        None => labels.get(filter).is_some(),
    }
}

/// Go's `path.Match` subset: `*` (any run without `/`) and `?` (one non-`/`).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len())
            .take_while(|&n| n == 0 || t[n - 1] != '/')
            .any(|n| glob_at(&p[1..], &t[n..])),
        Some('?') => t.first().is_some_and(|c| *c != '/') && glob_at(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_go_path_match() {
        assert!(glob("demo*", "demo"));
        assert!(glob("demo*", "demo:1"));
        assert!(!glob("*", "a/b"));
        assert!(glob("*/*", "a/b"));
        assert!(glob("de?o:1", "demo:1"));
        assert!(!glob("demo", "demo:1"));
    }
}
