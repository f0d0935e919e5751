//! The persistent build cache: `<root>/builder/cache/<key hex>.json` holds
//! the [`RootFs`] a vertex produced (committed snapshot name, its layers:
//! base image blobs and built snapshots), written atomically (temp file,
//! fsync, rename), so concurrent builds and later invocations share it. A
//! lookup is a hit only while the snapshot, every base layer blob and every
//! built layer's snapshot still exist. Context vertices are answered with
//! the build's own context handle (their key already covers the files'
//! content), so a fully cached build reports every vertex as cached.
//!
//! For `--debug-cache`, the preimage of the key of every executed step (and
//! of every context selection) is kept as an [`ExplanationRecord`] under
//! `<root>/builder/cache/explain/<sha256 of the step name>.json` (a context
//! selection's file list next to it as `.files`): the most recent one per
//! step name (the caller scopes the progress name, `[stage-1 2/4] COPY app
//! /app`, by project), so a later miss can be compared with the previous
//! build of the same step. `kiln builder prune` removes them too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kiln_image::{ContentStore, Lease};
use kiln_snapshotter::Snapshotter;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cache_miss::{FileChange, FileChangeKind};
use crate::context::Context;
use crate::executor::{Output, RootFs, TreeLayer};
use crate::graph::{Op, Vertex};
use crate::solver::cache_key::{Field, KeyExplanation};
use crate::solver::{CacheKey, CacheLookup, ComputedKey, KeyChange};
use crate::Digest;

/// The folder of cache entries under a kiln root.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join("builder/cache")
}

/// Deletes every cache entry (with the COPY rebase records and `--debug-cache`
/// explanations kept beside them), persisted cache mount and exported-layer
/// record under `root` (for `kiln builder prune`); returns how many cache
/// entries were removed. The snapshots they name are left for the snapshot
/// garbage collector ([`crate::snapshot_gc`]; `kiln builder prune` runs both,
/// through [`crate::cache_prune::prune`]).
pub fn prune(root: &Path) -> std::io::Result<usize> {
    let dir = cache_dir(root);
    let mut removed = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
    }
    // Persisted cache mounts, and the records of which blob each built
    // snapshot was exported as (`export::built_layer`).
    for dir in ["builder/cache-mounts", "builder/layers"] {
        let dir = root.join(dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(removed)
}

/// A [`CacheLookup`] over the kiln root's cache folder.
pub struct CacheStore<'a> {
    dir: PathBuf,
    content: &'a ContentStore,
    snapshotter: &'a dyn Snapshotter,
    context: Option<Arc<Context>>,
    lease: Option<Arc<Lease>>,
}

impl<'a> CacheStore<'a> {
    /// The cache of `root`, validating hits against `content` and
    /// `snapshotter`; `context` answers context vertices.
    pub fn new(
        root: &Path,
        content: &'a ContentStore,
        snapshotter: &'a dyn Snapshotter,
        context: Option<Arc<Context>>,
    ) -> CacheStore<'a> {
        CacheStore {
            dir: cache_dir(root),
            content,
            snapshotter,
            context,
            lease: None,
        }
    }

    /// Holds what each hit uses (its snapshots and base layer blobs) in the
    /// build's `lease` before checking that it is all there, so a concurrent
    /// `builder prune` or `rmi` cannot remove it between the check and its use.
    pub fn with_lease(mut self, lease: Arc<Lease>) -> CacheStore<'a> {
        self.lease = Some(lease);
        self
    }

    /// Adds the hit's resources to the lease; false if that failed.
    fn hold(&self, root: &RootFs) -> bool {
        let Some(lease) = &self.lease else {
            return true;
        };
        let blobs: Vec<Digest> = root
            .layers
            .iter()
            .filter_map(|l| match l {
                TreeLayer::Blob(b) => Some(b.digest),
                TreeLayer::Built(_) => None,
            })
            .collect();
        let snapshots = crate::snapshot_gc::record_snapshots(root);
        lease.add_snapshots(&snapshots).is_ok() && lease.add_digests(&blobs).is_ok()
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.0.hex()))
    }

    fn valid(&self, root: &RootFs) -> bool {
        let snapshot_ok = root
            .snapshot
            .as_ref()
            .is_none_or(|s| self.snapshotter.stat(s).is_ok());
        snapshot_ok
            && root.layers.iter().all(|l| match l {
                TreeLayer::Blob(b) => self.content.exists(&b.digest).unwrap_or(false),
                TreeLayer::Built(b) => self.snapshotter.stat(&b.snapshot).is_ok(),
            })
    }

    fn write(&self, key: &CacheKey, root: &RootFs) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(root).map_err(std::io::Error::other)?;
        write_atomically(&self.path(key), &bytes)
    }
}

/// Writes `bytes` to `path` through a temp file, fsync and rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::replace_durably(path, bytes)
}

/// One op field of a stored [`KeyExplanation`] (the typed [`Field`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredField {
    Str(String),
    Int(u64),
    Bool(bool),
    List(Vec<String>),
    Absent,
}

impl From<&Field> for StoredField {
    fn from(f: &Field) -> StoredField {
        match f {
            Field::Str(s) => StoredField::Str(s.clone()),
            Field::Int(n) => StoredField::Int(*n),
            Field::Bool(b) => StoredField::Bool(*b),
            Field::List(l) => StoredField::List(l.clone()),
            Field::Absent => StoredField::Absent,
        }
    }
}

impl From<&StoredField> for Field {
    fn from(f: &StoredField) -> Field {
        match f {
            StoredField::Str(s) => Field::Str(s.clone()),
            StoredField::Int(n) => Field::Int(*n),
            StoredField::Bool(b) => Field::Bool(*b),
            StoredField::List(l) => Field::List(l.clone()),
            StoredField::Absent => Field::Absent,
        }
    }
}

/// A step's cache key preimage as kept on disk for `--debug-cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationRecord {
    /// The step's name (its progress name, scoped by the caller).
    pub name: String,
    /// The key the preimage hashes to.
    pub key: String,
    version: u32,
    op: String,
    fields: Vec<(String, StoredField)>,
    inputs: Vec<String>,
    content: Option<String>,
}

impl ExplanationRecord {
    /// The record of the key `computed` (as the solver computed it: not
    /// hashed again) for the step called `name`.
    pub fn new(name: &str, computed: &ComputedKey) -> ExplanationRecord {
        let explanation = &computed.explanation;
        ExplanationRecord {
            name: name.to_string(),
            key: computed.key.to_string(),
            version: explanation.version,
            op: explanation.op.to_string(),
            fields: explanation
                .fields
                .iter()
                .map(|(n, f)| (n.to_string(), f.into()))
                .collect(),
            inputs: explanation.inputs.iter().map(|k| k.to_string()).collect(),
            content: explanation.content.map(|d| d.to_string()),
        }
    }

    /// What changed from this (earlier) record to `now`
    /// ([`KeyExplanation::diff`] over both preimages), an environment list
    /// variable by variable.
    pub fn changes_to(&self, now: &KeyExplanation) -> Vec<KeyChange> {
        let previous = self;
        if previous.op != now.op {
            let (before, now) = (previous.op.clone(), now.op.to_string());
            return vec![KeyChange::Op { before, now }];
        }
        let before = KeyExplanation {
            version: previous.version,
            op: now.op,
            // Field names come from the current op (same kind, same order).
            fields: previous
                .fields
                .iter()
                .zip(
                    now.fields
                        .iter()
                        .map(|(n, _)| *n)
                        .chain(std::iter::repeat("?")),
                )
                .map(|((_, f), name)| (name, f.into()))
                .collect(),
            inputs: previous
                .inputs
                .iter()
                .map(|k| CacheKey(parse_digest(k)))
                .collect(),
            content: previous.content.as_deref().map(parse_digest),
        };
        let mut out = Vec::new();
        for change in now.diff(&before) {
            match change {
                // An environment list is shown variable by variable.
                KeyChange::Field {
                    name,
                    before: Field::List(before),
                    now: Field::List(now),
                } if name == "env" => out.extend(env_changes(&before, &now)),
                other => out.push(other),
            }
        }
        out
    }
}

/// The files added, removed or changed from `before` to `now` (a context
/// selection's entries as [`Entry::describe`] lines), in path order, the
/// removed ones last.
///
/// [`Entry::describe`]: crate::context::Entry::describe
pub fn file_changes(now: &[String], before: &[String]) -> Vec<FileChange> {
    let index = |lines: &[String]| {
        lines
            .iter()
            .map(|line| {
                (
                    line.splitn(5, ' ').nth(4).unwrap_or("").to_string(),
                    line.clone(),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (now, before) = (index(now), index(before));
    let change = |path: &String, kind| FileChange {
        path: path.clone(),
        kind,
    };
    let mut out = Vec::new();
    for (path, line) in &now {
        match before.get(path) {
            Some(old) if old == line => {}
            Some(_) => out.push(change(path, FileChangeKind::Changed(describe_what(line)))),
            None => out.push(change(path, FileChangeKind::Added)),
        }
    }
    for path in before.keys().filter(|p| !now.contains_key(*p)) {
        out.push(change(path, FileChangeKind::Removed));
    }
    out
}

/// A [`KeyChange::Env`] for each variable that differs between two
/// `KEY=VALUE` lists.
fn env_changes(before: &[String], now: &[String]) -> Vec<KeyChange> {
    let map = |l: &[String]| {
        l.iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (before, now) = (map(before), map(now));
    let keys: std::collections::BTreeSet<_> = before.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != now.get(*k))
        .map(|k| KeyChange::Env {
            name: k.clone(),
            before: before.get(k).cloned(),
            now: now.get(k).cloned(),
        })
        .collect()
}

/// The middle of a `describe` line: mode, owner and content digest.
fn describe_what(line: &str) -> String {
    let parts: Vec<&str> = line.splitn(5, ' ').collect();
    parts.get(1..4).map(|p| p.join(" ")).unwrap_or_default()
}

/// A stored `sha256:<hex>` (an unreadable one becomes the zero digest,
/// which still shows as "changed").
fn parse_digest(text: &str) -> Digest {
    text.parse::<Digest>()
        .ok()
        .unwrap_or_else(|| Digest::from_bytes([0; 32]))
}

fn explain_path(root: &Path, name: &str, ext: &str) -> PathBuf {
    let hex: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cache_dir(root).join("explain").join(format!("{hex}.{ext}"))
}

/// The most recent explanation recorded for the step called `name`.
pub fn load_explanation(root: &Path, name: &str) -> Option<ExplanationRecord> {
    let bytes = std::fs::read(explain_path(root, name, "json")).ok()?;
    let record: ExplanationRecord = serde_json::from_slice(&bytes).ok()?;
    (record.name == name).then_some(record)
}

/// Records `record` as the most recent explanation of its step (atomically;
/// a record that cannot be written only costs a `--debug-cache` answer).
pub fn save_explanation(root: &Path, record: &ExplanationRecord) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    write_atomically(&explain_path(root, &record.name, "json"), &bytes)
}

/// The file list recorded with the step called `name` (context selections).
pub fn load_files(root: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(explain_path(root, name, "files"))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Records the file list of the step called `name` (a context selection's
/// [`Entry::describe`] lines), next to its explanation.
///
/// [`Entry::describe`]: crate::context::Entry::describe
pub fn save_files(root: &Path, name: &str, files: &[String]) -> std::io::Result<()> {
    let mut text = files.join("\n");
    text.push('\n');
    write_atomically(&explain_path(root, name, "files"), text.as_bytes())
}

impl CacheLookup<Output> for CacheStore<'_> {
    fn lookup(&self, key: &CacheKey, vertex: &Vertex) -> Option<Output> {
        match &vertex.op {
            Op::Context(_) => self.context.as_ref().map(|c| Output::Context {
                key: *key,
                context: Arc::clone(c),
            }),
            _ => {
                let bytes = std::fs::read(self.path(key)).ok()?;
                let root: RootFs = serde_json::from_slice(&bytes).ok()?;
                let usable = root.key == *key && self.hold(&root) && self.valid(&root);
                usable.then_some(Output::Root(root))
            }
        }
    }

    fn store(&self, key: &CacheKey, vertex: &Vertex, output: &Output) {
        let _ = vertex;
        if let Output::Root(root) = output {
            // A cache that cannot be written only costs a rebuild later.
            let _ = self.write(key, root);
        }
    }
}
