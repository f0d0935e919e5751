//! Removing images as Docker does (`rmi`, `image prune`), for the CLI and a
//! Compose engine's `down --rmi`: names, then blobs, then the unpacked
//! snapshots nothing uses any more. It lives here because it needs all three
//! stores: images (`kiln-image`), the containers that use them
//! (`kiln-runtime`) and the snapshot sweep ([`crate::snapshot_gc`]).
//!
//! [`remove`] of a name removes that tag; of an ID (full or a unique prefix
//! of at least 4 hex digits) every tag of the image, and needs `force` when
//! there is more than one. When no record names the image any more, its
//! blobs (manifest, config, layers) that no other image uses are deleted
//! ([`kiln_image::gc::remove_unreferenced`], under the index lock).
//!
//! As Docker, it refuses to remove an image a container (running or not)
//! uses: removing its last name needs `force`, removing it by ID needs
//! `force` when only stopped containers use it and is refused even with
//! `force` when a running one does. A forced removal only drops the names:
//! the blobs of an image a container still uses are kept for it.
//!
//! [`prune`] removes dangling images; with `all` every image no container
//! uses; images of containers are always kept. It then sweeps blobs no image
//! references that are older than [`kiln_image::gc::DEFAULT_GRACE`]
//! (leftovers of failed loads), partial ingests, and the snapshots nothing
//! uses; the total counts all of them.

use std::collections::BTreeSet;
use std::path::Path;

use kiln_image::catalog::{find, is_untagged, Found, Image, Stores};
use kiln_image::gc::{self, GcOptions, GcReport};
use kiln_image::{Digest, ImageError, Reference};
use kiln_runtime::container::{short_id, ContainerError, ContainerStore};
use kiln_runtime::lifecycle;

/// Why an image was not removed, in Docker's words.
#[derive(Debug, thiserror::Error)]
pub enum ImageRemoveError {
    /// The image store failed, or the argument names no image.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The container store could not be read.
    #[error(transparent)]
    Containers(#[from] ContainerError),
    /// The last name of an image a container uses, without `force`.
    #[error("conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {image}", short_id(.container))]
    NameInUse {
        /// The name as given.
        name: String,
        /// The container.
        container: String,
        /// The image's short ID.
        image: String,
    },
    /// An image a running container uses, by ID.
    #[error("conflict: unable to delete {image} (cannot be forced) - image is being used by running container {}", short_id(.container))]
    UsedByRunning {
        /// The image's short ID.
        image: String,
        /// The container.
        container: String,
    },
    /// An image a stopped container uses, by ID, without `force`.
    #[error("conflict: unable to delete {image} (must be forced) - image is being used by stopped container {}", short_id(.container))]
    UsedByStopped {
        /// The image's short ID.
        image: String,
        /// The container.
        container: String,
    },
    /// An image with several names, by ID, without `force`.
    #[error("conflict: unable to delete {image} (must be forced) - image is referenced in multiple repositories")]
    SeveralNames {
        /// The image's short ID.
        image: String,
    },
    /// The snapshot sweep failed.
    #[error("{0}")]
    Snapshots(String),
}

/// One thing a removal did, in the order Docker reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// A name was removed.
    Untagged(Reference),
    /// A blob (the image's config first, then its layers) was deleted.
    Deleted(Digest),
}

/// A container's hold on an image.
#[derive(Debug, Clone)]
pub struct ImageUser {
    /// Container ID.
    pub id: String,
    /// Its process may be alive (running, paused, restarting).
    pub running: bool,
    /// `record.image_id` (the config digest).
    pub image_id: String,
    /// `record.manifest` (the manifest digest).
    pub manifest: String,
}

impl ImageUser {
    /// Whether this container uses `image`.
    pub fn uses(&self, image: &Image) -> bool {
        self.image_id == image.id.to_string() || self.manifest == image.manifest.to_string()
    }
}

/// Every container of the root and the image it uses (states reconciled).
pub fn image_users(root: &Path) -> Result<Vec<ImageUser>, ContainerError> {
    let store = ContainerStore::open(root)?;
    let mut out = Vec::new();
    for mut c in store.list()? {
        lifecycle::reconcile(&store, &mut c);
        out.push(ImageUser {
            id: c.record.id.clone(),
            running: c.state.status.is_active(),
            image_id: c.record.image_id.clone(),
            manifest: c.record.manifest.clone(),
        });
    }
    Ok(out)
}

/// Removes the image argument `arg` (a name or ID) under Docker's rules
/// against `users`; the blobs go, the snapshots are left to
/// [`collect_snapshots`] (once for several removals).
pub fn remove(
    stores: &Stores,
    arg: &str,
    force: bool,
    users: &[ImageUser],
) -> Result<Vec<Removal>, ImageRemoveError> {
    let mut done = Vec::new();
    let images = match find(&stores.content, &stores.index, arg)? {
        Found::Name(reference, image) => {
            if image.references.len() <= 1 && !force {
                if let Some(user) = users.iter().find(|u| u.uses(&image)) {
                    return Err(ImageRemoveError::NameInUse {
                        name: arg.into(),
                        container: user.id.clone(),
                        image: image.short_id(),
                    });
                }
            }
            stores.index.untag(&reference)?;
            if !is_untagged(&reference) {
                done.push(Removal::Untagged(reference));
            }
            vec![*image]
        }
        Found::Id(images) => {
            check_id_removal(&images, force, users)?;
            let manifests: BTreeSet<Digest> = images.iter().map(|i| i.manifest).collect();
            stores
                .index
                .update(|all| all.retain(|_, r| !manifests.contains(&r.digest)))?;
            let named = images.iter().flat_map(|i| &i.references);
            done.extend(named.map(|r| Removal::Untagged(r.clone())));
            images
        }
    };
    // Blobs of an image a container still uses stay (forced removal).
    let roots: Vec<Digest> = images
        .iter()
        .filter(|i| !users.iter().any(|u| u.uses(i)))
        .map(|i| i.manifest)
        .collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    done.extend(deleted(&images, &report));
    Ok(done)
}

/// Docker's conflicts for a removal by ID.
fn check_id_removal(
    images: &[Image],
    force: bool,
    users: &[ImageUser],
) -> Result<(), ImageRemoveError> {
    for image in images {
        if let Some(user) = users.iter().find(|u| u.uses(image) && u.running) {
            return Err(ImageRemoveError::UsedByRunning {
                image: image.short_id(),
                container: user.id.clone(),
            });
        }
        match users.iter().find(|u| u.uses(image)) {
            Some(user) if !force => {
                return Err(ImageRemoveError::UsedByStopped {
                    image: image.short_id(),
                    container: user.id.clone(),
                })
            }
            _ => {}
        }
    }
    let named = images.iter().flat_map(|i| &i.references).count();
    if named > 1 && !force {
        return Err(ImageRemoveError::SeveralNames {
            image: images[0].short_id(),
        });
    }
    Ok(())
}

/// The deleted image IDs first, then the other deleted blobs but manifests,
/// as Docker reports them.
fn deleted(images: &[Image], report: &GcReport) -> Vec<Removal> {
    let ids: BTreeSet<Digest> = images.iter().map(|i| i.id).collect();
    let manifests: BTreeSet<Digest> = images.iter().map(|i| i.manifest).collect();
    let firsts = ids.iter().filter(|d| report.deleted.contains(d));
    let layers = report
        .deleted
        .iter()
        .filter(|d| !ids.contains(d) && !manifests.contains(d));
    firsts.chain(layers).map(|d| Removal::Deleted(*d)).collect()
}

/// Removes the snapshots nothing uses any more (after removals); the bytes
/// reclaimed.
pub fn collect_snapshots(root: &Path) -> Result<u64, ImageRemoveError> {
    crate::snapshot_gc::collect(root)
        .map(|c| c.reclaimed)
        .map_err(|e| ImageRemoveError::Snapshots(e.to_string()))
}

/// What [`prune`] did.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Names removed and blobs deleted, in Docker's order.
    pub removals: Vec<Removal>,
    /// Bytes reclaimed: blobs of removed images, old unreferenced blobs and
    /// unused snapshots.
    pub reclaimed: u64,
}

/// `image prune`: removes the untagged images (every image with `all`)
/// that no container uses, then sweeps leftovers (see the module docs).
pub fn prune(root: &Path, all: bool) -> Result<Pruned, ImageRemoveError> {
    let stores = Stores::open(root)?;
    let used: BTreeSet<String> = image_users(root)?.into_iter().map(|u| u.manifest).collect();
    let removed = drop_records(&stores, all, &used)?;
    let roots: BTreeSet<Digest> = removed.iter().map(|(_, d)| *d).collect();
    let images = roots
        .iter()
        .map(|d| Image::read(&stores.content, *d))
        .collect::<Result<Vec<_>, _>>()?;
    let roots: Vec<Digest> = roots.into_iter().collect();
    let report = gc::remove_unreferenced(&stores.content, &stores.index, &roots)?;
    let leftovers = gc::collect(&stores.content, &stores.index, &GcOptions::default())?;
    // Partial blobs left by killed ingests; same 10-minute grace as the blob sweep.
    stores.content.gc_ingest(GcOptions::default().grace)?;
    let snapshots = collect_snapshots(root)?;
    let mut removals: Vec<Removal> = removed
        .into_iter()
        .filter(|(r, _)| !is_untagged(r))
        .map(|(r, _)| Removal::Untagged(r))
        .collect();
    removals.extend(deleted(&images, &report));
    Ok(Pruned {
        removals,
        reclaimed: report.reclaimed + leftovers.reclaimed + snapshots,
    })
}

/// Removes the untagged records (all records with `all`) in one index
/// update, keeping those of images containers use (`used` manifests);
/// returns what was removed.
fn drop_records(
    stores: &Stores,
    all: bool,
    used: &BTreeSet<String>,
) -> Result<Vec<(Reference, Digest)>, ImageError> {
    stores.index.update(|images| {
        let mut removed = Vec::new();
        images.retain(|reference, record| {
            let remove =
                (all || is_untagged(reference)) && !used.contains(&record.digest.to_string());
            if remove {
                removed.push((reference.clone(), record.digest));
            }
            !remove
        });
        removed
    })
}
