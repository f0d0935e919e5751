//! `kiln image inspect` and `kiln image history`.
//!
//! `inspect` prints Docker's JSON shape: `Id` (config digest), `RepoTags`,
//! `RepoDigests` (`name@<manifest digest>`: the manifest kiln stores, also for
//! loaded and imported images), `Parent` (always ""), `Comment`, `Created`,
//! `Author`, `Config` (the config's `config` object as stored; `Env`, `Cmd`,
//! `Entrypoint`, `WorkingDir`, `User`, `Labels` are filled with Docker's empty
//! values when absent so templates can use them), `Architecture`, `Os`,
//! `Variant` (when set), `Size` (sum of the stored layer sizes — compressed,
//! unlike Docker's unpacked size), `RootFS` and `Metadata.LastTagTime`. Keys
//! come out sorted (serde_json's map), not in Docker's order.
//!
//! `history` lists the config's history newest first; entries that are not
//! `empty_layer` take the layers' sizes in order. Only the newest line shows
//! the image ID; older ones are `<missing>` as in Docker.

use super::Stores;
use crate::cli::display::{human_age, human_size};
use crate::cli::format::{align_columns, Template};
use anyhow::Result;
use clap::{Args, Subcommand};
use kiln_image::catalog::{find_one, Image};
use kiln_image::time::{format_rfc3339, parse_rfc3339};
use serde_json::{json, Value};
use std::path::Path;

/// `kiln image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show an image's details as JSON.
    Inspect(InspectArgs),
    /// Show how an image was made, layer by layer.
    History(HistoryArgs),
    /// List images (same as `kiln images`).
    #[command(visible_alias = "list")]
    Ls(super::list::ImagesArgs),
    /// Remove images (same as `kiln rmi`).
    #[command(visible_alias = "remove")]
    Rm(super::remove::RmiArgs),
    /// Remove unused images.
    Prune(super::remove::PruneArgs),
}

/// Runs a `kiln image` subcommand.
pub fn run(root: &Path, command: ImageCommand) -> Result<()> {
    match command {
        ImageCommand::Inspect(args) => inspect(root, args),
        ImageCommand::History(args) => history(root, args),
        ImageCommand::Ls(args) => super::list::images(root, args),
        ImageCommand::Rm(args) => super::remove::rmi(root, args),
        ImageCommand::Prune(args) => super::remove::prune(root, args),
    }
}

/// `kiln image inspect IMAGE…`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Go template applied to each image instead of JSON ({{.Id}}, {{json .Config}}).
    #[arg(short, long)]
    pub format: Option<String>,
    /// Images by name or ID.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Runs `kiln image inspect`: finds every image first, so an unknown one prints nothing.
pub fn inspect(root: &Path, args: InspectArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let template = args.format.as_deref().map(Template::parse).transpose()?;
    let mut docs = Vec::new();
    for name in &args.images {
        docs.push(inspect_json(&find_one(
            &stores.content,
            &stores.index,
            name,
        )?));
    }
    match template {
        Some(template) => {
            let mut out = String::new();
            for doc in &docs {
                out.push_str(&template.render(doc)?);
                out.push('\n');
            }
            print!("{out}");
        }
        None => println!("{}", serde_json::to_string_pretty(&docs)?),
    }
    Ok(())
}

/// Docker's `image inspect` document for `image`.
pub fn inspect_json(image: &Image) -> Value {
    let config = &image.config;
    let mut names: Vec<String> = image.references.iter().map(|r| r.familiar_name()).collect();
    names.dedup();
    let mut doc = json!({
        "Id": image.id.to_string(),
        "RepoTags": image.references.iter().filter(|r| r.tag().is_some())
            .map(|r| r.familiar()).collect::<Vec<_>>(),
        "RepoDigests": names.iter().map(|n| format!("{n}@{}", image.manifest))
            .collect::<Vec<_>>(),
        "Parent": "",
        "Comment": image.config_str("comment"),
        "Created": image.config_str("created"),
        "Author": image.config_str("author"),
        "Config": docker_config(&config["config"]),
        "Architecture": image.config_str("architecture"),
        "Os": image.config_str("os"),
        "Size": image.layers_size(),
        "RootFS": {"Type": "layers", "Layers": config["rootfs"]["diff_ids"].clone()},
        "Metadata": {"LastTagTime": last_tag_time(image)},
    });
    if let Some(variant) = config.get("variant") {
        doc["Variant"] = variant.clone();
    }
    doc
}

/// The config's `config` object with Docker's always-present keys filled in.
fn docker_config(config: &Value) -> Value {
    let mut out = config.as_object().cloned().unwrap_or_default();
    for (key, empty) in [
        ("User", json!("")),
        ("Env", Value::Null),
        ("Cmd", Value::Null),
        ("Entrypoint", Value::Null),
        ("WorkingDir", json!("")),
        ("Labels", Value::Null),
    ] {
        out.entry(key).or_insert(empty);
    }
    Value::Object(out)
}

/// When the image was last tagged, or Go's zero time if never.
fn last_tag_time(image: &Image) -> String {
    if image.last_tagged == 0 {
        "0001-01-01T00:00:00Z".to_string()
    } else {
        format_rfc3339(image.last_tagged)
    }
}

/// `kiln image history IMAGE`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image, by name or ID.
    pub image: String,
}

/// Runs `kiln image history`.
pub fn history(root: &Path, args: HistoryArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let image = find_one(&stores.content, &stores.index, &args.image)?;
    let rows = history_rows(&image, args.no_trunc);
    if args.quiet {
        for row in &rows {
            println!("{}", row[0]);
        }
        return Ok(());
    }
    let mut lines = vec!["IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT".to_string()];
    lines.extend(rows.iter().map(|r| r.join("\t")));
    print!("{}", align_columns(&lines));
    Ok(())
}

/// The history lines, newest first: IMAGE, CREATED, CREATED BY, SIZE, COMMENT.
fn history_rows(image: &Image, no_trunc: bool) -> Vec<[String; 5]> {
    let empty = Vec::new();
    let entries = image.config["history"].as_array().unwrap_or(&empty);
    let mut sizes = image.layer_sizes.iter();
    let mut rows: Vec<[String; 5]> = entries
        .iter()
        .map(|entry| {
            let text = |k: &str| entry[k].as_str().unwrap_or_default().to_string();
            let size = if entry["empty_layer"].as_bool() == Some(true) {
                0
            } else {
                sizes.next().copied().unwrap_or(0)
            };
            let created = parse_rfc3339(&text("created")).map_or(String::new(), human_age);
            let by = text("created_by").replace(['\n', '\t'], " ");
            [
                String::new(),
                created,
                truncate(&by, 45, no_trunc),
                human_size(size),
                text("comment"),
            ]
        })
        .collect();
    rows.reverse();
    for (n, row) in rows.iter_mut().enumerate() {
        row[0] = match (n, no_trunc) {
            (0, true) => image.id.to_string(),
            (0, false) => image.short_id(),
            _ => "<missing>".to_string(),
        };
    }
    if rows.is_empty() {
        rows.push([
            image.short_id(),
            String::new(),
            String::new(),
            human_size(image.layers_size()),
            String::new(),
        ]);
    }
    rows
}

/// `text` cut to `max` characters with `…`, unless `keep`.
fn truncate(text: &str, max: usize, keep: bool) -> String {
    if keep || text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    cut + "…"
}
