//! Helpers shared by the COPY/ADD tests.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use kiln_builder::context::{Context, Ignore, OpenOptions};
use kiln_builder::executor::file::{apply, FileError, FileInput};
use kiln_builder::graph::{AddOptions, CopySource, FileAction};

/// Writes `content` at `root/rel`, creating parents.
pub fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Opens a context honouring its .dockerignore, without an index.
pub fn context(dir: &Path) -> Context {
    let options = OpenOptions {
        ignore: Ignore::ContextFile,
        kiln_root: None,
    };
    Context::open(dir, options).unwrap()
}

/// A COPY of path sources to `dest`.
pub fn copy(sources: &[&str], dest: &str) -> FileAction {
    FileAction {
        sources: sources
            .iter()
            .map(|s| CopySource::Path(s.to_string()))
            .collect(),
        dest: dest.into(),
        from: Some(1),
        chown: None,
        chmod: None,
        link: false,
        exclude: Vec::new(),
        parents: false,
        add: None,
    }
}

/// An ADD of path sources to `dest`.
pub fn add(sources: &[&str], dest: &str) -> FileAction {
    FileAction {
        add: Some(AddOptions {
            checksum: None,
            unpack: None,
            keep_git_dir: false,
        }),
        ..copy(sources, dest)
    }
}

/// Runs `action` from the context at `ctx_dir` into `dest` (workdir `/`).
pub fn run_ctx(action: &FileAction, ctx_dir: &Path, dest: &Path) -> Result<(), FileError> {
    let ctx = context(ctx_dir);
    apply(action, Some(FileInput::Context(&ctx)), dest, "/")
}

/// Runs `action` from the tree `from` into `dest` (workdir `/`).
pub fn run_tree(action: &FileAction, from: &Path, dest: &Path) -> Result<(), FileError> {
    apply(action, Some(FileInput::Tree(from)), dest, "/")
}

/// Permission bits, uid and gid of `path` (not following it).
pub fn attrs(path: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.mode() & 0o7777, m.uid(), m.gid())
}

/// The relative paths below `root`, sorted (directories with a trailing `/`).
pub fn listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if e.file_type().unwrap().is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Sets the mtime (and atime) of `path` to `secs`.
pub fn set_mtime(path: &Path, secs: i64) {
    let f = fs::File::options().write(true).open(path).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}
