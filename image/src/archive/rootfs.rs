//! `import_rootfs`: an image of one layer from a root filesystem tar, like
//! `docker import FILE` (no changes, no message).

use std::io::{BufReader, Read};
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::read::{GzEncoder, MultiGzDecoder};

use super::error::{ArchiveError, ArchiveResult};
use super::layer::{sniff, zstd_reader, HashingReader};
use super::load_docker::{plain_desc, write_manifest};
use super::rootfs_check::checked;
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::index::ImageIndex;
use crate::media::{self, Compression};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::time::format_rfc3339;

/// Options of [`import_rootfs_with`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// How the layer blob is stored (gzip or none; zstd is refused: kiln-image
    /// has no zstd encoder).
    pub compression: Compression,
    /// The image config's `config` object (`Env`, `Cmd`, `WorkingDir`, ...),
    /// like `docker import --change`; empty by default, as docker writes.
    pub config: serde_json::Map<String, serde_json::Value>,
}

impl Default for ImportOptions {
    /// A gzip layer and an empty `config`.
    fn default() -> Self {
        ImportOptions {
            compression: Compression::Gzip,
            config: serde_json::Map::new(),
        }
    }
}

/// Imports the root filesystem tar read from `rootfs` (plain, gzip or zstd,
/// sniffed) as a one-layer image and tags it `reference`; returns the
/// manifest digest. Same as [`import_rootfs_with`] with an empty `config`.
pub fn import_rootfs<R: Read + Send>(
    store: &ContentStore,
    index: &ImageIndex,
    rootfs: R,
    reference: &Reference,
    compression: Compression,
) -> ArchiveResult<Digest> {
    let options = ImportOptions {
        compression,
        ..ImportOptions::default()
    };
    import_rootfs_with(store, index, rootfs, reference, &options)
}

/// Imports a rootfs tar as a one-layer image, like `docker import FILE`.
///
/// Entries that could never be applied, and empty input, fail the import
/// (see `rootfs_check`) before anything is tagged.
///
/// The input may be plain, gzip or zstd (sniffed by magic bytes).
/// The layer is stored with `options.compression` (gzip level 6 with a fixed
/// header, so the same input always gives the same blob; or uncompressed).
/// Its diff_id is computed while streaming: the input is read once and never
/// held in memory. The config has the host's os/architecture, the diff_id,
/// `options.config` and one history entry `"Imported from -"`, as docker
/// writes; `created` is `$SOURCE_DATE_EPOCH` if set, else now. Blobs are all
/// stored before `reference` is tagged.
pub fn import_rootfs_with<R: Read + Send>(
    store: &ContentStore,
    index: &ImageIndex,
    rootfs: R,
    reference: &Reference,
    options: &ImportOptions,
) -> ArchiveResult<Digest> {
    let compression = options.compression;
    let mut input = BufReader::new(rootfs);
    let input_compression = sniff(&mut input).map_err(|source| ArchiveError::Read {
        member: None,
        source,
    })?;
    let store_checked = |tar: &mut dyn Read| checked(tar, |t| store_layer(store, t, compression));
    let (layer, size, diff_id) = match input_compression {
        Compression::Gzip => store_checked(&mut MultiGzDecoder::new(input))?,
        Compression::Zstd => {
            let unsupported = || ArchiveError::invalid("-", "zstd input needs a zstd decoder");
            let tar = zstd_reader(Box::new(input)).ok_or_else(unsupported)?;
            let tar = tar.map_err(|source| ArchiveError::Read {
                member: None,
                source,
            })?;
            store_checked(&mut { tar })?
        }
        Compression::None => store_checked(&mut input)?,
    };
    let config = config_json(&diff_id, &options.config);
    let (config_digest, config_size) = store.ingest_bytes(&config, None)?;
    let layer = plain_desc(media::oci_layer_media_type(compression), layer, size);
    let config = plain_desc(media::OCI_CONFIG, config_digest, config_size);
    let digest = write_manifest(store, config, vec![layer])?;
    index.tag(reference, &digest)?;
    Ok(digest)
}

/// Stores the layer; returns (blob digest, blob size, diff_id).
fn store_layer<T: Read>(
    store: &ContentStore,
    tar: T,
    compression: Compression,
) -> ArchiveResult<(Digest, u64, Digest)> {
    let mut hashing = HashingReader::new(tar);
    match compression {
        Compression::None => {
            let (digest, size) = store.ingest(&mut hashing, None)?;
            Ok((digest, size, digest))
        }
        Compression::Gzip => {
            let mut gz = GzEncoder::new(&mut hashing, flate2::Compression::new(6));
            let (digest, size) = store.ingest(&mut gz, None)?;
            drop(gz);
            let (diff_id, uncompressed) = hashing.digest();
            store.remember_uncompressed(&digest, &diff_id, uncompressed);
            Ok((digest, size, diff_id))
        }
        Compression::Zstd => Err(ArchiveError::invalid(
            "-",
            "zstd layers are not supported by import_rootfs",
        )),
    }
}

/// The image config of an imported rootfs.
fn config_json(
    diff_id: &Digest,
    container: &serde_json::Map<String, serde_json::Value>,
) -> Vec<u8> {
    let host = Platform::host();
    let created = format_rfc3339(creation_time());
    let mut config = serde_json::json!({
        "architecture": host.architecture,
        "os": host.os,
        "created": created,
        "config": container,
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created": created, "comment": "Imported from -"}],
    });
    if let Some(variant) = host.variant {
        config["variant"] = variant.into();
    }
    serde_json::to_vec(&config).expect("configs always serialise")
}

/// `$SOURCE_DATE_EPOCH` if it is set to a number, else the current time.
fn creation_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}
