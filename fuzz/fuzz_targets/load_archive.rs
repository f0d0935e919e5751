//! Fuzzes `kiln load`: any bytes, read as an image archive (docker-archive,
//! OCI layout tar, gzip or not) into a fresh store under a temp root. Loading
//! must fail cleanly or succeed, never panic, hang or exhaust memory, and must
//! write nothing outside its root: the root's parent directory holds exactly
//! the root afterwards (a member path or link that escaped would show up there).

#![no_main]

use std::path::Path;

use kiln_image::archive::load;
use kiln_image::{ContentStore, ImageIndex};
use libfuzzer_sys::fuzz_target;

/// A scratch directory on tmpfs when there is one (fsyncs are free there).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("a temp directory")
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the scratch directory")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fuzz_target!(|data: &[u8]| {
    let parent = scratch();
    let root = parent.path().join("root");
    let store = ContentStore::new(&root).expect("open the content store");
    let index = ImageIndex::new(&root).expect("open the image index");
    let result = load(&store, &index, data);
    if let Err(error) = &result {
        // Errors are one line: nothing from the archive breaks it.
        let text = error.to_string();
        assert!(!text.contains('\n'), "multi-line error: {text:?}");
        assert!(
            !text.chars().any(|c| c.is_control()),
            "raw control character: {text:?}"
        );
    }
    assert_eq!(listing(parent.path()), ["root"], "wrote outside the root");
});
