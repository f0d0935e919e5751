//! The records that keep untagged images findable (see the module docs of
//! [`crate::catalog`]): `kiln.invalid/untagged@<manifest digest>`.

use crate::error::Result;
use crate::index::{ImageRecord, Images};
use crate::{Digest, ImageIndex, Reference};

/// Repository name of the records that keep untagged images.
pub const UNTAGGED_NAME: &str = "kiln.invalid/untagged";

/// Whether `reference` is a record that only keeps an untagged image.
pub fn is_untagged(reference: &Reference) -> bool {
    reference.name() == UNTAGGED_NAME
}

/// The marker record key for the untagged image `manifest`.
pub fn untagged_reference(manifest: &Digest) -> Result<Reference> {
    Reference::parse(&format!("{UNTAGGED_NAME}@{manifest}"))
}

/// Keeps `manifest` findable if no record points at it any more.
pub fn keep_if_orphaned(index: &ImageIndex, manifest: &Digest) -> Result<()> {
    let marker = untagged_reference(manifest)?;
    let now = crate::time::now().0;
    index.update(|images| {
        if !images.values().any(|r| r.digest == *manifest) {
            let record = ImageRecord {
                digest: *manifest,
                created: now,
            };
            images.insert(marker, record);
        }
    })
}

/// Points `reference` at `manifest` (dropping its untagged marker) and keeps
/// the image the reference pointed to before if that leaves it nameless.
pub fn tag_image(index: &ImageIndex, reference: &Reference, manifest: &Digest) -> Result<()> {
    let marker = untagged_reference(manifest)?;
    let now = crate::time::now().0;
    let previous = index.update(|images: &mut Images| {
        images.remove(&marker);
        let previous = images.get(reference).map(|r| r.digest);
        if previous != Some(*manifest) {
            let record = ImageRecord {
                digest: *manifest,
                created: now,
            };
            images.insert(reference.clone(), record);
        }
        previous
    })?;
    match previous {
        Some(old) if old != *manifest => keep_if_orphaned(index, &old),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_recognised_and_real_names_are_not() {
        let digest: Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
        let marker = untagged_reference(&digest).unwrap();
        assert!(is_untagged(&marker));
        assert!(!is_untagged(&Reference::parse("busybox:latest").unwrap()));
    }
}
