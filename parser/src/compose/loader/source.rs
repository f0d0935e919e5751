//! Where the loader reads files from: a small trait, so the binary reads the
//! host's files while tests and the fuzz target use an in-memory set.

use std::collections::BTreeMap;

/// Read access to files by absolute path. The loader never touches the
/// filesystem in any other way (no stat of devices, no writes).
pub trait FileSource {
    /// The text of the file at `path`, or why it cannot be read
    /// (`no such file or directory`...).
    fn read(&self, path: &str) -> Result<String, String>;

    /// Whether a regular file exists at `path` (used by file discovery and
    /// the default `.env`).
    fn is_file(&self, path: &str) -> bool;

    /// Whether a directory exists at `path` (`include` entries may name a
    /// folder).
    fn is_dir(&self, path: &str) -> bool;
}

/// An in-memory file set keyed by absolute path, for tests and fuzzing.
#[derive(Debug, Clone, Default)]
pub struct MemFiles {
    files: BTreeMap<String, String>,
}

impl MemFiles {
    /// An empty set.
    pub fn new() -> MemFiles {
        MemFiles::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: &str, text: &str) -> &mut MemFiles {
        self.files.insert(path.to_string(), text.to_string());
        self
    }
}

impl FileSource for MemFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "no such file or directory".to_string())
    }

    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// A folder exists when some file lies under it.
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.keys().any(|k| k.starts_with(&prefix))
    }
}

/// Joins `rel` onto `base` unless it is already absolute, then cleans the
/// result lexically (`.`/`..`/double slashes), as Go's `filepath.Join` +
/// `filepath.Clean` do. Pure string work: nothing is looked up on disk.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        clean(rel)
    } else {
        clean(&format!("{base}/{rel}"))
    }
}

/// Go's `filepath.Clean` for slash-separated paths.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The folder holding `path` (Go's `filepath.Dir`).
pub fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => clean(&path[..i]),
        None => ".".to_string(),
    }
}

/// The last element of `path` (Go's `filepath.Base`).
pub fn base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}
