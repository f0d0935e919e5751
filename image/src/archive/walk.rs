//! The one walk of an OCI blob tree (index -> manifests -> config and
//! layers) that load and save share: each blob is visited once, however often
//! it is listed (a seen-set), children before parents, within the
//! [`Budget`]'s caps on nesting, descriptors and JSON bytes.
//!
//! Without the seen-set an index listing the same child index F times, L
//! levels deep, costs F^L visits: the red-team archive (F=100, L=4, 2 MB)
//! never finished loading. With it the walk is linear in the distinct blobs.
//!
//! A blob is "seen" per role: a digest listed as a layer (a leaf, only checked)
//! is still read and walked when it is also listed as a manifest or index, so
//! listing a manifest as a layer first cannot smuggle it past its checks.
//! Every listing of a seen blob must announce the same size.

use std::collections::BTreeMap;

use super::budget::{check_depth, Budget};
use super::docs::{Desc, IndexDoc, ManifestDoc};
use super::error::{ArchiveError, ArchiveResult};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::media;

/// Checks one descriptor before its blob is read (load: the blob is in the
/// store with the announced size); gets the descriptor and its member name.
pub(crate) type Check<'a> = &'a dyn Fn(&Desc, &str) -> ArchiveResult<()>;

/// A walk over one or more trees sharing a seen-set.
pub(crate) struct Walk<'a> {
    store: &'a ContentStore,
    budget: &'a Budget,
    check: Check<'a>,
    /// (digest, walked as a document) -> the size every listing must announce.
    seen: BTreeMap<(Digest, bool), u64>,
    /// Manifests met, in visit order (for checks that need the documents).
    manifests: Vec<(Desc, ManifestDoc)>,
}

impl<'a> Walk<'a> {
    /// A walk reading from `store`, accounting in `budget`, checking with `check`.
    pub(crate) fn new(store: &'a ContentStore, budget: &'a Budget, check: Check<'a>) -> Self {
        Walk {
            store,
            budget,
            check,
            seen: BTreeMap::new(),
            manifests: Vec::new(),
        }
    }

    /// Walks the tree under `root` (a manifest or an index); returns the
    /// descriptors of the blobs not seen before, children before parents.
    pub(crate) fn tree(&mut self, root: &Desc) -> ArchiveResult<Vec<Desc>> {
        let mut order = Vec::new();
        self.budget.descriptors(1)?;
        self.visit(root, 0, &mut order)?;
        Ok(order)
    }

    /// The budget the walk accounts in.
    pub(crate) fn budget(&self) -> &'a Budget {
        self.budget
    }

    /// The manifests met so far, each once, with their decoded documents.
    pub(crate) fn manifests(&self) -> &[(Desc, ManifestDoc)] {
        &self.manifests
    }

    /// Visits `desc` as a document when it is a manifest or index, else as a leaf.
    fn visit(&mut self, desc: &Desc, depth: usize, order: &mut Vec<Desc>) -> ArchiveResult<()> {
        let document = is_document(&desc.media_type);
        if !self.first_time(desc, document)? {
            return Ok(());
        }
        let member = blob_member(&desc.digest);
        (self.check)(desc, &member)?;
        if document {
            check_depth(depth)?;
        }
        if media::is_manifest(&desc.media_type) {
            let manifest: ManifestDoc = self.budget.read_blob(self.store, &desc.digest, &member)?;
            self.budget.descriptors(1 + manifest.layers.len())?;
            self.visit(&manifest.config, depth + 1, order)?;
            for layer in &manifest.layers {
                if !media::is_foreign_layer(&layer.media_type) {
                    self.visit(layer, depth + 1, order)?;
                }
            }
            self.manifests.push((desc.clone(), manifest));
        } else if media::is_index(&desc.media_type) {
            let index: IndexDoc = self.budget.read_blob(self.store, &desc.digest, &member)?;
            self.budget.descriptors(index.manifests.len())?;
            for child in &index.manifests {
                self.visit(child, depth + 1, order)?;
            }
        }
        order.push(desc.clone());
        Ok(())
    }

    /// Records `desc` in the seen-set; false if it was there already (after
    /// checking that this listing announces the same size).
    fn first_time(&mut self, desc: &Desc, document: bool) -> ArchiveResult<bool> {
        match self.seen.get(&(desc.digest, document)) {
            None => {
                self.seen.insert((desc.digest, document), desc.size);
                Ok(true)
            }
            Some(&size) if size == desc.size => Ok(false),
            Some(&size) => {
                let reason = format!("listed with sizes {size} and {}", desc.size);
                Err(ArchiveError::invalid(blob_member(&desc.digest), reason))
            }
        }
    }
}

/// Whether a media type names a document the walk reads (manifest or index).
fn is_document(media_type: &str) -> bool {
    media::is_manifest(media_type) || media::is_index(media_type)
}

/// The archive member name of a blob in an OCI layout.
pub(crate) fn blob_member(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}
