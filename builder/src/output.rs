//! `docker build --output` (`-o`): where the result goes, as buildx spells it.
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
//! under a temp name and renamed. [`parse`] reads the flag values, [`export`]
//! writes a built image's result.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kiln_image::archive::{save_file, ArchiveError, ArchiveFormat};
use kiln_image::media::Compression;
use kiln_image::{ContentStore, Digest, ImageError, ImageIndex, Reference};
use kiln_snapshotter::{mount, DiffOptions};

/// Why `--output` is invalid or could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// More than one `--output`.
    #[error("--output: only one output is supported, got {count}")]
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// `compression=` with an unknown value.
    #[error("--output {spec:?}: compression must be gzip, zstd or uncompressed")]
    Compression {
        /// The whole value.
        spec: String,
    },
    /// A field kiln does not know.
    #[error("--output {spec:?}: unexpected {field:?}")]
    Field {
        /// The whole value.
        spec: String,
        /// The field.
        field: String,
    },
    /// A file or directory output without `dest=`.
    #[error("--output {spec:?}: type={kind} needs dest=PATH (a file or directory, not -)")]
    NeedsDest {
        /// The whole value.
        spec: String,
        /// The type.
        kind: String,
    },
    /// An unknown `type=`.
    #[error("--output {spec:?}: unknown type {kind:?} (use image, oci, docker, tar or local)")]
    UnknownType {
        /// The whole value.
        spec: String,
        /// The type.
        kind: String,
    },
    /// `dest=` without `type=`.
    #[error("--output {spec:?}: no type= given")]
    NoType {
        /// The whole value.
        spec: String,
    },
    /// A file or directory of the output could not be made or written.
    #[error("{action} {}", .path.display())]
    Io {
        /// What was done ("--output: write", "--output: create", "open").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The archive could not be written.
    #[error("--output: write {}", .path.display())]
    Archive {
        /// The destination.
        path: PathBuf,
        /// The error.
        #[source]
        source: ArchiveError,
    },
    /// The image store failed (tagging an untagged archive's image).
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The snapshotter, a mount or the tar writer failed.
    #[error("{what}: {reason}")]
    Tree {
        /// What was done to what.
        what: String,
        /// The error.
        reason: String,
    },
}

/// Where the build's result goes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The image store.
    Image,
    /// An archive: OCI layout or `docker save` format.
    Archive(ArchiveFormat, PathBuf),
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
pub fn parse(given: &[String]) -> Result<OutputSpec, OutputError> {
    let Some(spec) = given.first() else {
        return Ok(OutputSpec {
            kind: Kind::Image,
            compression: Compression::Gzip,
        });
    };
    if given.len() > 1 {
        return Err(OutputError::TooMany { count: given.len() });
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
            Some(("compression", v)) => compression = parse_compression(spec, v)?,
            Some((
                "name" | "push" | "oci-mediatypes" | "compression-level" | "force-compression",
                _,
            )) => {}
            _ => {
                return Err(OutputError::Field {
                    spec: spec.clone(),
                    field: field.into(),
                })
            }
        }
    }
    let need_dest = |t: &str| {
        dest.clone()
            .filter(|d| d.as_os_str() != "-")
            .ok_or_else(|| OutputError::NeedsDest {
                spec: spec.clone(),
                kind: t.into(),
            })
    };
    let kind = match kind.as_deref() {
        Some("image") | None if dest.is_none() => Kind::Image,
        Some("oci") => Kind::Archive(ArchiveFormat::Oci, need_dest("oci")?),
        Some("docker") => Kind::Archive(ArchiveFormat::Docker, need_dest("docker")?),
        Some("tar") => Kind::Tar(need_dest("tar")?),
        Some("local") => Kind::Local(need_dest("local")?),
        Some(other) => {
            return Err(OutputError::UnknownType {
                spec: spec.clone(),
                kind: other.into(),
            })
        }
        None => return Err(OutputError::NoType { spec: spec.clone() }),
    };
    Ok(OutputSpec { kind, compression })
}

fn parse_compression(spec: &str, value: &str) -> Result<Compression, OutputError> {
    match value {
        "gzip" => Ok(Compression::Gzip),
        "zstd" => Ok(Compression::Zstd),
        "uncompressed" => Ok(Compression::None),
        _ => Err(OutputError::Compression { spec: spec.into() }),
    }
}

/// An [`OutputError::Io`] for `path`.
fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Io {
        action,
        path,
        source,
    }
}

/// An [`OutputError::Tree`].
fn tree_err<E: std::fmt::Display>(what: String) -> impl FnOnce(E) -> OutputError {
    move |e| OutputError::Tree {
        what,
        reason: e.to_string(),
    }
}

/// Writes `kind`'s result: `tags` name the image (a temporary tag is made
/// for an untagged archive), `snapshot` is the final filesystem.
pub fn export(
    root: &Path,
    kind: &Kind,
    manifest: &Digest,
    tags: &[String],
    snapshot: Option<&str>,
) -> Result<(), OutputError> {
    match kind {
        Kind::Image => Ok(()),
        Kind::Archive(format, dest) => archive(root, *format, dest, manifest, tags),
        Kind::Tar(dest) => {
            let temp = dest.with_extension(format!("tmp-{}", std::process::id()));
            let result = with_view(root, snapshot, |tree| write_tar(tree, &temp)).and_then(|()| {
                std::fs::rename(&temp, dest).map_err(io_err("--output: write", dest))
            });
            if result.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            result
        }
        Kind::Local(dest) => {
            std::fs::create_dir_all(dest).map_err(io_err("--output: create", dest))?;
            let temp = root.join(format!("builder/tmp/local-{}.tar", std::process::id()));
            let result = with_view(root, snapshot, |tree| write_tar(tree, &temp)).and_then(|()| {
                let file = File::open(&temp).map_err(io_err("open", &temp))?;
                kiln_snapshotter::apply(std::io::BufReader::new(file), dest)
                    .map_err(tree_err(format!("--output: write {}", dest.display())))?;
                Ok(())
            });
            let _ = std::fs::remove_file(&temp);
            result
        }
    }
}

/// Saves the image as an archive at `dest`, under its tags (or a temporary
/// tag, removed afterwards, when it has none).
fn archive(
    root: &Path,
    format: ArchiveFormat,
    dest: &Path,
    manifest: &Digest,
    tags: &[String],
) -> Result<(), OutputError> {
    let temporary = tags
        .is_empty()
        .then(|| format!("kiln-build-output:{}", std::process::id()));
    let names: Vec<String> = match &temporary {
        Some(t) => vec![t.clone()],
        None => tags.to_vec(),
    };
    let content = ContentStore::new(root)?;
    let index = ImageIndex::new(root)?;
    if let Some(t) = &temporary {
        index.tag(&Reference::parse(t)?, manifest)?;
    }
    let references = names
        .iter()
        .map(|n| Reference::parse(n))
        .collect::<Result<Vec<_>, _>>();
    let result = references
        .map_err(OutputError::from)
        .and_then(|references| {
            save_file(&content, &index, &references, format, dest).map_err(|source| {
                OutputError::Archive {
                    path: dest.to_path_buf(),
                    source,
                }
            })
        });
    if let Some(t) = &temporary {
        index.untag(&Reference::parse(t)?)?;
    }
    result
}

/// Writes the tree at `tree` as a plain tar to `dest`.
fn write_tar(tree: &Path, dest: &Path) -> Result<(), OutputError> {
    let file = File::create(dest).map_err(io_err("--output: create", dest))?;
    let mut out = BufWriter::new(file);
    let options = DiffOptions {
        compression: Compression::None,
        source_date_epoch: None,
    };
    kiln_snapshotter::diff_trees(None, tree, &mut out, &options)
        .map_err(tree_err(format!("--output: tar {}", tree.display())))?;
    let written = out.flush().map_err(io_err("--output: write", dest));
    written?;
    let file = out
        .into_inner()
        .map_err(|e| io_err("--output: write", dest)(e.into_error()))?;
    file.sync_all().map_err(io_err("--output: write", dest))
}

/// Mounts a read-only view of `snapshot` (`None`: empty) for `f`.
fn with_view<T>(
    root: &Path,
    snapshot: Option<&str>,
    f: impl FnOnce(&Path) -> Result<T, OutputError>,
) -> Result<T, OutputError> {
    let snapshotter = kiln_runtime::rootfs::open_snapshotter(root, None)
        .map_err(tree_err("snapshotter".to_string()))?;
    let key = format!("build-output-{}", std::process::id());
    let dir = root.join("builder/tmp").join(&key);
    std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let mounts = snapshotter
        .view(&key, snapshot)
        .map_err(tree_err("--output: view of the result".to_string()))?;
    let result = mount::mount_all(&mounts, &dir)
        .map_err(tree_err(format!("--output: mount {}", dir.display())))
        .and_then(|()| {
            let r = f(&dir);
            let unmounted =
                mount::unmount_all(&dir, false).or_else(|_| mount::unmount_all(&dir, true));
            r.and_then(|v| {
                unmounted
                    .map(|()| v)
                    .map_err(tree_err(format!("unmount {}", dir.display())))
            })
        });
    let _ = snapshotter.remove(&key);
    let _ = std::fs::remove_dir(&dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> Result<OutputSpec, OutputError> {
        parse(&[spec.to_string()])
    }

    #[test]
    fn buildx_spellings_parse() {
        assert!(matches!(parse(&[]).unwrap().kind, Kind::Image));
        assert!(matches!(one("out").unwrap().kind, Kind::Local(p) if p == Path::new("out")));
        assert!(matches!(
            one("type=oci,dest=a.tar").unwrap().kind,
            Kind::Archive(ArchiveFormat::Oci, p) if p == Path::new("a.tar")
        ));
        assert!(matches!(
            one("type=docker,dest=a.tar,name=x").unwrap().kind,
            Kind::Archive(ArchiveFormat::Docker, _)
        ));
        assert!(matches!(
            one("type=tar,dest=fs.tar").unwrap().kind,
            Kind::Tar(_)
        ));
        let zstd = one("type=image,compression=zstd").unwrap();
        assert!(matches!(
            (zstd.kind, zstd.compression),
            (Kind::Image, Compression::Zstd)
        ));
    }

    #[test]
    fn bad_values_name_the_flag_and_value() {
        let cases = [
            ("type=oci", "--output \"type=oci\": type=oci needs dest=PATH (a file or directory, not -)"),
            ("type=tar,dest=-", "--output \"type=tar,dest=-\": type=tar needs dest=PATH (a file or directory, not -)"),
            ("type=x,dest=a", "--output \"type=x,dest=a\": unknown type \"x\" (use image, oci, docker, tar or local)"),
            ("dest=a", "--output \"dest=a\": no type= given"),
            ("type=image,foo=1", "--output \"type=image,foo=1\": unexpected \"foo=1\""),
            ("type=image,compression=lz4", "--output \"type=image,compression=lz4\": compression must be gzip, zstd or uncompressed"),
        ];
        for (spec, message) in cases {
            assert_eq!(one(spec).err().unwrap().to_string(), message, "{spec}");
        }
        let two = parse(&["a".into(), "b".into()]).err().unwrap();
        assert_eq!(
            two.to_string(),
            "--output: only one output is supported, got 2"
        );
    }
}
