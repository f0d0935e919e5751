//! How many layers an image may have (red-team M2): overlay mount options used
//! to name every lower directory by its full path and overflowed the one page
//! `mount(2)` takes, so the limit was 83 layers under a short `--root` and 37
//! under a 78-byte one. Docker's overlay2 allows 128; kiln now allows 500 on
//! Linux 6.8+ whatever the root path (see snapshotter/src/overlay_mount.rs).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{kiln, load_busybox_local, ok_as, Scratch};

/// A root directory under `scratch` whose path is exactly `len` bytes long.
fn root_of_len(scratch: &Scratch, len: usize) -> PathBuf {
    let base = scratch.0.join("r");
    let pad = len - base.as_os_str().len();
    let root = PathBuf::from(format!("{}{}", base.display(), "x".repeat(pad)));
    std::fs::create_dir_all(&root).unwrap();
    assert_eq!(root.as_os_str().len(), len);
    root
}

/// busybox:local plus `count` one-file layers, as a docker archive at `out`
/// (testdata/layers/many-layers.py).
fn many_layer_archive(count: usize, out: &Path) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let status = Command::new("python3")
        .arg(data.join("layers/many-layers.py"))
        .arg(data.join("difftest/base/busybox-local.tar"))
        .arg(count.to_string())
        .arg(out)
        .arg("many:1")
        .status()
        .expect("run python3");
    assert!(status.success(), "many-layers.py failed");
}

#[test]
fn image_with_151_layers_loads_and_runs() {
    let scratch = Scratch::new("layers-load");
    let root = scratch.0.join("root");
    let archive = scratch.0.join("many.tar");
    many_layer_archive(150, &archive);
    ok_as(
        kiln(&root, &["load", "-i", archive.to_str().unwrap()]),
        "kiln load",
    );
    let out = ok_as(
        kiln(
            &root,
            &["run", "--rm", "many:1", "cat", "/f150", "/f1", "/top"],
        ),
        "kiln run many:1",
    );
    assert_eq!(out, "150\n1\n150\n");
}

#[test]
fn dockerfile_with_130_runs_builds_under_a_78_byte_root() {
    let scratch = Scratch::new("layers-build");
    let root = root_of_len(&scratch, 78);
    load_busybox_local(&root);
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let mut dockerfile = String::from("FROM busybox:local\n");
    for n in 1..=130 {
        dockerfile.push_str(&format!("RUN echo {n} > /f{n}\n"));
    }
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let ctx = ctx.to_str().unwrap();
    ok_as(
        kiln(&root, &["build", "-q", "-t", "deep:1", ctx]),
        "kiln build (130 RUN steps)",
    );
    let out = ok_as(
        kiln(
            &root,
            &["run", "--rm", "deep:1", "cat", "/f1", "/f65", "/f130"],
        ),
        "kiln run deep:1",
    );
    assert_eq!(out, "1\n65\n130\n");
}
