//! Staging: one pass over an archive (tar stream or layout directory) that
//! puts every blob-like member into the content store and keeps the small
//! JSON members in memory, so the archive can then be interpreted whatever
//! the order of its members (`docker save` writes `manifest.json` last).
//!
//! Members under `blobs/<alg>/<hex>` are ingested with the digest their name
//! claims, so a tampered blob fails here with an error naming it. Other big
//! members (classic `<id>/layer.tar`) are ingested unverified and checked
//! later against the config's diff_ids. Blobs ingested before a failure stay in
//! the store (content-addressed, unreferenced, harmless); the image index is
//! only touched after everything checked out.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Component, Path};

use flate2::read::MultiGzDecoder;

use super::error::{ArchiveError, ArchiveResult};
use super::layer::sniff;
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::media::Compression;

/// Small members larger than this are refused (they are read into memory).
const SMALL_MAX: u64 = 16 << 20;
/// How many symlink hops [`Staged::resolve`] follows.
const MAX_LINKS: usize = 16;

/// What a staged member turned into.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    /// Ingested into the content store.
    Blob(Digest, u64),
    /// Kept in memory (JSON documents and other small files).
    Small(Vec<u8>),
    /// A symlink or hard link to another member (path relative to the archive root).
    Link(String),
}

/// Every member of an archive, by normalised path (`a/b`, no `./`).
#[derive(Debug, Default)]
pub(crate) struct Staged {
    members: BTreeMap<String, Member>,
}

impl Staged {
    /// Whether a member with this path (after following links) exists.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// The member at `name`, links followed; `MissingMember` if absent.
    pub(crate) fn resolve(&self, name: &str) -> ArchiveResult<&Member> {
        let mut name = normalize(name).unwrap_or_default();
        for _ in 0..MAX_LINKS {
            match self.members.get(&name) {
                Some(Member::Link(target)) => name = target.clone(),
                Some(member) => return Ok(member),
                None => break,
            }
        }
        Err(ArchiveError::MissingMember { member: name })
    }

    /// The bytes of a member (small ones from memory, blobs from the store).
    pub(crate) fn read(&self, store: &ContentStore, name: &str) -> ArchiveResult<Vec<u8>> {
        match self.resolve(name)? {
            Member::Small(bytes) => Ok(bytes.clone()),
            Member::Blob(digest, _) => Ok(store.read_bytes(digest)?),
            Member::Link(_) => unreachable!("resolve follows links"),
        }
    }

    /// Reads and decodes a JSON member.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        store: &ContentStore,
        name: &str,
    ) -> ArchiveResult<T> {
        let bytes = self.read(store, name)?;
        serde_json::from_slice(&bytes).map_err(ArchiveError::json(name))
    }

    /// Ingests one regular-file member read from `reader`.
    fn add_file<R: Read>(
        &mut self,
        store: &ContentStore,
        name: String,
        size: u64,
        mut reader: R,
    ) -> ArchiveResult<()> {
        let member = if is_small(&name) {
            if size > SMALL_MAX {
                return Err(ArchiveError::invalid(
                    &name,
                    "JSON member larger than 16 MiB",
                ));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            reader.read_to_end(&mut bytes).map_err(read_err(&name))?;
            Member::Small(bytes)
        } else {
            let expected = blob_name_digest(&name);
            let (digest, size) = store
                .ingest(reader, expected.as_ref())
                .map_err(|e| ingest_error(&name, e))?;
            Member::Blob(digest, size)
        };
        self.members.insert(name, member);
        Ok(())
    }

    /// Records a link member; `target` is relative to the archive root.
    fn add_link(&mut self, name: String, target: String) {
        self.members.insert(name, Member::Link(target));
    }
}

/// Stages every member of a tar stream (plain or gzip, sniffed).
pub(crate) fn stage_tar<R: Read>(store: &ContentStore, reader: R) -> ArchiveResult<Staged> {
    let mut reader = BufReader::new(reader);
    let compression = sniff(&mut reader).map_err(read_err_none)?;
    match compression {
        Compression::Gzip => stage_plain_tar(store, MultiGzDecoder::new(reader)),
        _ => stage_plain_tar(store, reader),
    }
}

/// Stages the members of an uncompressed tar stream.
fn stage_plain_tar<R: Read>(store: &ContentStore, reader: R) -> ArchiveResult<Staged> {
    let mut staged = Staged::default();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(read_err_none)? {
        let entry = entry.map_err(read_err_none)?;
        let raw = entry.path().map_err(read_err_none)?.into_owned();
        let name = normalize(&raw.to_string_lossy())
            .ok_or_else(|| ArchiveError::invalid(raw.display().to_string(), "unsafe path"))?;
        let kind = entry.header().entry_type();
        if kind.is_file() {
            let size = entry.header().size().map_err(read_err(&name))?;
            staged.add_file(store, name, size, entry)?;
        } else if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(read_err(&name))?
                .unwrap_or_default();
            let target = target.to_string_lossy();
            let resolved = if kind.is_symlink() {
                resolve_relative(&name, &target)
            } else {
                normalize(&target)
            };
            let resolved = resolved.ok_or_else(|| ArchiveError::invalid(&name, "unsafe link"))?;
            staged.add_link(name, resolved);
        }
    }
    Ok(staged)
}

/// Stages the files of an OCI layout (or unpacked docker-archive) directory.
pub(crate) fn stage_dir(store: &ContentStore, dir: &Path) -> ArchiveResult<Staged> {
    let mut staged = Staged::default();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let path = dir.join(&rel);
        let entries = fs::read_dir(&path).map_err(|e| ImageError::io("list", &path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ImageError::io("list", &path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_name = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let full = entry.path();
            let meta = fs::metadata(&full).map_err(|e| ImageError::io("stat", &full, e))?;
            if meta.is_dir() {
                pending.push(rel_name);
            } else if meta.is_file() {
                let file = File::open(&full).map_err(|e| ImageError::io("open", &full, e))?;
                staged.add_file(store, rel_name, meta.len(), file)?;
            }
        }
    }
    Ok(staged)
}

/// Normalises a member path: drops `.` and empty components; `None` if it is
/// absolute-escaping (`..` above the root).
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(c) => parts.push(c.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

/// Resolves a symlink target relative to the directory of `link`.
fn resolve_relative(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return normalize(target);
    }
    let dir = link.rsplit_once('/').map_or("", |(d, _)| d);
    normalize(&format!("{dir}/{target}"))
}

/// Whether a member is kept in memory rather than ingested as a blob.
fn is_small(name: &str) -> bool {
    if name.starts_with("blobs/") {
        return false;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    base.ends_with(".json") || matches!(base, "repositories" | "oci-layout" | "VERSION" | "json")
}

/// The digest a `blobs/sha256/<hex>` member name claims, if it is one.
pub(crate) fn blob_name_digest(name: &str) -> Option<Digest> {
    name.strip_prefix("blobs/sha256/")
        .and_then(|hex| Digest::from_hex(hex).ok())
}

/// Maps an ingest failure to an error naming the member.
fn ingest_error(member: &str, e: ImageError) -> ArchiveError {
    match e {
        ImageError::DigestMismatch {
            expected, actual, ..
        } => ArchiveError::MemberDigest {
            member: member.to_string(),
            expected,
            actual,
        },
        ImageError::IngestRead { source, .. } => ArchiveError::Read {
            member: Some(member.to_string()),
            source,
        },
        other => other.into(),
    }
}

/// A read error inside `member`.
fn read_err(member: &str) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let member = Some(member.to_string());
    move |source| ArchiveError::Read { member, source }
}

/// A read error not tied to one member (tar headers, gzip stream).
fn read_err_none(source: std::io::Error) -> ArchiveError {
    ArchiveError::Read {
        member: None,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./a/b").as_deref(), Some("a/b"));
        assert_eq!(normalize("/a//b/").as_deref(), Some("a/b"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("./").as_deref(), Some(""));
    }

    #[test]
    fn links_resolve_relative_to_their_directory() {
        assert_eq!(
            resolve_relative("abc/layer.tar", "../def/layer.tar").as_deref(),
            Some("def/layer.tar")
        );
        assert_eq!(
            resolve_relative("x", "/blobs/y").as_deref(),
            Some("blobs/y")
        );
        assert_eq!(resolve_relative("a/x", "../../y"), None);
    }

    #[test]
    fn small_members_and_blob_names() {
        assert!(is_small("manifest.json") && is_small("abc/json") && is_small("oci-layout"));
        assert!(!is_small("abc/layer.tar") && !is_small("blobs/sha256/x.json"));
        let d = Digest::of(b"x");
        assert_eq!(
            blob_name_digest(&format!("blobs/sha256/{}", d.hex())),
            Some(d)
        );
        assert_eq!(blob_name_digest("blobs/sha512/ab"), None);
    }

    #[test]
    fn link_cycles_are_missing_members() {
        let mut staged = Staged::default();
        staged.add_link("a".into(), "b".into());
        staged.add_link("b".into(), "a".into());
        assert!(matches!(
            staged.resolve("a"),
            Err(ArchiveError::MissingMember { .. })
        ));
    }
}
