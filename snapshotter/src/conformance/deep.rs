//! Cases about long layer chains: how many layers a snapshot may have must not
//! depend on the length of the root path (Docker allows 128 layers).

use std::fs;

use super::{commit_layer, names, read, write_files, Make, Mounted, TempRoot};
use crate::Labels;

/// Layers in the chain of [`deep_chain_under_long_root`]: well above Docker's 128.
pub const DEEP_CHAIN: usize = 200;

/// A 150-byte directory name the root lives under.
fn long_root(root: &TempRoot) -> std::path::PathBuf {
    let long = root.path().join("d".repeat(150));
    fs::create_dir_all(&long).expect("create long root");
    long
}

/// A chain of [`DEEP_CHAIN`] committed layers under a root whose path is over
/// 150 bytes long: each layer adds `f<i>` and rewrites `top`, layer 100 deletes
/// `f50`. A view of the last layer and an active snapshot over it mount, show
/// every layer's file with the nearest layer winning, and the active one takes
/// writes.
pub fn deep_chain_under_long_root(make: Make<'_>) {
    let root = TempRoot::new();
    let sn = make(&long_root(&root));
    let sn = sn.as_ref();
    let mut parent: Option<String> = None;
    for i in 1..=DEEP_CHAIN {
        let name = format!("l{i}");
        let (file, text) = (format!("f{i}"), i.to_string());
        if i == 100 {
            let key = "l100-active";
            sn.prepare(key, parent.as_deref(), &Labels::new()).unwrap();
            let mounted = Mounted::new(&root, &sn.mounts(key).unwrap());
            fs::write(mounted.join(&file), &text).unwrap();
            fs::write(mounted.join("top"), &text).unwrap();
            fs::remove_file(mounted.join("f50")).unwrap();
            drop(mounted);
            sn.commit(&name, key).unwrap();
        } else {
            let files = [(file.as_str(), text.as_str()), ("top", text.as_str())];
            commit_layer(&root, sn, &name, parent.as_deref(), &files);
        }
        parent = Some(name);
    }
    let top = parent.as_deref();
    let mut expected: Vec<String> = (1..=DEEP_CHAIN)
        .filter(|&i| i != 50)
        .map(|i| format!("f{i}"))
        .collect();
    expected.push("top".into());
    expected.sort();

    let view = Mounted::new(&root, &sn.view("deep-view", top).unwrap());
    assert_eq!(names(view.path(), ""), expected);
    assert_eq!(read(view.path(), "top").as_deref(), Some("200"));
    for i in [1, 2, 49, 51, 100, 128, 199, 200] {
        let text = i.to_string();
        assert_eq!(read(view.path(), &format!("f{i}")), Some(text));
    }

    sn.prepare("deep-active", top, &Labels::new()).unwrap();
    write_files(&root, sn, "deep-active", &[("top", "active")]);
    let active = Mounted::new(&root, &sn.mounts("deep-active").unwrap());
    assert_eq!(read(active.path(), "top").as_deref(), Some("active"));
    assert_eq!(read(active.path(), "f1").as_deref(), Some("1"));
    assert_eq!(read(active.path(), "f50"), None);
    assert_eq!(read(view.path(), "top").as_deref(), Some("200"));
}
