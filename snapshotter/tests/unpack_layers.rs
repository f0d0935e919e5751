//! `unpack::unpack_layers`: a bare layer chain (no image around it, as the
//! build cache imports it) becomes committed snapshots named by chain ID.

use std::path::Path;
use std::process::Command;

use kiln_image::{ContentStore, Digest};
use kiln_snapshotter::conformance::{Mounted, TempRoot};
use kiln_snapshotter::unpack::unpack_layers;
use kiln_snapshotter::{chain_ids, Kind, NativeSnapshotter, Snapshotter, UnpackError};

/// A plain tar layer holding `files` (path, content), in the store.
fn layer(store: &ContentStore, dir: &Path, files: &[(&str, &str)]) -> Digest {
    let tree = dir.join(format!("tree-{}", files[0].0));
    std::fs::create_dir_all(&tree).unwrap();
    for (path, content) in files {
        std::fs::write(tree.join(path), content).unwrap();
    }
    let out = Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(out.status.success());
    store.ingest_bytes(&out.stdout, None).unwrap().0
}

#[test]
fn chain_is_committed_by_chain_id_and_reused() {
    let root = TempRoot::new();
    let store = ContentStore::new(root.path()).unwrap();
    let sn = NativeSnapshotter::new(&root.path().join("sn")).unwrap();
    let a = layer(&store, root.path(), &[("a", "one")]);
    let b = layer(&store, root.path(), &[("b", "two")]);
    // Plain tar: the blob digest is the diff_id.
    let chain = [(a, a), (b, b)];
    let top = unpack_layers(&store, &chain, &sn).unwrap();
    let ids = chain_ids(&[a, b]);
    assert_eq!(top, ids[1]);
    for id in &ids {
        assert_eq!(sn.stat(id).unwrap().kind, Kind::Committed);
    }
    let mounts = sn.view("look", Some(&top)).unwrap();
    {
        let m = Mounted::new(&root, &mounts);
        assert_eq!(std::fs::read_to_string(m.path().join("a")).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(m.path().join("b")).unwrap(), "two");
    }
    sn.remove("look").unwrap();
    // Again: nothing to apply, same top.
    assert_eq!(unpack_layers(&store, &chain, &sn).unwrap(), top);
    assert_eq!(unpack_layers(&store, &[], &sn).unwrap(), "");
}

#[test]
fn wrong_diff_id_commits_nothing() {
    let root = TempRoot::new();
    let store = ContentStore::new(root.path()).unwrap();
    let sn = NativeSnapshotter::new(&root.path().join("sn")).unwrap();
    let a = layer(&store, root.path(), &[("a", "one")]);
    let wrong = Digest::of(b"not this layer");
    let err = unpack_layers(&store, &[(a, wrong)], &sn).unwrap_err();
    assert!(matches!(err, UnpackError::DiffIdMismatch { .. }), "{err}");
    assert!(sn.list().unwrap().is_empty());
}
