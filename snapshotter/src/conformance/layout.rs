//! Cases about [`Snapshotter::layout`](crate::Snapshotter::layout): the
//! directories callers read instead of parsing mount options.

use std::fs;
use std::os::unix::fs::FileTypeExt;

use super::{commit_layer, names, read, write_files, Make, Mounted, TempRoot};
use crate::{Contents, Error, Labels};

/// Every kind of snapshot names its own directory and its parents' (nearest
/// first); an active snapshot's writes land in its own directory, which holds
/// only the changes ([`Contents::Changes`]: deletions as whiteouts) or the whole
/// tree ([`Contents::WholeTree`]), as the implementation declares.
pub fn layout_names_own_and_parent_dirs(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "l1", None, &[("a", "a1"), ("gone", "g")]);
    sn.prepare("l2-active", Some("l1"), &Labels::new()).unwrap();
    {
        let m = Mounted::new(&root, &sn.mounts("l2-active").unwrap());
        fs::write(m.join("a"), "a2").unwrap();
        fs::write(m.join("b"), "b2").unwrap();
        fs::remove_file(m.join("gone")).unwrap();
    }
    sn.commit("l2", "l2-active").unwrap();

    let l1 = sn.layout("l1").unwrap();
    let l2 = sn.layout("l2").unwrap();
    assert!(l1.parents.is_empty(), "{l1:?}");
    assert_eq!(l2.parents, std::slice::from_ref(&l1.own));
    assert_eq!(l1.contents, l2.contents);
    assert_eq!(read(&l1.own, "a").as_deref(), Some("a1"));
    assert_eq!(read(&l2.own, "a").as_deref(), Some("a2"));
    assert_eq!(read(&l2.own, "b").as_deref(), Some("b2"));
    match l2.contents {
        Contents::Changes => {
            assert_eq!(names(&l2.own, ""), ["a", "b", "gone"]);
            let whiteout = fs::symlink_metadata(l2.own.join("gone")).unwrap();
            assert!(
                whiteout.file_type().is_char_device(),
                "a deletion is a whiteout"
            );
        }
        Contents::WholeTree => {
            let view = Mounted::new(&root, &sn.view("whole", Some("l2")).unwrap());
            assert_eq!(names(&l2.own, ""), names(view.path(), ""));
            assert_eq!(names(&l2.own, ""), ["a", "b"]);
        }
    }

    sn.prepare("top", Some("l2"), &Labels::new()).unwrap();
    let top = sn.layout("top").unwrap();
    assert_eq!(top.parents, [l2.own.clone(), l1.own.clone()]);
    write_files(&root, sn, "top", &[("dir/d", "d4")]);
    assert_eq!(read(&top.own, "dir/d").as_deref(), Some("d4"));

    sn.view("v", Some("l2")).unwrap();
    let view = sn.layout("v").unwrap();
    assert_eq!(view.parents, [l2.own.clone(), l1.own.clone()]);
    assert!(
        names(&view.own, "").is_empty(),
        "a view's own dir stays empty"
    );

    assert!(matches!(sn.layout("missing"), Err(Error::NotFound { key }) if key == "missing"));
}
