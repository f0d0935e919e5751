//! The `image` noun: image store commands with Docker's names and flags.
//! `import`, `load`, `save`, `tag` are here; `images`/`image ls` in [`list`],
//! `rmi`/`image prune` in [`remove`], `image inspect`/`history` in
//! [`inspect`].
//!
//! `load` of an image without a name and `tag`/`import` moving a name away
//! from an image that then has none keep that image as dangling (see
//! [`kiln_image::catalog`]).

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kiln_image::archive::{import_rootfs_with, load_file, save_file, ArchiveFormat, ImportOptions};
use kiln_image::catalog::{find_one, keep_if_orphaned, tag_image, Image};
use kiln_image::Reference;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use kiln_image::catalog::Stores;

pub mod inspect;
pub mod list;
pub mod remove;

/// `kiln import FILE NAME[:TAG]`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A root filesystem tar (plain or gzip); `-` reads standard input.
    pub file: PathBuf,
    /// The name to tag the new image with.
    pub reference: String,
}

/// `kiln load -i FILE`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The archive to read (docker-archive or OCI archive, plain or gzip).
    #[arg(short, long)]
    pub input: PathBuf,
    /// Print only the loaded image references.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Archive formats of `kiln save`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SaveFormat {
    /// What `docker save` writes.
    Docker,
    /// A tar of an OCI image layout.
    Oci,
}

/// `kiln save -o FILE IMAGE…`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Where to write the archive (written to a temp name, renamed when complete).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The archive format.
    #[arg(long, value_enum, default_value = "docker")]
    pub format: SaveFormat,
    /// The images to save.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `kiln tag SOURCE TARGET`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// An existing image (name or ID).
    pub source: String,
    /// The new name for it.
    pub target: String,
}

fn parse_reference(text: &str) -> Result<Reference> {
    Reference::parse(text).with_context(|| format!("invalid reference format: {text:?}"))
}

/// Parses a reference that is to name an image (`tag`'s target, `import`'s
/// name): a digest pins content and cannot be pointed at another image, so
/// it is refused with Docker's message (`refusal`).
fn parse_new_name(text: &str, refusal: &str) -> Result<Reference> {
    let reference = parse_reference(text)?;
    if reference.digest().is_some() {
        anyhow::bail!("{refusal}: {text:?}");
    }
    Ok(reference)
}

/// Gives kiln-image's archives the zstd decoder (kiln-image links none).
fn install_zstd() {}

/// Runs `kiln import`.
pub fn import(root: &Path, args: ImportArgs) -> Result<()> {
    install_zstd();
    let reference = parse_new_name(&args.reference, "cannot import digest reference")?;
    let stores = Stores::open(root)?;
    let options = ImportOptions::default();
    let previous = stores.index.get(&reference)?.map(|r| r.digest);
    let digest = if args.file == Path::new("-") {
        import_rootfs_with(
            &stores.content,
            &stores.index,
            std::io::stdin(),
            &reference,
            &options,
        )?
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        import_rootfs_with(&stores.content, &stores.index, file, &reference, &options)
            .with_context(|| format!("cannot import {}", args.file.display()))?
    };
    if let Some(old) = previous.filter(|old| *old != digest) {
        keep_if_orphaned(&stores.index, &old)?;
    }
    println!("{}", Image::read(&stores.content, digest)?.id);
    Ok(())
}

/// Runs `kiln load`.
pub fn load(root: &Path, args: LoadArgs) -> Result<()> {
    install_zstd();
    let stores = Stores::open(root)?;
    let loaded = load_file(&stores.content, &stores.index, &args.input)
        .with_context(|| format!("cannot load {}", args.input.display()))?;
    for image in loaded {
        if image.reference.is_none() {
            keep_if_orphaned(&stores.index, &image.digest)?;
        }
        match (&image.reference, args.quiet) {
            (Some(reference), _) => println!("Loaded image: {}", reference.familiar()),
            (None, false) => println!(
                "Loaded image ID: {}",
                Image::read_any(&stores.content, image.digest)?.id
            ),
            (None, true) => {}
        }
    }
    Ok(())
}

/// Runs `kiln save`: writes the archive to an anonymous temp file beside
/// the output and links it in when complete (see
/// [`kiln_image::archive::SaveOutput`]).
pub fn save_images(root: &Path, args: SaveArgs) -> Result<()> {
    install_zstd();
    let stores = Stores::open(root)?;
    let references = args
        .images
        .iter()
        .map(|i| parse_reference(i))
        .collect::<Result<Vec<_>>>()?;
    let format = match args.format {
        SaveFormat::Docker => ArchiveFormat::Docker,
        SaveFormat::Oci => ArchiveFormat::Oci,
    };
    Ok(save_file(
        &stores.content,
        &stores.index,
        &references,
        format,
        &args.output,
    )?)
}

/// Runs `kiln tag` (a digest target is refused as `docker tag` refuses it).
pub fn tag(root: &Path, args: TagArgs) -> Result<()> {
    let target = parse_new_name(
        &args.target,
        "refusing to create a tag with a digest reference",
    )?;
    let stores = Stores::open(root)?;
    let image = find_one(&stores.content, &stores.index, &args.source)?;
    Ok(tag_image(&stores.index, &target, &image.manifest)?)
}
