//! Image index tests: API behaviour, and no lost updates across threads and
//! across processes (the test binary re-executes itself as child processes).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;

use super::*;

fn r(s: &str) -> Reference {
    s.parse().unwrap()
}

fn index() -> (tempfile::TempDir, ImageIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = ImageIndex::new(dir.path()).unwrap();
    (dir, index)
}

#[test]
fn tag_get_list_untag() {
    let (dir, index) = index();
    assert!(index.list().unwrap().is_empty());
    let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
    assert_eq!(index.tag(&r("busybox"), &a).unwrap(), None);
    assert_eq!(index.tag(&r("user/app:1"), &a).unwrap(), None);
    assert_eq!(index.tag(&r("localhost:5000/x:dev"), &b).unwrap(), None);
    assert_eq!(index.path(), dir.path().join("images.json"));

    let rec = index
        .get(&r("docker.io/library/busybox:latest"))
        .unwrap()
        .unwrap();
    assert_eq!(rec.digest, a);
    assert!(rec.created > 1_600_000_000);
    let names: Vec<String> = index
        .list()
        .unwrap()
        .iter()
        .map(|(r, _)| r.familiar())
        .collect();
    assert_eq!(
        names,
        ["busybox:latest", "user/app:1", "localhost:5000/x:dev"]
    );
    let to_a: Vec<String> = index
        .references_to(&a)
        .unwrap()
        .iter()
        .map(|r| r.familiar())
        .collect();
    assert_eq!(to_a, ["busybox:latest", "user/app:1"]);

    assert_eq!(index.tag(&r("busybox"), &b).unwrap(), Some(a));
    assert_eq!(
        index.untag(&r("busybox:latest")).unwrap().unwrap().digest,
        b
    );
    assert_eq!(index.untag(&r("busybox:latest")).unwrap(), None);
    assert_eq!(index.get(&r("busybox")).unwrap(), None);
    assert_eq!(
        index.references_to(&b).unwrap(),
        vec![r("localhost:5000/x:dev")]
    );
}

#[test]
fn retagging_same_digest_keeps_created() {
    let (_dir, index) = index();
    let d = Digest::of(b"img");
    index
        .update(|images| {
            let record = ImageRecord {
                digest: d,
                created: 42,
            };
            images.insert(r("app"), record)
        })
        .unwrap();
    assert_eq!(index.tag(&r("app"), &d).unwrap(), Some(d));
    assert_eq!(index.get(&r("app")).unwrap().unwrap().created, 42);
}

#[test]
fn file_format_is_versioned_json_with_full_references() {
    let (_dir, index) = index();
    let d = Digest::of(b"img");
    index.tag(&r("busybox:1"), &d).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&fs::read(index.path()).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["images"]["docker.io/library/busybox:1"]["digest"],
        d.to_string()
    );
}

#[test]
fn bad_state_files_name_the_path() {
    let (_dir, index) = index();
    fs::write(index.path(), b"{ not json").unwrap();
    let err = index.list().unwrap_err();
    assert!(matches!(&err, ImageError::StateJson { path, .. } if path == index.path()));
    fs::write(index.path(), br#"{"version": 9, "images": {}}"#).unwrap();
    let err = index.tag(&r("a"), &Digest::of(b"a")).unwrap_err();
    assert!(
        err.to_string().contains("unsupported format version 9"),
        "{err}"
    );
}

#[test]
fn stale_temp_file_from_a_crash_is_harmless() {
    let (dir, index) = index();
    fs::write(dir.path().join("images.json.tmp"), b"garbage from a crash").unwrap();
    index.tag(&r("a"), &Digest::of(b"a")).unwrap();
    assert_eq!(index.list().unwrap().len(), 1);
    assert!(!dir.path().join("images.json.tmp").exists());
}

/// The digest each writer in the concurrency tests records for its `i`th name.
fn digest_for(writer: usize, i: usize) -> Digest {
    Digest::of(format!("{writer}/{i}").as_bytes())
}

/// Tags `OPS` distinct names for `writer`, untagging and re-tagging every
/// fifth one so removals race too.
fn tag_many(index: &ImageIndex, writer: usize) {
    for i in 0..OPS {
        let reference = r(&format!("writer{writer}/app:t{i}"));
        index.tag(&reference, &digest_for(writer, i)).unwrap();
        if i % 5 == 0 {
            index.untag(&reference).unwrap().unwrap();
            index.tag(&reference, &digest_for(writer, i)).unwrap();
        }
    }
}

/// Checks that all `writers * OPS` tags are present with the right digests.
fn assert_all_present(index: &ImageIndex, writers: usize) {
    let images = index.list().unwrap();
    assert_eq!(images.len(), writers * OPS, "lost updates");
    for w in 0..writers {
        for i in 0..OPS {
            let rec = index.get(&r(&format!("writer{w}/app:t{i}"))).unwrap();
            assert_eq!(rec.map(|rec| rec.digest), Some(digest_for(w, i)));
        }
    }
}

const OPS: usize = 25;

#[test]
fn eight_threads_lose_no_update() {
    let (_dir, index) = index();
    let index = Arc::new(index);
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let index = Arc::clone(&index);
            thread::spawn(move || tag_many(&index, w))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_all_present(&index, 8);
}

/// Set in child processes of [`processes_lose_no_update`]: `<root>|<writer>`.
const CHILD_ENV: &str = "KILN_IMAGE_TEST_INDEX_CHILD";
const THIS_TEST: &str = "index::tests::processes_lose_no_update";

#[test]
fn processes_lose_no_update() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (root, writer) = spec.rsplit_once('|').unwrap();
        let index = ImageIndex::new(Path::new(root)).unwrap();
        tag_many(&index, writer.parse().unwrap());
        return;
    }
    const PROCS: usize = 6;
    let (dir, index) = index();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCS)
        .map(|w| {
            Command::new(&exe)
                .args(["--exact", THIS_TEST, "--test-threads=1"])
                .env(CHILD_ENV, format!("{}|{w}", dir.path().display()))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "child process failed");
    }
    assert_all_present(&index, PROCS);
}
