//! Cases about the snapshot table: stat/list, name collisions and invalid
//! requests, removal, persistence across instances, and concurrent use.

use std::collections::BTreeSet;
use std::thread;

use super::{commit_layer, read, write_files, Make, Mounted, TempRoot};
use crate::{Error, Kind, Labels, Snapshotter};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `stat` reports kind, parent and labels (carried over by `commit`); `list`
/// reports every snapshot sorted by name.
pub fn stat_and_list(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    let before = std::time::SystemTime::now();
    sn.prepare("k1", None, &labels(&[("gc", "keep")])).unwrap();
    let info = sn.stat("k1").unwrap();
    assert_eq!(
        (info.kind, info.name.as_str(), info.parent),
        (Kind::Active, "k1", None)
    );
    assert_eq!(info.labels, labels(&[("gc", "keep")]));
    assert!(info.created >= before - std::time::Duration::from_secs(5));

    sn.commit("c1", "k1").unwrap();
    let info = sn.stat("c1").unwrap();
    assert_eq!(
        (info.kind, info.labels.get("gc").map(String::as_str)),
        (Kind::Committed, Some("keep"))
    );
    assert!(matches!(sn.stat("k1"), Err(Error::NotFound { key }) if key == "k1"));

    sn.prepare("k2", Some("c1"), &Labels::new()).unwrap();
    sn.view("v1", Some("c1")).unwrap();
    let info = sn.stat("v1").unwrap();
    assert_eq!(
        (info.kind, info.parent.as_deref()),
        (Kind::View, Some("c1"))
    );
    assert_eq!(sn.stat("k2").unwrap().parent.as_deref(), Some("c1"));

    let listed: Vec<(String, Kind)> = sn
        .list()
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.kind))
        .collect();
    let expected = [
        ("c1", Kind::Committed),
        ("k2", Kind::Active),
        ("v1", Kind::View),
    ];
    let expected: Vec<(String, Kind)> = expected.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    assert_eq!(listed, expected);
}

/// Names are unique across keys and committed names; a failed commit changes
/// nothing and leaves the active snapshot usable under another name.
pub fn commit_name_collisions(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "layer", None, &[("f", "first")]);
    sn.prepare("second", None, &Labels::new()).unwrap();
    write_files(&root, sn, "second", &[("f", "second")]);
    assert_err!(sn.commit("layer", "second"), Error::AlreadyExists { key } if key == "layer");
    assert_eq!(sn.stat("second").unwrap().kind, Kind::Active);
    assert_err!(sn.prepare("second", None, &Labels::new()), Error::AlreadyExists { key } if key == "second");
    sn.prepare("third", None, &Labels::new()).unwrap();
    assert_err!(sn.commit("third", "second"), Error::AlreadyExists { key } if key == "third");
    assert_err!(sn.view("third", None), Error::AlreadyExists { key } if key == "third");
    sn.commit("layer-b", "second").unwrap();

    let v = Mounted::new(&root, &sn.view("v", Some("layer")).unwrap());
    let f = read(v.path(), "f");
    assert_eq!(
        f.as_deref(),
        Some("first"),
        "the loser overwrote the winner"
    );
}

/// Parents that are not committed, unknown keys, committing what is not active
/// and empty keys are refused, and the failed calls create nothing.
pub fn invalid_requests_are_refused(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    let none = Labels::new();
    commit_layer(&root, sn, "layer", None, &[("f", "1")]);
    sn.prepare("active", None, &none).unwrap();
    sn.view("view", Some("layer")).unwrap();

    assert_err!(sn.prepare("a", Some("active"), &none), Error::ParentNotCommitted { parent, kind: Kind::Active, .. } if parent == "active");
    assert_err!(
        sn.view("b", Some("view")),
        Error::ParentNotCommitted {
            kind: Kind::View,
            ..
        }
    );
    assert_err!(sn.prepare("c", Some("nope"), &none), Error::NotFound { key } if key == "nope");
    assert_err!(
        sn.commit("d", "layer"),
        Error::NotActive {
            kind: Kind::Committed,
            ..
        }
    );
    assert_err!(
        sn.commit("d", "view"),
        Error::NotActive {
            kind: Kind::View,
            ..
        }
    );
    assert_err!(sn.commit("d", "nope"), Error::NotFound { key } if key == "nope");
    assert_err!(sn.prepare("", None, &none), Error::InvalidKey { .. });
    assert_err!(sn.commit("", "active"), Error::InvalidKey { .. });
    let names: Vec<String> = sn.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["active", "layer", "view"]);
}

/// A snapshot with children cannot be removed; after its children it can, and its
/// key is free again.
pub fn remove_semantics(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(root.path());
    let sn = sn.as_ref();
    commit_layer(&root, sn, "base", None, &[("f", "1")]);
    commit_layer(&root, sn, "mid", Some("base"), &[("g", "2")]);
    sn.view("look", Some("mid")).unwrap();
    sn.prepare("work", Some("mid"), &Labels::new()).unwrap();

    let err = sn.remove("base").unwrap_err();
    assert!(
        matches!(&err, Error::HasChildren { key, children } if key == "base" && children == &["mid"]),
        "{err}"
    );
    let err = sn.remove("mid").unwrap_err();
    assert!(
        matches!(&err, Error::HasChildren { children, .. } if children.len() == 2),
        "{err}"
    );

    sn.remove("look").unwrap();
    sn.remove("work").unwrap();
    assert!(matches!(sn.stat("work"), Err(Error::NotFound { .. })));
    sn.remove("mid").unwrap();
    sn.remove("base").unwrap();
    assert!(sn.list().unwrap().is_empty());
    assert!(matches!(sn.remove("base"), Err(Error::NotFound { key }) if key == "base"));

    commit_layer(&root, sn, "base", None, &[("f", "new")]);
    let v = Mounted::new(&root, &sn.view("look", Some("base")).unwrap());
    assert_eq!(read(v.path(), "f").as_deref(), Some("new"));
}

/// A new instance on the same root sees the same snapshots, contents and mounts.
pub fn persists_across_reopen(make: Make<'_>) {
    let root = TempRoot::new();
    let (listed, mounts) = {
        let sn = make(root.path());
        let sn = sn.as_ref();
        commit_layer(&root, sn, "l1", None, &[("a", "1")]);
        commit_layer(&root, sn, "l2", Some("l1"), &[("b", "2")]);
        sn.prepare("work", Some("l2"), &labels(&[("x", "y")]))
            .unwrap();
        write_files(&root, sn, "work", &[("c", "3")]);
        (sn.list().unwrap(), sn.mounts("work").unwrap())
    };
    let sn = make(root.path());
    assert_eq!(sn.list().unwrap(), listed);
    assert_eq!(sn.mounts("work").unwrap(), mounts);
    let m = Mounted::new(&root, &mounts);
    let seen: Vec<Option<String>> = ["a", "b", "c"].iter().map(|f| read(m.path(), f)).collect();
    assert_eq!(seen, [Some("1".into()), Some("2".into()), Some("3".into())]);
    drop(m);
    sn.commit("l3", "work").unwrap();
    assert_eq!(make(root.path()).stat("l3").unwrap().kind, Kind::Committed);
}

/// Four instances on one root, one per thread, prepare, write and commit at once;
/// every snapshot lands, and of four commits to one name exactly one wins.
pub fn concurrent_prepare_commit(make: Make<'_>) {
    const THREADS: usize = 4;
    const ROUNDS: usize = 5;
    let root = TempRoot::new();
    let first = make(root.path());
    commit_layer(&root, first.as_ref(), "base", None, &[("base", "b")]);
    let instances: Vec<_> = (0..THREADS).map(|_| make(root.path())).collect();
    let wins: usize = thread::scope(|scope| {
        let handles: Vec<_> = (instances.iter().enumerate())
            .map(|(t, sn)| {
                let root = &root;
                scope.spawn(move || worker(root, sn.as_ref(), t, ROUNDS))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    assert_eq!(wins, 1, "exactly one commit to `shared` must win");

    let names: BTreeSet<String> = first.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(
        names.len(),
        1 + THREADS * ROUNDS + 1 + (THREADS - 1),
        "{names:?}"
    );
    let v = Mounted::new(&root, &first.view("check", Some("t3-r4")).unwrap());
    assert_eq!(read(v.path(), "t3-r4").as_deref(), Some("x"));
    assert_eq!(read(v.path(), "base").as_deref(), Some("b"));
    assert_eq!(read(v.path(), "t0-r0"), None);
}

/// One thread of `concurrent_prepare_commit`: commits `rounds` layers over `base`,
/// then races for the name `shared`; returns 1 if it won.
fn worker(root: &TempRoot, sn: &dyn Snapshotter, t: usize, rounds: usize) -> usize {
    for r in 0..rounds {
        let file = format!("t{t}-r{r}");
        commit_layer(root, sn, &file, Some("base"), &[(&file, "x")]);
    }
    let key = format!("shared-{t}");
    sn.prepare(&key, Some("base"), &Labels::new()).unwrap();
    match sn.commit("shared", &key) {
        Ok(()) => 1,
        Err(Error::AlreadyExists { .. }) => 0,
        Err(e) => panic!("commit shared: {e}"),
    }
}
