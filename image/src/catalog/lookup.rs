//! Finding an image by what a user typed: a reference in the index, an image
//! ID (`sha256:` optional) or a unique ID prefix of at least 4 hex digits, as
//! Docker's image store resolves `docker rmi`/`inspect`/`run` arguments.

use super::{all_images, Image};
use crate::error::{ImageError, Result};
use crate::{ContentStore, Digest, ImageIndex, Reference};

/// How an image argument was matched.
pub enum Found {
    /// By a reference that is in the index.
    Name(Reference, Box<Image>),
    /// By (a prefix of) its ID: every manifest with that config.
    Id(Vec<Image>),
}

/// Finds `arg`: a reference in the index, or an image ID (`sha256:` optional)
/// or a unique prefix of at least 4 hex digits. Fails with
/// [`ImageError::NoSuchImage`] or [`ImageError::AmbiguousImageId`].
pub fn find(content: &ContentStore, index: &ImageIndex, arg: &str) -> Result<Found> {
    if let Ok(reference) = Reference::parse(arg) {
        if let Some(record) = index.get(&reference)? {
            let image = all_images(content, index)?
                .into_iter()
                .find(|i| i.manifest == record.digest);
            if let Some(image) = image {
                return Ok(Found::Name(reference, Box::new(image)));
            }
        }
    }
    let hex = arg.strip_prefix("sha256:").unwrap_or(arg);
    if hex.len() >= 4 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_lowercase();
        let matches: Vec<Image> = all_images(content, index)?
            .into_iter()
            .filter(|i| i.id.hex().starts_with(&hex))
            .collect();
        let mut ids: Vec<&Digest> = matches.iter().map(|i| &i.id).collect();
        ids.dedup();
        if ids.len() > 1 {
            return Err(ImageError::AmbiguousImageId {
                prefix: arg.to_string(),
                count: ids.len(),
            });
        }
        if !matches.is_empty() {
            return Ok(Found::Id(matches));
        }
    }
    Err(ImageError::NoSuchImage {
        name: arg.to_string(),
    })
}

/// Finds `arg` and returns one image (the first manifest for an ID).
pub fn find_one(content: &ContentStore, index: &ImageIndex, arg: &str) -> Result<Image> {
    match find(content, index, arg)? {
        Found::Name(_, image) => Ok(*image),
        Found::Id(mut images) => Ok(images.remove(0)),
    }
}

/// The image `run`/`create` use for `arg`: a reference in the index (fast
/// path: one lookup, the host platform's manifest), else an image ID or
/// prefix. Anything else is [`ImageError::NotFoundLocally`] (Docker would
/// pull; kiln has no registry client yet).
pub fn resolve_local(content: &ContentStore, index: &ImageIndex, arg: &str) -> Result<Image> {
    if let Ok(reference) = Reference::parse(arg) {
        if let Some(record) = index.get(&reference)? {
            return Image::read(content, record.digest);
        }
    }
    find_one(content, index, arg).map_err(|_| ImageError::NotFoundLocally {
        reference: Reference::parse(arg)
            .map(|r| r.to_string())
            .unwrap_or_else(|_| arg.to_string()),
    })
}
