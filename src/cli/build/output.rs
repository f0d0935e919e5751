//! `kiln build --output` (`-o`): where the result goes, as buildx spells it.
//!
//! - `type=image` (the default): the image store, tagged with every `-t`;
//! - `type=oci,dest=FILE` / `type=docker,dest=FILE`: an OCI or docker archive
//!   of the image (what `kiln save` writes), named after the `-t` tags;
//! - `type=tar,dest=FILE`: the final root filesystem as a plain tar;
//! - `type=local,dest=DIR` (or `-o DIR`): the final root filesystem's files;
//! - `compression=gzip|zstd|uncompressed` (image outputs): how new layers are
//!   compressed (layers reused from the cache or the base keep theirs).
//!
//! The image is written to the content store, and tagged with the `-t`
//! names, in every case (that is where its layers live). Files are written
//! under a temp name and renamed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use kiln_image::media::Compression;
use kiln_snapshotter::{mount, DiffOptions};

use crate::cli::images::{save_images, SaveArgs, SaveFormat};

/// Where the build's result goes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The image store.
    Image,
    /// An archive: OCI layout or `docker save` format.
    Archive(SaveFormat, PathBuf),
    /// The root filesystem as a tar file.
    Tar(PathBuf),
    /// The root filesystem's files in a directory.
    Local(PathBuf),
}

/// A parsed `--output`.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// Where.
    pub kind: Kind,
    /// Compression of new layers.
    pub compression: Compression,
}

/// Parses the `--output` values (at most one, as buildx without a builder
/// that supports several).
pub fn parse(given: &[String]) -> Result<OutputSpec> {
    let Some(spec) = given.first() else {
        return Ok(OutputSpec {
            kind: Kind::Image,
            compression: Compression::Gzip,
        });
    };
    if given.len() > 1 {
        bail!(
            "--output: only one output is supported, got {}",
            given.len()
        );
    }
    if !spec.contains('=') {
        return Ok(OutputSpec {
            kind: Kind::Local(PathBuf::from(spec)),
            compression: Compression::Gzip,
        });
    }
    let (mut kind, mut dest, mut compression) = (None, None, Compression::Gzip);
    for field in spec.split(',') {
        match field.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(PathBuf::from(v)),
            Some(("compression", v)) => {
                compression = match v {
                    "gzip" => Compression::Gzip,
                    "zstd" => Compression::Zstd,
                    "uncompressed" => Compression::None,
                    _ => bail!("--output {spec:?}: compression must be gzip, zstd or uncompressed"),
                }
            }
            Some((
                "name" | "push" | "oci-mediatypes" | "compression-level" | "force-compression",
                _,
            )) => {}
            _ => bail!("--output {spec:?}: unexpected {field:?}"),
        }
    }
    let need_dest = |t: &str| {
        dest.clone()
            .filter(|d| d.as_os_str() != "-")
            .ok_or_else(|| {
                anyhow!("--output {spec:?}: type={t} needs dest=PATH (a file or directory, not -)")
            })
    };
    let kind = match kind.as_deref() {
        Some("image") | None if dest.is_none() => Kind::Image,
        Some("oci") => Kind::Archive(SaveFormat::Oci, need_dest("oci")?),
        Some("docker") => Kind::Archive(SaveFormat::Docker, need_dest("docker")?),
        Some("tar") => Kind::Tar(need_dest("tar")?),
        Some("local") => Kind::Local(need_dest("local")?),
        Some(other) => bail!(
            "--output {spec:?}: unknown type {other:?} (use image, oci, docker, tar or local)"
        ),
        None => bail!("--output {spec:?}: no type= given"),
    };
    Ok(OutputSpec { kind, compression })
}

/// Writes `kind`'s result: `tags` name the image (a temporary tag is made
/// for an untagged archive), `snapshot` is the final filesystem.
pub fn export(
    root: &Path,
    kind: &Kind,
    manifest: &kiln_image::Digest,
    tags: &[String],
    snapshot: Option<&str>,
) -> Result<()> {
    match kind {
        Kind::Image => Ok(()),
        Kind::Archive(format, dest) => archive(root, *format, dest, manifest, tags),
        Kind::Tar(dest) => {
            let temp = dest.with_extension(format!("tmp-{}", std::process::id()));
            let result = with_view(root, snapshot, |tree| write_tar(tree, &temp)).and_then(|()| {
                std::fs::rename(&temp, dest)
                    .with_context(|| format!("--output: write {}", dest.display()))
            });
            if result.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            result
        }
        Kind::Local(dest) => {
            std::fs::create_dir_all(dest)
                .with_context(|| format!("--output: create {}", dest.display()))?;
            let temp = root.join(format!("builder/tmp/local-{}.tar", std::process::id()));
            let result = with_view(root, snapshot, |tree| write_tar(tree, &temp)).and_then(|()| {
                let file = File::open(&temp).with_context(|| format!("open {}", temp.display()))?;
                kiln_snapshotter::apply(std::io::BufReader::new(file), dest)
                    .map_err(|e| anyhow!("--output: write {}: {e}", dest.display()))?;
                Ok(())
            });
            let _ = std::fs::remove_file(&temp);
            result
        }
    }
}

fn archive(
    root: &Path,
    format: SaveFormat,
    dest: &Path,
    manifest: &kiln_image::Digest,
    tags: &[String],
) -> Result<()> {
    let temporary = tags
        .is_empty()
        .then(|| format!("kiln-build-output:{}", std::process::id()));
    let images: Vec<String> = match &temporary {
        Some(t) => vec![t.clone()],
        None => tags.to_vec(),
    };
    let index = kiln_image::ImageIndex::new(root)?;
    if let Some(t) = &temporary {
        index.tag(&kiln_image::Reference::parse(t)?, manifest)?;
    }
    let result = save_images(
        root,
        SaveArgs {
            output: dest.to_path_buf(),
            format,
            images,
        },
    )
    .with_context(|| format!("--output: write {}", dest.display()));
    if let Some(t) = &temporary {
        index.untag(&kiln_image::Reference::parse(t)?)?;
    }
    result
}

/// Writes the tree at `tree` as a plain tar to `dest`.
fn write_tar(tree: &Path, dest: &Path) -> Result<()> {
    let file =
        File::create(dest).with_context(|| format!("--output: create {}", dest.display()))?;
    let mut out = BufWriter::new(file);
    let options = DiffOptions {
        compression: Compression::None,
        source_date_epoch: None,
    };
    kiln_snapshotter::diff_trees(None, tree, &mut out, &options)
        .map_err(|e| anyhow!("--output: tar {}: {e}", tree.display()))?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Mounts a read-only view of `snapshot` (`None`: empty) for `f`.
fn with_view<T>(
    root: &Path,
    snapshot: Option<&str>,
    f: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let snapshotter = kiln_runtime::rootfs::open_snapshotter(root, None)
        .map_err(|e| anyhow!("snapshotter: {e}"))?;
    let key = format!("build-output-{}", std::process::id());
    let dir = root.join("builder/tmp").join(&key);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let mounts = snapshotter
        .view(&key, snapshot)
        .map_err(|e| anyhow!("--output: view of the result: {e}"))?;
    let result = mount::mount_all(&mounts, &dir)
        .map_err(|e| anyhow!("--output: mount {}: {e}", dir.display()))
        .and_then(|()| {
            let r = f(&dir);
            let unmounted =
                mount::unmount_all(&dir, false).or_else(|_| mount::unmount_all(&dir, true));
            r.and_then(|v| {
                unmounted
                    .map(|()| v)
                    .map_err(|e| anyhow!("unmount {}: {e}", dir.display()))
            })
        });
    let _ = snapshotter.remove(&key);
    let _ = std::fs::remove_dir(&dir);
    result
}
