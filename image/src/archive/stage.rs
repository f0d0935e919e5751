//! Staging: one pass over an archive (tar stream or layout directory) that
//! puts every blob-like member into the content store and keeps only the
//! three top-level documents that say what the archive is (`manifest.json`,
//! `index.json`, `oci-layout`) in memory, so the archive can then be
//! interpreted whatever the order of its members (`docker save` writes
//! `manifest.json` last).
//!
//! Members under `blobs/<alg>/<hex>` are ingested with the digest their name
//! claims, as are `<hex>.json` configs, so a tampered blob fails here with an
//! error naming it. Other members (classic `<id>/layer.tar`, configs with
//! other names) are ingested unverified and checked later against the
//! config's diff_ids or the digest `manifest.json` gives. Legacy v1 members
//! (`repositories`, `<id>/json`, `<id>/VERSION`) are skipped: no loader since
//! docker 1.10 reads them. Memory use is bounded whatever the archive holds:
//! the kept documents count against the load's [`Budget`] (16 MiB each, 64 MiB
//! in all), tar header extensions (long names, pax records) are capped by
//! [`HeaderGuard`], and the number of members by [`MAX_MEMBERS`].
//! Blobs ingested before a failure stay in the store (content-addressed,
//! unreferenced, harmless); the image index is only touched after everything
//! checked out.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Component, Path};

use flate2::read::MultiGzDecoder;

use super::budget::Budget;
use super::error::{ArchiveError, ArchiveResult};
use super::guard::HeaderGuard;
use super::layer::sniff;
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::media::Compression;

/// How many members an archive may have (each costs a map entry).
const MAX_MEMBERS: u64 = 1_000_000;
/// The members kept in memory, at the archive's root (everything else is
/// streamed into the content store or skipped).
const DOCUMENTS: [&str; 3] = ["manifest.json", "index.json", "oci-layout"];
/// How many symlink hops [`Staged::resolve`] follows.
const MAX_LINKS: usize = 16;

/// What a staged member turned into.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    /// Ingested into the content store.
    Blob(Digest, u64),
    /// Kept in memory (one of [`DOCUMENTS`]).
    Small(Vec<u8>),
    /// A symlink or hard link to another member (path relative to the archive root).
    Link(String),
}

/// Every member of an archive, by normalised path (`a/b`, no `./`), and the
/// budget every later read of the archive's documents is accounted in.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    members: BTreeMap<String, Member>,
    budget: Budget,
}

impl Staged {
    /// The caps of this load (documents read so far are accounted in it).
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Whether a member with this path (after following links) exists.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// The member at `name`, links followed; `MissingMember` if absent,
    /// [`ArchiveError::UnsafePath`] if `name` is absolute or climbs out with `..`.
    pub(crate) fn resolve(&self, name: &str) -> ArchiveResult<&Member> {
        let unsafe_path = || ArchiveError::UnsafePath {
            path: name.to_string(),
        };
        if name.starts_with('/') {
            return Err(unsafe_path());
        }
        let mut name = normalize(name).ok_or_else(unsafe_path)?;
        for _ in 0..MAX_LINKS {
            match self.members.get(&name) {
                Some(Member::Link(target)) => name = target.clone(),
                Some(member) => return Ok(member),
                None => break,
            }
        }
        Err(ArchiveError::MissingMember { member: name })
    }

    /// The bytes of a JSON member (documents from memory, others from the
    /// store, accounted in the budget).
    pub(crate) fn read(&self, store: &ContentStore, name: &str) -> ArchiveResult<Vec<u8>> {
        match self.resolve(name)? {
            Member::Small(bytes) => Ok(bytes.clone()),
            Member::Blob(digest, _) => self.budget.read_blob_bytes(store, digest, name),
            Member::Link(_) => Err(ArchiveError::MissingMember {
                member: name.to_string(),
            }),
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
        reader: R,
    ) -> ArchiveResult<()> {
        if is_legacy(&name) {
            return Ok(());
        }
        let member = if DOCUMENTS.contains(&name.as_str()) {
            self.budget.json(&name, size)?;
            let mut bytes = Vec::with_capacity(size as usize);
            reader
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(read_err(&name))?;
            Member::Small(bytes)
        } else {
            let expected = blob_name_digest(&name).or_else(|| config_name_digest(&name));
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

    /// Fails once the archive has more than [`MAX_MEMBERS`] members.
    fn count(&self) -> ArchiveResult<()> {
        if self.members.len() as u64 >= MAX_MEMBERS {
            return Err(ArchiveError::limit("archive members", MAX_MEMBERS));
        }
        Ok(())
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
    let (guarded, guard) = HeaderGuard::new(reader);
    let mut archive = tar::Archive::new(guarded);
    let mut entries = archive.entries().map_err(read_err_none)?;
    loop {
        guard.arm();
        let Some(entry) = entries.next() else { break };
        let entry = entry.map_err(|e| header_err(&guard, e))?;
        guard.disarm(&entry);
        staged.count()?;
        let raw = entry.path().map_err(read_err_none)?.into_owned();
        let raw = raw.to_string_lossy();
        let name = normalize(&raw).ok_or_else(|| ArchiveError::UnsafePath {
            path: raw.to_string(),
        })?;
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
            let resolved = resolved.ok_or_else(|| ArchiveError::UnsafePath {
                path: format!("{name} -> {target}"),
            })?;
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
                staged.count()?;
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

/// Whether a member is a legacy (v1) docker-archive file no loader reads:
/// `repositories`, `<id>/json`, `<id>/VERSION`.
fn is_legacy(name: &str) -> bool {
    if name.starts_with("blobs/") {
        return false;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    name == "repositories" || (name.contains('/') && matches!(base, "json" | "VERSION"))
}

/// The digest a `<hex>.json` config member name claims, if it is one.
fn config_name_digest(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.strip_suffix(".json")
        .and_then(|hex| Digest::from_hex(hex).ok())
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

/// A failure finding the next tar entry: the header guard's cap when it
/// tripped, else a read error.
fn header_err(guard: &HeaderGuard, e: std::io::Error) -> ArchiveError {
    if guard.tripped() {
        return ArchiveError::limit(
            "bytes of tar header extensions per member",
            super::guard::MAX_EXTENSIONS,
        );
    }
    read_err_none(e)
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
    fn legacy_members_and_blob_names() {
        assert!(is_legacy("repositories") && is_legacy("abc/json") && is_legacy("abc/VERSION"));
        assert!(!is_legacy("abc/layer.tar") && !is_legacy("blobs/sha256/json"));
        assert!(!is_legacy("json") && !is_legacy("manifest.json"));
        let d = Digest::of(b"x");
        assert_eq!(
            blob_name_digest(&format!("blobs/sha256/{}", d.hex())),
            Some(d)
        );
        assert_eq!(blob_name_digest("blobs/sha512/ab"), None);
        assert_eq!(config_name_digest(&format!("{}.json", d.hex())), Some(d));
        assert_eq!(config_name_digest("config.json"), None);
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

    #[test]
    fn unsafe_names_say_so() {
        let staged = Staged::default();
        for name in ["../../x/layer.tar", "/abc/layer.tar", "a/../../b"] {
            let err = staged.resolve(name).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("archive path {name} is unsafe: it is absolute or leaves the archive")
            );
        }
    }
}
