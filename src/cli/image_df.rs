//! `kiln system df`: disk usage like `docker system df`.
//!
//! Images: TOTAL counts images (manifests), SIZE is the stored size of every
//! blob the images reference, each counted once (shared layers once).
//! ACTIVE is 0 and everything is RECLAIMABLE until containers exist; the
//! Containers, Local Volumes and Build Cache rows are 0 for now.

use super::display::human_size;
use super::image_format::align_columns;
use super::image_model::all_images;
use super::images::Stores;
use anyhow::Result;
use clap::{Args, Subcommand};
use kiln_image::gc::closure;
use std::collections::BTreeSet;
use std::path::Path;

/// `kiln system …`.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show disk usage.
    Df(DfArgs),
}

/// `kiln system df`.
#[derive(Debug, Args)]
pub struct DfArgs {}

/// Runs a `kiln system` subcommand.
pub fn run(root: &Path, command: SystemCommand) -> Result<()> {
    match command {
        SystemCommand::Df(_) => df(root),
    }
}

/// Runs `kiln system df`.
fn df(root: &Path) -> Result<()> {
    let stores = Stores::open(root)?;
    let images = all_images(&stores.content, &stores.index)?;
    let mut blobs = BTreeSet::new();
    for image in &images {
        blobs.extend(closure(&stores.content, &image.manifest)?);
    }
    let mut size = 0;
    for blob in &blobs {
        if stores.content.exists(blob)? {
            size += stores.content.size(blob)?;
        }
    }
    let reclaimable = if size == 0 {
        "0B".to_string()
    } else {
        format!("{} (100%)", human_size(size))
    };
    let lines = [
        "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string(),
        format!(
            "Images\t{}\t0\t{}\t{reclaimable}",
            images.len(),
            human_size(size)
        ),
        "Containers\t0\t0\t0B\t0B".to_string(),
        "Local Volumes\t0\t0\t0B\t0B".to_string(),
        "Build Cache\t0\t0\t0B\t0B".to_string(),
    ];
    print!("{}", align_columns(&lines));
    Ok(())
}
