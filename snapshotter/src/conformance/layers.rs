//! Cases about what mounted snapshots contain: layering, deletions, read-only
//! views, empty snapshots, repeated mounts and disk usage.

use std::fs;

use super::{commit_layer, names, read, write_files, Make, Mounted, TempRoot};
use crate::{Error, Labels};

/// Three committed layers; a view of each shows exactly its chain, nearest layer
/// winning, and an active snapshot on top sees everything.
pub fn prepare_commit_view_chain(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "l1", None, &[("a", "a1"), ("dir/x", "x1")]);
    commit_layer(&root, sn, "l2", Some("l1"), &[("b", "b2"), ("a", "a2")]);
    commit_layer(&root, sn, "l3", Some("l2"), &[("c", "c3"), ("dir/y", "y3")]);

    let v1 = Mounted::new(&root, &sn.view("v1", Some("l1")).unwrap());
    assert_eq!(names(v1.path(), ""), ["a", "dir"]);
    assert_eq!(read(v1.path(), "a").as_deref(), Some("a1"));

    let v2 = Mounted::new(&root, &sn.view("v2", Some("l2")).unwrap());
    assert_eq!(names(v2.path(), ""), ["a", "b", "dir"]);
    assert_eq!(read(v2.path(), "a").as_deref(), Some("a2"));

    let v3 = Mounted::new(&root, &sn.view("v3", Some("l3")).unwrap());
    assert_eq!(names(v3.path(), ""), ["a", "b", "c", "dir"]);
    assert_eq!(names(v3.path(), "dir"), ["x", "y"]);
    assert_eq!(read(v3.path(), "a").as_deref(), Some("a2"));
    assert_eq!(read(v3.path(), "dir/x").as_deref(), Some("x1"));

    sn.prepare("top", Some("l3"), &Labels::new()).unwrap();
    write_files(&root, sn, "top", &[("d", "d4")]);
    let top = Mounted::new(&root, &sn.mounts("top").unwrap());
    assert_eq!(names(top.path(), ""), ["a", "b", "c", "d", "dir"]);
    assert_eq!(read(top.path(), "c").as_deref(), Some("c3"));
    assert_eq!(
        read(v3.path(), "d"),
        None,
        "a child's writes leak into its parent"
    );
}

/// Files and directories deleted in an upper layer are gone from views of it and
/// still present in views of the layer below.
pub fn deletions_hide_lower_files(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    let base = [
        ("keep", "k"),
        ("gone", "g"),
        ("dir/old", "o"),
        ("other/f", "f"),
    ];
    commit_layer(&root, sn, "base", None, &base);

    sn.prepare("upper", Some("base"), &Labels::new()).unwrap();
    {
        let m = Mounted::new(&root, &sn.mounts("upper").unwrap());
        fs::remove_file(m.join("gone")).unwrap();
        fs::remove_dir_all(m.join("dir")).unwrap();
        fs::create_dir(m.join("dir")).unwrap();
        fs::write(m.join("dir/new"), "n").unwrap();
        fs::remove_dir_all(m.join("other")).unwrap();
    }
    sn.commit("deleted", "upper").unwrap();

    let view = Mounted::new(&root, &sn.view("view", Some("deleted")).unwrap());
    assert_eq!(names(view.path(), ""), ["dir", "keep"]);
    assert_eq!(names(view.path(), "dir"), ["new"]);

    sn.prepare("again", Some("deleted"), &Labels::new())
        .unwrap();
    let again = Mounted::new(&root, &sn.mounts("again").unwrap());
    assert_eq!(names(again.path(), ""), ["dir", "keep"]);
    assert_eq!(names(again.path(), "dir"), ["new"]);

    let below = Mounted::new(&root, &sn.view("below", Some("base")).unwrap());
    assert_eq!(names(below.path(), ""), ["dir", "gone", "keep", "other"]);
    assert_eq!(names(below.path(), "dir"), ["old"]);
}

/// With no parent, `prepare` gives an empty writable tree and `view` an empty
/// read-only one.
pub fn empty_prepare_and_view(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    sn.prepare("empty", None, &Labels::new()).unwrap();
    let m = Mounted::new(&root, &sn.mounts("empty").unwrap());
    assert!(names(m.path(), "").is_empty());
    fs::write(m.join("f"), "x").unwrap();
    assert_eq!(read(m.path(), "f").as_deref(), Some("x"));

    let mounts = sn.view("empty-view", None).unwrap();
    assert!(mounts.iter().all(|m| m.is_read_only()), "{mounts:?}");
    let v = Mounted::new(&root, &mounts);
    assert!(names(v.path(), "").is_empty());
    let err = fs::write(v.join("f"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
}

/// `mounts` repeats what `prepare`/`view` returned; committed and unknown
/// snapshots have no mounts.
pub fn mounts_match_prepare(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "base", None, &[("f", "1")]);
    let prepared = sn.prepare("work", Some("base"), &Labels::new()).unwrap();
    assert_eq!(sn.mounts("work").unwrap(), prepared);
    let viewed = sn.view("look", Some("base")).unwrap();
    assert_eq!(sn.mounts("look").unwrap(), viewed);
    assert!(matches!(sn.mounts("base"), Err(Error::NotActive { key, .. }) if key == "base"));
    assert!(matches!(sn.mounts("nope"), Err(Error::NotFound { key }) if key == "nope"));
}

/// Views of one and of several layers refuse writes with `EROFS`.
pub fn view_is_read_only(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "l1", None, &[("a", "1")]);
    commit_layer(&root, sn, "l2", Some("l1"), &[("b", "2")]);
    for (key, parent) in [("v1", "l1"), ("v2", "l2")] {
        let mounts = sn.view(key, Some(parent)).unwrap();
        assert!(mounts.iter().all(|m| m.is_read_only()), "{mounts:?}");
        let v = Mounted::new(&root, &mounts);
        for attempt in [
            fs::write(v.join("new"), "x"),
            fs::write(v.join("a"), "x"),
            fs::create_dir(v.join("d")),
            fs::remove_file(v.join("a")),
        ] {
            let err = attempt.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{key}: {err}");
        }
        assert_eq!(read(v.path(), "a").as_deref(), Some("1"));
    }
    let err = sn.commit("from-view", "v1").unwrap_err();
    assert!(matches!(err, Error::NotActive { .. }), "{err}");
}

/// `usage` counts a snapshot's own inodes (hard links once) and allocated bytes.
pub fn usage_counts_own_files(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    sn.prepare("a", None, &Labels::new()).unwrap();
    let empty = sn.usage("a").unwrap();
    assert_eq!(empty.inodes, 1, "an empty snapshot is its root directory");
    {
        let m = Mounted::new(&root, &sn.mounts("a").unwrap());
        fs::write(m.join("big"), vec![7u8; 65536]).unwrap();
        fs::hard_link(m.join("big"), m.join("big-link")).unwrap();
        fs::write(m.join("small"), "s").unwrap();
        fs::create_dir(m.join("d")).unwrap();
        fs::write(m.join("d/f"), "f").unwrap();
    }
    let full = sn.usage("a").unwrap();
    assert_eq!(full.inodes, 5, "root, big (+link), small, d, d/f");
    assert!(full.bytes >= 65536 + empty.bytes, "{full:?}");
    sn.commit("a1", "a").unwrap();
    assert_eq!(sn.usage("a1").unwrap(), full);

    sn.prepare("b", Some("a1"), &Labels::new()).unwrap();
    write_files(&root, sn, "b", &[("new", "n")]);
    assert!(sn.usage("b").unwrap().inodes >= 2);
    let err = sn.usage("missing").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}
