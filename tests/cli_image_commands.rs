//! End-to-end: `kiln image inspect|history|prune`, `images` filters and
//! formats, `rmi`, `system df` against a temp `--root`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::{kiln, kiln_stdin, ok, one_line_error, tar_dir, Scratch};

/// This file's fixtures on top of the shared scratch folder.
trait ImageFixtures {
    fn root(&self) -> PathBuf;
    fn tar(&self, name: &str, content: &str) -> String;
    fn image(&self, name: &str, content: &str) -> String;
    fn blob_count(&self) -> usize;
    fn blob_exists(&self, digest: &str) -> bool;
}

impl ImageFixtures for Scratch {
    fn root(&self) -> PathBuf {
        self.0.join("root")
    }

    /// A rootfs tar with one file holding `content`, made with the system tar.
    fn tar(&self, name: &str, content: &str) -> String {
        let tree = self.0.join(format!("tree-{name}"));
        std::fs::create_dir_all(tree.join("etc")).unwrap();
        std::fs::write(tree.join("etc/file"), content).unwrap();
        let tar = self.0.join(format!("{name}.tar"));
        tar_dir(&tree, &tar);
        tar.to_str().unwrap().to_string()
    }

    /// Imports a fresh image named `name`; returns its ID (`sha256:…`).
    fn image(&self, name: &str, content: &str) -> String {
        let tar = self.tar(name.replace([':', '/'], "_").as_str(), content);
        ok(kiln(&self.root(), &["import", &tar, name]))
            .trim()
            .to_string()
    }

    fn blob_count(&self) -> usize {
        std::fs::read_dir(self.root().join("content/blobs/sha256"))
            .unwrap()
            .count()
    }

    fn blob_exists(&self, digest: &str) -> bool {
        let hex = digest.trim_start_matches("sha256:");
        self.root().join("content/blobs/sha256").join(hex).exists()
    }
}

#[test]
fn inspect_prints_docker_shaped_json_and_templates() {
    let s = Scratch::new("inspect");
    let root = s.root();
    let id = s.image("demo:1", "one");
    ok(kiln(&root, &["tag", "demo:1", "localhost:5000/demo:2"]));

    let json = ok(kiln(&root, &["image", "inspect", "demo:1"]));
    assert!(json.trim_start().starts_with('['), "{json}");
    for needle in [
        format!("\"Id\": \"{id}\""),
        "\"demo:1\"".to_string(),
        "\"localhost:5000/demo:2\"".to_string(),
        "\"demo@sha256:".to_string(),
        "\"Type\": \"layers\"".to_string(),
        "\"Os\": \"linux\"".to_string(),
        "\"LastTagTime\": \"20".to_string(),
    ] {
        assert!(json.contains(&needle), "{needle} in {json}");
    }

    let out = ok(kiln(
        &root,
        &[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{json .RepoTags}} {{.RootFS.Type}}",
            "demo:1",
            &id[7..15],
        ],
    ));
    let line = format!("{id} [\"demo:1\",\"localhost:5000/demo:2\"] layers");
    assert_eq!(out, format!("{line}\n{line}\n"));
    let out = ok(kiln(
        &root,
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Env}}",
            "demo:1",
        ],
    ));
    assert_eq!(out, "null\n");

    let err = one_line_error(kiln(
        &root,
        &["image", "inspect", "-f", "{{.Nope}}", "demo:1"],
    ));
    assert!(err.contains("can't evaluate field Nope"), "{err}");
    let err = one_line_error(kiln(&root, &["image", "inspect", "demo:1", "nosuch"]));
    assert_eq!(err, "kiln: No such image: nosuch\n");
}

#[test]
fn history_lists_layers_newest_first() {
    let s = Scratch::new("history");
    let root = s.root();
    let id = s.image("demo", "one");
    let out = ok(kiln(&root, &["image", "history", "demo"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("IMAGE") && lines[0].contains("CREATED BY"),
        "{out}"
    );
    assert!(lines[1].starts_with(&id[7..19]), "{out}");
    let quiet = ok(kiln(
        &root,
        &["image", "history", "-q", "--no-trunc", "demo"],
    ));
    assert_eq!(quiet.trim(), id);
}

#[test]
fn images_filters_and_formats() {
    let s = Scratch::new("filters");
    let root = s.root();
    let one = s.image("demo:1", "one");
    let two = s.image("demo:2", "two");
    s.image("other/app:1", "three");
    // Re-importing over demo:2 leaves the old image dangling.
    s.image("demo:2", "two again");

    let names = |args: &[&str]| {
        let mut all = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        all.extend_from_slice(args);
        ok(kiln(&root, &all))
    };
    assert_eq!(names(&["-f", "reference=demo"]), "demo:1\ndemo:2\n");
    assert_eq!(names(&["-f", "reference=demo:1"]), "demo:1\n");
    assert_eq!(names(&["-f", "reference=*"]), "demo:1\ndemo:2\n");
    assert_eq!(names(&["-f", "reference=*/*", "-a"]), "other/app:1\n");
    assert_eq!(names(&["-f", "dangling=true"]), "<none>:<none>\n");
    assert_eq!(
        names(&["-f", "dangling=false", "-f", "reference=demo*"]),
        "demo:1\ndemo:2\n"
    );
    assert_eq!(names(&["-f", "label=maintainer"]), "");

    let ids = ok(kiln(&root, &["images", "-q", "-f", "dangling=true"]));
    assert_eq!(ids.trim(), &two[7..19]);
    let table = ok(kiln(
        &root,
        &[
            "images",
            "--format",
            "table {{.Repository}}\\t{{.ID}}",
            "-f",
            "reference=demo:1",
        ],
    ));
    assert_eq!(
        table,
        format!("REPOSITORY   IMAGE ID\ndemo         {}\n", &one[7..19])
    );

    let err = one_line_error(kiln(&root, &["images", "-f", "bogus=1"]));
    assert!(err.contains("invalid filter 'bogus'"), "{err}");
}

#[test]
fn rmi_untags_then_deletes_only_unshared_blobs() {
    let s = Scratch::new("rmi");
    let root = s.root();
    let id = s.image("demo:1", "one");
    ok(kiln(&root, &["tag", "demo:1", "demo:2"]));
    let other = s.image("other", "two");
    let before = s.blob_count();
    assert_eq!(before, 6, "two images of manifest + config + layer");

    assert_eq!(ok(kiln(&root, &["rmi", "demo:2"])), "Untagged: demo:2\n");
    assert_eq!(s.blob_count(), before, "still tagged demo:1");

    let err = one_line_error(kiln(&root, &["rmi", "nosuch"]));
    assert_eq!(err, "kiln: No such image: nosuch\n");
    let err = one_line_error(kiln(&root, &["rmi", "zz"]));
    assert_eq!(err, "kiln: No such image: zz\n");

    let out = ok(kiln(&root, &["rmi", "demo:1"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: demo:1");
    assert_eq!(lines[1], format!("Deleted: {id}"));
    assert_eq!(s.blob_count(), 3);
    assert!(!s.blob_exists(&id));
    assert!(s.blob_exists(&other));

    // By ID prefix; several names need -f.
    ok(kiln(&root, &["tag", "other", "other:2"]));
    let err = one_line_error(kiln(&root, &["rmi", &other[7..13]]));
    assert!(err.contains("must be forced"), "{err}");
    let out = ok(kiln(&root, &["rmi", "-f", &other[7..13]]));
    assert!(
        out.contains("Untagged: other:2") && out.contains("Untagged: other:latest"),
        "{out}"
    );
    assert_eq!(s.blob_count(), 0);
    let listing = ok(kiln(&root, &["images", "-q"]));
    assert_eq!(listing, "");
}

#[test]
fn rmi_keeps_layers_shared_with_another_image() {
    let s = Scratch::new("shared");
    let root = s.root();
    let tar = s.tar("same", "same content");
    ok(kiln(&root, &["import", &tar, "a"]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(kiln(&root, &["import", &tar, "b"]));
    // Same layer, different configs (created differs): 2 manifests, 2 configs, 1 layer.
    assert_eq!(s.blob_count(), 5);
    ok(kiln(&root, &["rmi", "a"]));
    assert_eq!(s.blob_count(), 3, "the shared layer stays");
    let json = ok(kiln(
        &root,
        &["image", "inspect", "-f", "{{json .RootFS.Layers}}", "b"],
    ));
    assert!(json.contains("sha256:"), "{json}");
    ok(kiln(&root, &["rmi", "b"]));
    assert_eq!(s.blob_count(), 0);
}

#[test]
fn prune_asks_then_removes_dangling_or_all_images() {
    let s = Scratch::new("prune");
    let root = s.root();
    let old = s.image("demo", "one");
    let new = s.image("demo", "two");
    assert_eq!(s.blob_count(), 6);

    let out = ok(kiln_stdin(&root, &["image", "prune"], "n\n"));
    assert!(
        out.starts_with("WARNING! This will remove all dangling images."),
        "{out}"
    );
    assert_eq!(s.blob_count(), 6, "not confirmed");

    let out = ok(kiln_stdin(&root, &["image", "prune"], "y\n"));
    assert!(out.contains(&format!("deleted: {old}")), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(s.blob_count(), 3);
    assert!(s.blob_exists(&new));

    let out = ok(kiln(&root, &["image", "prune", "-f"]));
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let out = ok(kiln(&root, &["image", "prune", "-a", "-f"]));
    assert!(out.contains("untagged: demo:latest"), "{out}");
    assert_eq!(s.blob_count(), 0);
}

#[test]
fn system_df_counts_images_once() {
    let s = Scratch::new("df");
    let root = s.root();
    let empty = ok(kiln(&root, &["system", "df"]));
    assert!(
        empty
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("Images          0"),
        "{empty}"
    );
    s.image("demo", "one");
    ok(kiln(&root, &["tag", "demo", "demo:2"]));
    let out = ok(kiln(&root, &["system", "df"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("TYPE") && lines[0].ends_with("RECLAIMABLE"),
        "{out}"
    );
    let images: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&images[..3], ["Images", "1", "0"], "{out}");
    assert!(images[4].ends_with('B') && images[5] == "(100%)", "{out}");
    assert!(lines[2].starts_with("Containers"), "{out}");
    assert_eq!(lines.len(), 5);
}

#[test]
fn untagged_loaded_images_stay_findable_by_id() {
    let s = Scratch::new("untagged");
    let root = s.root();
    let id = s.image("demo:1", "one");
    let archive = s.0.join("saved.tar");
    ok(kiln(
        &root,
        &["save", "-o", archive.to_str().unwrap(), "demo:1"],
    ));
    // Make it an archive of an untagged image, like `docker save <id>`.
    let tree = s.0.join("archive");
    std::fs::create_dir_all(&tree).unwrap();
    let untar = Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-xf")
        .arg(&archive)
        .status();
    assert!(untar.unwrap().success());
    let manifest = std::fs::read_to_string(tree.join("manifest.json")).unwrap();
    let manifest = manifest.replace(r#""RepoTags":["demo:1"]"#, r#""RepoTags":null"#);
    std::fs::write(tree.join("manifest.json"), manifest).unwrap();
    let untagged = s.0.join("untagged.tar");
    let retar = Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cf")
        .arg(&untagged)
        .arg(".")
        .status();
    assert!(retar.unwrap().success());

    let other = s.0.join("root2");
    let out = ok(kiln(&other, &["load", "-i", untagged.to_str().unwrap()]));
    assert_eq!(out, format!("Loaded image ID: {id}\n"));
    let listing = ok(kiln(
        &other,
        &["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"],
    ));
    assert_eq!(listing, format!("<none> <none> {}\n", &id[7..19]));
    let tags = ok(kiln(
        &other,
        &["image", "inspect", "-f", "{{json .RepoTags}}", &id[7..11]],
    ));
    assert_eq!(tags, "[]\n");

    ok(kiln(&other, &["tag", &id[7..11], "named:1"]));
    let dangling = ok(kiln(&other, &["images", "-q", "-f", "dangling=true"]));
    assert_eq!(dangling, "", "tagging removes the untagged record");
    let out = ok(kiln(&other, &["rmi", "named:1"]));
    assert_eq!(out.lines().nth(1), Some(format!("Deleted: {id}").as_str()));
}

#[test]
fn prune_removes_stale_partial_blobs_but_not_fresh_ones() {
    let s = Scratch::new("prune-ingest");
    let root = s.0.join("root");
    ok(kiln(&root, &["images"]));
    let ingest = root.join("content/ingest");
    std::fs::create_dir_all(&ingest).unwrap();
    let (stale, fresh) = (ingest.join("killed.partial"), ingest.join("live.partial"));
    std::fs::write(&stale, b"left by a killed kiln").unwrap();
    std::fs::write(&fresh, b"still being written").unwrap();
    let status = Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(status.success());

    ok(kiln(&root, &["image", "prune", "-f"]));
    assert!(
        !stale.exists(),
        "a partial blob older than the grace period is removed"
    );
    assert!(
        fresh.exists(),
        "a recent partial blob may belong to a live ingest"
    );
}
