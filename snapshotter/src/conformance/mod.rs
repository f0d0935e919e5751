//! The conformance suite every [`Snapshotter`] implementation runs, after
//! containerd's snapshot testsuite. It uses the real kernel: cases mount what the
//! snapshotter returns (with [`crate::mount`]), so they need root and, for overlay,
//! overlayfs.
//!
//! Each case is a public function taking a factory that opens the implementation on
//! a root directory; the factory is called again on the same root to test
//! persistence, and once per thread for concurrency. Run them all with
//! [`run_all`], or generate one `#[test]` per case with [`conformance_tests!`](crate::conformance_tests):
//!
//! ```no_run
//! use kiln_snapshotter::{NativeSnapshotter, Snapshotter};
//!
//! kiln_snapshotter::conformance_tests!(|root: &std::path::Path| -> Box<dyn Snapshotter> {
//!     Box::new(NativeSnapshotter::new(root).expect("open"))
//! });
//! # fn main() {}
//! ```
//!
//! Cases work in a fresh directory under the system temp dir. Every mount is held
//! by a [`Mounted`] guard that unmounts on drop, and [`TempRoot`] lazily unmounts
//! anything still mounted below it before deleting it, so a failing case leaves
//! no mounts behind.

/// Asserts that `$result` is an `Err` matching `$pattern` (with an optional guard).
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!(
                "expected Err({}), got {:?}",
                stringify!($pattern),
                other.map(|_| ())
            ),
        }
    };
}

mod deep;
mod layers;
mod layout;
mod lifecycle;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{mount, Labels, Mount, Snapshotter};

pub use deep::{deep_chain_under_long_root, DEEP_CHAIN};
pub use layers::{
    deletions_hide_lower_files, empty_prepare_and_view, mounts_match_prepare,
    prepare_commit_view_chain, usage_counts_own_files, view_is_read_only,
};
pub use layout::layout_names_own_and_parent_dirs;
pub use lifecycle::{
    commit_name_collisions, concurrent_prepare_commit, invalid_requests_are_refused,
    persists_across_reopen, remove_semantics, stat_and_list,
};

/// Opens a snapshotter on a root directory.
pub type Make<'a> = &'a dyn Fn(&Path) -> Box<dyn Snapshotter>;

/// One named case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's function name.
    pub name: &'static str,
    /// Runs the case; panics on failure.
    pub run: fn(Make<'_>),
}

/// Every case, in the order [`run_all`] runs them.
pub const CASES: &[Case] = &[
    case("prepare_commit_view_chain", prepare_commit_view_chain),
    case("deletions_hide_lower_files", deletions_hide_lower_files),
    case("empty_prepare_and_view", empty_prepare_and_view),
    case("mounts_match_prepare", mounts_match_prepare),
    case("view_is_read_only", view_is_read_only),
    case("usage_counts_own_files", usage_counts_own_files),
    case("stat_and_list", stat_and_list),
    case("commit_name_collisions", commit_name_collisions),
    case("invalid_requests_are_refused", invalid_requests_are_refused),
    case("remove_semantics", remove_semantics),
    case("persists_across_reopen", persists_across_reopen),
    case("concurrent_prepare_commit", concurrent_prepare_commit),
    case("deep_chain_under_long_root", deep_chain_under_long_root),
    case(
        "layout_names_own_and_parent_dirs",
        layout_names_own_and_parent_dirs,
    ),
];

const fn case(name: &'static str, run: fn(Make<'_>)) -> Case {
    Case { name, run }
}

/// Runs every case against the implementation `make` opens; panics (naming the
/// case) on the first failure.
pub fn run_all(make: impl Fn(&Path) -> Box<dyn Snapshotter>) {
    for case in CASES {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(&make)));
        if let Err(panic) = result {
            eprintln!("snapshotter conformance case `{}` failed", case.name);
            std::panic::resume_unwind(panic);
        }
    }
}

/// Generates one `#[test]` per conformance case (plus one checking that none is
/// missing), given an expression that evaluates to the factory closure.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            prepare_commit_view_chain, deletions_hide_lower_files, empty_prepare_and_view,
            mounts_match_prepare, view_is_read_only, usage_counts_own_files, stat_and_list,
            commit_name_collisions, invalid_requests_are_refused, remove_semantics, persists_across_reopen,
            concurrent_prepare_commit, deep_chain_under_long_root, layout_names_own_and_parent_dirs);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let make = $make;
                $crate::conformance::$case(&make);
            }
        )*
        #[test]
        fn every_conformance_case_is_generated() {
            let generated: &[&str] = &[$(stringify!($case)),*];
            let known: Vec<&str> = $crate::conformance::CASES.iter().map(|c| c.name).collect();
            assert_eq!(generated, known.as_slice());
        }
    };
}

/// A scratch directory for one case; unmounts what is left below it, then deletes it.
pub struct TempRoot {
    path: PathBuf,
}

impl TempRoot {
    /// Creates a fresh, uniquely named directory under the system temp dir.
    pub fn new() -> TempRoot {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("kiln-snapshotter-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).expect("create temp root");
        TempRoot { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempRoot {
    fn default() -> Self {
        TempRoot::new()
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        for target in mounts_below(&self.path) {
            let _ = mount::unmount_all(&target, true);
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Mount points at or below `dir`, deepest first, from `/proc/self/mountinfo`.
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(field.replace("\\040", " ")))
        .filter(|target| target.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    found.dedup();
    found
}

/// Snapshot mounts performed on a fresh directory; unmounted on drop.
pub struct Mounted {
    target: PathBuf,
}

impl Mounted {
    /// Creates `<root>/mnt/<n>` and mounts `mounts` there; panics on failure.
    pub fn new(root: &TempRoot, mounts: &[Mount]) -> Mounted {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let target = root.path().join("mnt").join(n.to_string());
        fs::create_dir_all(&target).expect("create mount point");
        mount::mount_all(mounts, &target).unwrap_or_else(|e| panic!("{e}"));
        Mounted { target }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// `path` inside the mounted tree.
    pub fn join(&self, path: &str) -> PathBuf {
        self.target.join(path)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if mount::unmount_all(&self.target, false).is_err() {
            let _ = mount::unmount_all(&self.target, true);
        }
    }
}

/// Writes `files` (path, content; parents created) into the active snapshot `key`
/// through a real mount.
pub fn write_files(root: &TempRoot, sn: &dyn Snapshotter, key: &str, files: &[(&str, &str)]) {
    let mounted = Mounted::new(root, &sn.mounts(key).expect("mounts"));
    for (path, content) in files {
        let path = mounted.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("create parent");
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// Prepares a scratch key over `parent`, writes `files`, commits it as `name`.
pub fn commit_layer(
    root: &TempRoot,
    sn: &dyn Snapshotter,
    name: &str,
    parent: Option<&str>,
    files: &[(&str, &str)],
) {
    let key = format!("{name}-active");
    sn.prepare(&key, parent, &Labels::new()).expect("prepare");
    write_files(root, sn, &key, files);
    sn.commit(name, &key).expect("commit");
}

/// Reads the file at `path` below `dir`, `None` if it does not exist.
pub fn read(dir: &Path, path: &str) -> Option<String> {
    match fs::read_to_string(dir.join(path)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("read {path}: {e}"),
    }
}

/// Sorted entry names of the directory `path` below `dir`.
pub fn names(dir: &Path, path: &str) -> Vec<String> {
    let entries = fs::read_dir(dir.join(path)).unwrap_or_else(|e| panic!("list {path}: {e}"));
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
