//! End-to-end: `kiln import`, `tag`, `images`, `save`, `load` against a temp `--root`.

mod support;

use std::path::{Path, PathBuf};
use support::{kiln, ok, one_line_error, tar_dir, Scratch};

/// A small rootfs tar made with the system's tar.
fn rootfs_tar(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/hello"), "hello\n").unwrap();
    std::os::unix::fs::symlink("/etc/hello", tree.join("link")).unwrap();
    let tar = dir.join("rootfs.tar");
    tar_dir(&tree, &tar);
    tar
}

#[test]
fn import_tag_images_save_and_load_round_trip() {
    let s = Scratch::new("roundtrip");
    let (root, root2) = (s.0.join("root"), s.0.join("root2"));
    let tar = rootfs_tar(&s.0);

    let id = ok(kiln(&root, &["import", tar.to_str().unwrap(), "demo:1"]));
    assert!(id.starts_with("sha256:") && id.trim().len() == 71, "{id}");
    ok(kiln(&root, &["tag", "demo:1", "localhost:5000/demo/app:2"]));

    let listing = ok(kiln(&root, &["images"]));
    let lines: Vec<&str> = listing.lines().collect();
    assert!(
        lines[0].starts_with("REPOSITORY") && lines[0].ends_with("SIZE"),
        "{listing}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("demo ") && l.contains(&id.trim()[7..19])),
        "{listing}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("localhost:5000/demo/app ")),
        "{listing}"
    );
    assert_eq!(
        ok(kiln(&root, &["images", "-q"])).trim(),
        &id.trim()[7..19],
        "one ID for two tags"
    );

    for format in ["docker", "oci"] {
        let archive = s.0.join(format!("{format}.tar"));
        ok(kiln(
            &root,
            &[
                "save",
                "--format",
                format,
                "-o",
                archive.to_str().unwrap(),
                "demo:1",
                "localhost:5000/demo/app:2",
            ],
        ));
        let loaded = ok(kiln(&root2, &["load", "-i", archive.to_str().unwrap()]));
        assert!(
            loaded.contains("Loaded image: demo:1"),
            "{format}: {loaded}"
        );
        assert!(
            loaded.contains("Loaded image: localhost:5000/demo/app:2"),
            "{format}: {loaded}"
        );
    }
    let listing2 = ok(kiln(&root2, &["images", "--digests"]));
    assert!(
        listing2
            .lines()
            .any(|l| l.starts_with("demo ") && l.contains("sha256:")),
        "{listing2}"
    );
}

#[test]
fn bad_input_gives_one_line_errors_and_no_partial_output() {
    let s = Scratch::new("errors");
    let root = s.0.join("root");
    let err = one_line_error(kiln(&root, &["import", "/nonexistent.tar", "a"]));
    assert!(err.contains("/nonexistent.tar"), "{err}");
    let err = one_line_error(kiln(&root, &["tag", "nosuch", "b"]));
    assert_eq!(err, "kiln: No such image: nosuch\n");

    let tar = rootfs_tar(&s.0);
    ok(kiln(&root, &["import", tar.to_str().unwrap(), "demo"]));
    let err = one_line_error(kiln(&root, &["tag", "demo", "Bad:Ref!"]));
    assert!(err.contains("invalid reference format"), "{err}");

    let out = s.0.join("out.tar");
    let err = one_line_error(kiln(
        &root,
        &["save", "-o", out.to_str().unwrap(), "demo", "nosuch"],
    ));
    assert!(err.contains("nosuch"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&s.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("out."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "a failed save leaves no file: {leftovers:?}"
    );

    let garbage = s.0.join("garbage.tar");
    std::fs::write(&garbage, b"not a tar at all").unwrap();
    let err = one_line_error(kiln(&root, &["load", "-i", garbage.to_str().unwrap()]));
    assert!(err.contains("garbage.tar"), "{err}");
}
