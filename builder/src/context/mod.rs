//! The build context as a content-addressed source: read in place, never
//! outside its root, with content checksums of exactly what a COPY/ADD reads.
//!
//! [`Context::open`] walks the context directory where it is (nothing is
//! copied or transferred), applies `.dockerignore` ([`Ignore`]) with Docker's
//! rules including `!` exceptions and BuildKit's directory pruning, records
//! symlinks as symlinks (their target string only; never followed, so a link to
//! `/etc/shadow` reads nothing outside the root) and stats everything. All
//! access goes through descriptors relative to the root (see `fs`).
//!
//! A [`Selection`] (COPY/ADD sources, `--exclude`, `--parents`) resolves to a
//! sorted list of [`Entry`]s ([`Context::resolve`]), and [`Context::checksum`]
//! hashes them in a stable, versioned encoding ([`checksum_entries`]): path,
//! type, mode, owner, link target and content sha256, never timestamps. So a
//! `touch` is a cache hit and a chmod, edit or rename is a miss.
//!
//! Content hashes come from a persistent stat-keyed index under the kiln root
//! ([`index_path`]; format, racy-timestamp rule and concurrency argument in
//! the `index` module docs): an unchanged file costs one `lstat`. Files that
//! are new or changed are hashed in parallel on every core and the index is
//! rewritten atomically.

mod checksum;
mod entry;
mod error;
pub(crate) mod fs;
mod gomatch;
mod hash;
mod index;
mod left_out;
pub mod path;
mod selection;
mod walk;

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use kiln_parser::dockerignore::{select_ignore_file, Matcher};

pub use checksum::{checksum_entries, CHECKSUM_VERSION};
pub use entry::{Entry, EntryKind, Stat};
pub use error::{ContextError, Result};
pub use gomatch::{has_wildcards, matches as go_filepath_match, BadPattern};
pub use index::{index_path, IndexStatus, RACY_MARGIN_NS};
pub use selection::Selection;

use crate::Digest;
use entry::Walked;
use index::{Index, IndexEntry};

/// Which ignore rules apply to the context.
#[derive(Debug, Clone, Default)]
pub enum Ignore {
    /// Nothing is ignored.
    Nothing,
    /// The context's own `.dockerignore`, if it exists.
    #[default]
    ContextFile,
    /// BuildKit's precedence for a Dockerfile at this path:
    /// `<Dockerfile>.dockerignore` if it exists, else the context's `.dockerignore`.
    ForDockerfile(PathBuf),
    /// These patterns (already parsed).
    Patterns(Matcher),
}

/// How to open a context.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The ignore rules.
    pub ignore: Ignore,
    /// The kiln root (`--root`) that holds the hash index; `None` keeps no index.
    pub kiln_root: Option<PathBuf>,
}

/// Counters of the work done, so tests and `--debug-cache` can see whether
/// files were read or answered from the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextStats {
    /// Files whose content was read and hashed.
    pub files_hashed: u64,
    /// Bytes read to hash them.
    pub bytes_hashed: u64,
    /// Files whose hash came from the index (stat unchanged).
    pub index_hits: u64,
    /// Times the index file was rewritten.
    pub index_writes: u64,
}

/// The hash index as this context uses it: where it lives and what to write back.
struct IndexState {
    path: Option<PathBuf>,
    /// Entries that are valid now: trusted index hits plus fresh hashes.
    valid: HashMap<String, IndexEntry>,
    dirty: bool,
}

/// An opened build context (see the module docs). `Sync`: the solver may
/// checksum several selections at once.
pub struct Context {
    dir: PathBuf,
    root: OwnedFd,
    entries: Vec<Walked>,
    by_path: HashMap<String, usize>,
    digests: Vec<OnceLock<Digest>>,
    scan_started_ns: i64,
    index: Mutex<IndexState>,
    index_status: IndexStatus,
    files_hashed: AtomicU64,
    bytes_hashed: AtomicU64,
    index_hits: AtomicU64,
    index_writes: AtomicU64,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("dir", &self.dir)
            .field("entries", &self.entries.len())
            .field("index_status", &self.index_status)
            .finish()
    }
}

impl Context {
    /// Walks the context directory `dir` in place (see the module docs).
    ///
    /// # Errors
    ///
    /// `dir` missing or not a directory, an unreadable directory or ignore file,
    /// a bad ignore pattern (with its line), a non-UTF-8 name.
    pub fn open(dir: &Path, options: OpenOptions) -> Result<Context> {
        let scan_started_ns = now_ns();
        let meta = std::fs::metadata(dir).map_err(|e| ContextError::io("open context", dir, e))?;
        if !meta.is_dir() {
            return Err(ContextError::NotADirectory(dir.to_path_buf()));
        }
        let canonical =
            std::fs::canonicalize(dir).map_err(|e| ContextError::io("resolve", dir, e))?;
        let matcher = load_ignore(dir, &canonical, &options.ignore)?;
        let root = fs::open_root(&canonical).map_err(|e| ContextError::io("open", dir, e))?;
        let entries = walk::walk(root.as_raw_fd(), dir, &matcher)?;
        let by_path = entries
            .iter()
            .enumerate()
            .map(|(i, w)| (w.entry.path.clone(), i))
            .collect();
        let index_file = options
            .kiln_root
            .as_deref()
            .map(|r| index_path(r, &canonical));
        let (loaded, index_status) = match &index_file {
            Some(path) => Index::load(path),
            None => (Index::default(), IndexStatus::Disabled),
        };
        let digests: Vec<OnceLock<Digest>> = entries.iter().map(|_| OnceLock::new()).collect();
        let mut valid = HashMap::new();
        for (i, w) in entries.iter().enumerate() {
            if w.entry.kind != EntryKind::File {
                continue;
            }
            if let Some(hit) = loaded.lookup(&w.entry.path, &w.stat) {
                let _ = digests[i].set(hit.digest);
                valid.insert(w.entry.path.clone(), hit);
            }
        }
        let hits = valid.len() as u64;
        // Entries dropped or newly racy mean the stored index is stale.
        let dirty = index_file.is_some() && loaded.entries.len() != valid.len();
        Ok(Context {
            dir: dir.to_path_buf(),
            root,
            entries,
            by_path,
            digests,
            scan_started_ns,
            index: Mutex::new(IndexState {
                path: index_file,
                valid,
                dirty,
            }),
            index_status,
            files_hashed: AtomicU64::new(0),
            bytes_hashed: AtomicU64::new(0),
            index_hits: AtomicU64::new(hits),
            index_writes: AtomicU64::new(0),
        })
    }

    /// The context directory as given to [`Context::open`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every kept entry in canonical order, the root (`"."`) first; file
    /// digests are filled in only once a selection has needed them.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.entries.len()).map(|i| self.entry(i))
    }

    /// The entry at context path `path` (cleaned within the root), if kept.
    pub fn get(&self, path: &str) -> Option<Entry> {
        self.by_path
            .get(&path::scoped_clean(path))
            .map(|&i| self.entry(i))
    }

    /// What loading the hash index found.
    pub fn index_status(&self) -> &IndexStatus {
        &self.index_status
    }

    /// The work done so far.
    pub fn stats(&self) -> ContextStats {
        ContextStats {
            files_hashed: self.files_hashed.load(Ordering::Relaxed),
            bytes_hashed: self.bytes_hashed.load(Ordering::Relaxed),
            index_hits: self.index_hits.load(Ordering::Relaxed),
            index_writes: self.index_writes.load(Ordering::Relaxed),
        }
    }

    /// The entries `selection` reads, in canonical order, with the content digest
    /// of every file (hashing the files the index could not vouch for).
    ///
    /// # Errors
    ///
    /// A source without wildcards that does not exist, a malformed pattern, a
    /// file that cannot be read or keeps changing while it is hashed.
    pub fn resolve(&self, selection: &Selection) -> Result<Vec<Entry>> {
        let chosen = selection::resolve(&self.entries, &self.by_path, selection)?;
        self.ensure_digests(&chosen)?;
        Ok(chosen.into_iter().map(|i| self.entry(i)).collect())
    }

    /// The content checksum of `selection`: [`checksum_entries`] over
    /// [`Context::resolve`]'s entries.
    ///
    /// # Errors
    ///
    /// As [`Context::resolve`].
    pub fn checksum(&self, selection: &Selection) -> Result<Digest> {
        Ok(checksum_entries(&self.resolve(selection)?))
    }

    /// Writes the hash index now if it changed (the checksum calls do this
    /// themselves after hashing anything).
    ///
    /// # Errors
    ///
    /// The index could not be written.
    pub fn save_index(&self) -> Result<()> {
        let mut state = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let Some(path) = state.path.clone().filter(|_| state.dirty) else {
            return Ok(());
        };
        let bytes = index::encode(self.scan_started_ns, &state.valid);
        index::write_atomically(&path, &bytes)
            .map_err(|e| ContextError::io("write index", &path, e))?;
        state.dirty = false;
        self.index_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn entry(&self, i: usize) -> Entry {
        let mut entry = self.entries[i].entry.clone();
        entry.digest = self.digests[i].get().copied();
        entry
    }

    /// Hashes the chosen files that have no digest yet, then records them.
    fn ensure_digests(&self, chosen: &[usize]) -> Result<()> {
        let jobs: Vec<hash::Job<'_>> = chosen
            .iter()
            .filter(|&&i| self.entries[i].entry.kind == EntryKind::File)
            .filter(|&&i| self.digests[i].get().is_none())
            .map(|&i| hash::Job {
                idx: i,
                path: &self.entries[i].entry.path,
                size: self.entries[i].stat.size,
            })
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        let hashed = hash::hash_all(self.root.as_raw_fd(), &self.dir, jobs)?;
        {
            let mut state = self.index.lock().unwrap_or_else(|p| p.into_inner());
            for h in &hashed {
                let walked = &self.entries[h.idx];
                let _ = self.digests[h.idx].set(h.digest);
                self.files_hashed.fetch_add(1, Ordering::Relaxed);
                self.bytes_hashed.fetch_add(h.bytes, Ordering::Relaxed);
                // Only a file read under the stat the walk saw goes in the index.
                if index::comparable(&h.stat) == index::comparable(&walked.stat) {
                    let stat = index::comparable(&h.stat);
                    state.valid.insert(
                        walked.entry.path.clone(),
                        IndexEntry {
                            stat,
                            digest: h.digest,
                        },
                    );
                    state.dirty = true;
                }
            }
        }
        self.save_index()
    }
}

/// Reads the ignore rules `ignore` asks for (relative to the context `dir`).
/// The ignore rules of the context folder `given` (as named; `canonical` is
/// the same folder canonicalized). Ignore files inside the context are read
/// inside its root (a symlink there never reads a host file); a
/// `<Dockerfile>.dockerignore` beside a Dockerfile outside the context is a
/// path the user chose and is read as such.
fn load_ignore(given: &Path, canonical: &Path, ignore: &Ignore) -> Result<Matcher> {
    let root = kiln_inroot::Root::open(canonical)?;
    let read = |file: &Path| -> Result<Option<Vec<u8>>> {
        let inside = file
            .strip_prefix(given)
            .or_else(|_| file.strip_prefix(canonical));
        match inside {
            Ok(rel) => root
                .read_file(&rel.to_string_lossy(), kiln_inroot::MAX_SMALL_FILE)
                .map_err(ContextError::from),
            Err(_) => match std::fs::read(file) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ContextError::io("read", file, e)),
            },
        }
    };
    let exists = |p: &str| matches!(read(Path::new(p)), Ok(Some(_)));
    let file = match ignore {
        Ignore::Nothing => return Ok(Matcher::default()),
        Ignore::Patterns(m) => return Ok(m.clone()),
        Ignore::ContextFile => Some(given.join(kiln_parser::dockerignore::CONTEXT_IGNORE_FILE)),
        Ignore::ForDockerfile(dockerfile) => {
            let df = dockerfile.to_string_lossy();
            let ctx = given.to_string_lossy();
            select_ignore_file(Some(&df), &ctx, &exists).map(PathBuf::from)
        }
    };
    let Some(file) = file else {
        return Ok(Matcher::default());
    };
    let Some(bytes) = read(&file)? else {
        return Ok(Matcher::default());
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Matcher::parse(&text).map_err(|source| ContextError::Dockerignore { path: file, source })
}

/// Wall-clock time in nanoseconds since the epoch.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
