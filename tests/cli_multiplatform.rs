//! End-to-end: multi-platform images. An OCI archive whose `index.json`
//! entry is an image index (the busybox layer for the host platform, another
//! small layer for a foreign one) loads as one image stored by the index
//! digest; `images` lists it once with the host config's ID; `image inspect`
//! shows the host platform; `run` and unpacking pick the host manifest; `save
//! --format oci` writes the whole index, `--format docker` the host platform
//! only. An index without a host manifest fails with a one-line error.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_image::{ContentStore, ImageIndex, Reference};
use kiln_snapshotter::{tree_listing, unpack, NativeSnapshotter, Snapshotter};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use support::{kiln, ok, ok_as, one_line_error, tar_dir, Scratch};

/// The host architecture in OCI (Go) naming, and another one.
fn host_and_foreign() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", "arm64"),
        "aarch64" => ("arm64", "amd64"),
        other => panic!("no test platform pair for host {other}"),
    }
}

/// An OCI layout being written by hand.
struct Layout {
    dir: PathBuf,
}

impl Layout {
    fn new(dir: PathBuf) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout { dir }
    }

    /// Stores `bytes` as a blob; returns a descriptor of `media_type` for it.
    fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let hex = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    /// A one-layer image manifest for `arch` from the plain layer tar `layer`;
    /// returns (manifest descriptor with platform, config digest).
    fn image(&self, arch: &str, layer: &[u8]) -> (Value, String) {
        let diff_id = format!("sha256:{:x}", Sha256::digest(layer));
        let layer = self.blob("application/vnd.oci.image.layer.v1.tar", layer);
        let config = json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        });
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(&config).unwrap(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config, "layers": [layer],
        });
        let mut desc = self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
        desc["platform"] = json!({"architecture": arch, "os": "linux"});
        (desc, config["digest"].as_str().unwrap().to_string())
    }

    /// Writes an index of `manifests` and `index.json` naming it `name`; tars
    /// the layout to `out`; returns the index digest.
    fn finish(&self, manifests: Vec<Value>, name: &str, out: &Path) -> String {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        let mut desc = self.blob(
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        );
        let tag = name.rsplit(':').next().unwrap();
        desc["annotations"] = json!({
            "io.containerd.image.name": format!("docker.io/{name}"),
            "org.opencontainers.image.ref.name": tag,
        });
        let top = json!({"schemaVersion": 2, "manifests": [desc]});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&top).unwrap(),
        )
        .unwrap();
        tar_dir(&self.dir, out);
        desc["digest"].as_str().unwrap().to_string()
    }
}

/// Builds the busybox rootfs tar with the repository's script.
fn busybox_rootfs(dir: &Path) -> Vec<u8> {
    let out = dir.join("busybox.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "{} failed", script.display());
    std::fs::read(out).unwrap()
}

/// A tiny layer with one file, `etc/foreign`.
fn foreign_layer(dir: &Path) -> Vec<u8> {
    let tree = dir.join("foreign-tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/foreign"), "not for this host\n").unwrap();
    let out = dir.join("foreign.tar");
    tar_dir(&tree, &out);
    std::fs::read(out).unwrap()
}

/// Extracts the tar `archive` into `dir`; returns the member files (relative, sorted).
fn extract(archive: &Path, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("tar")
        .arg("-xvf")
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .output()
        .unwrap();
    let listing = ok_as(out, "tar -x");
    let mut files: Vec<String> = listing
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .filter(|l| !l.is_empty() && !l.ends_with('/'))
        .collect();
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_multi_platform_index_loads_lists_inspects_runs_and_saves() {
    let s = Scratch::new("multiplatform");
    let (host, foreign) = host_and_foreign();
    let (root, root2) = (s.0.join("root"), s.0.join("root2"));
    let layout = Layout::new(s.0.join("layout"));
    let busybox = busybox_rootfs(&s.0);
    let (host_desc, host_config) = layout.image(host, &busybox);
    let (foreign_desc, _) = layout.image(foreign, &foreign_layer(&s.0));
    let archive = s.0.join("multi.tar");
    let index = layout.finish(
        vec![foreign_desc, host_desc.clone()],
        "kiln-test/multi:1",
        &archive,
    );

    let loaded = ok(kiln(&root, &["load", "-i", archive.to_str().unwrap()]));
    assert_eq!(loaded.trim(), "Loaded image: kiln-test/multi:1");

    // Listed once; ID = the host platform's config digest; Digest = the index.
    let rows = ok(kiln(
        &root,
        &["images", "--format", "{{.Repository}} {{.ID}} {{.Digest}}"],
    ));
    assert_eq!(
        rows.trim(),
        format!("kiln-test/multi {} {index}", &host_config[7..19])
    );

    let inspect: Value =
        serde_json::from_str(&ok(kiln(&root, &["image", "inspect", "kiln-test/multi:1"]))).unwrap();
    assert_eq!(inspect[0]["Id"], host_config.as_str());
    assert_eq!(inspect[0]["Architecture"], host);
    assert_eq!(inspect[0]["Os"], "linux");
    assert_eq!(
        inspect[0]["RepoDigests"],
        json!([format!("kiln-test/multi@{index}")])
    );

    // Unpacking the index digest gives the host platform's tree.
    let content = ContentStore::new(&root).unwrap();
    let record = ImageIndex::new(&root)
        .unwrap()
        .get(&Reference::parse("kiln-test/multi:1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.digest.to_string(), index);
    let sn = NativeSnapshotter::new(&s.0.join("sn")).unwrap();
    let top = unpack(&content, &record.digest, &sn).unwrap();
    let mounts = sn.view("listing", Some(&top)).unwrap();
    let tree = tree_listing(Path::new(&mounts[0].source)).unwrap();
    assert!(tree.contains("bin/busybox"), "{tree}");
    assert!(!tree.contains("etc/foreign"), "{tree}");
    sn.remove("listing").unwrap();

    // And `run` runs it: the host's busybox, without the foreign layer's file.
    let script = "test -e /etc/foreign && echo foreign; uname -m";
    let out = ok(kiln(
        &root,
        &["run", "--rm", "kiln-test/multi:1", "sh", "-c", script],
    ));
    assert_eq!(out.trim(), std::env::consts::ARCH);

    // OCI: the whole index, every blob; loading it again gives the same digest.
    let oci = s.0.join("oci.tar");
    ok(kiln(
        &root,
        &[
            "save",
            "--format",
            "oci",
            "-o",
            oci.to_str().unwrap(),
            "kiln-test/multi:1",
        ],
    ));
    let files = extract(&oci, &s.0.join("oci"));
    let blobs = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        blobs(&s.0.join("oci")),
        blobs(&s.0.join("layout")),
        "{files:?}"
    );
    let saved_index = read_json(&s.0.join("oci/index.json"));
    assert_eq!(saved_index["manifests"][0]["digest"], index.as_str());
    ok(kiln(&root2, &["load", "-i", oci.to_str().unwrap()]));
    let again = ok(kiln(&root2, &["images", "--format", "{{.Digest}}"]));
    assert_eq!(again.trim(), index);

    // Docker: the host platform only.
    let docker = s.0.join("docker.tar");
    ok(kiln(
        &root,
        &[
            "save",
            "--format",
            "docker",
            "-o",
            docker.to_str().unwrap(),
            "kiln-test/multi:1",
        ],
    ));
    extract(&docker, &s.0.join("docker"));
    let manifest = read_json(&s.0.join("docker/manifest.json"));
    let entries = manifest.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{manifest}");
    assert_eq!(entries[0]["Config"], format!("{}.json", &host_config[7..]));
    assert_eq!(entries[0]["RepoTags"], json!(["kiln-test/multi:1"]));
    let diff_id = format!("{:x}", Sha256::digest(&busybox));
    assert_eq!(
        entries[0]["Layers"],
        json!([format!("{diff_id}/layer.tar")])
    );
    let skopeo = Command::new("skopeo")
        .args(["inspect", &format!("docker-archive:{}", docker.display())])
        .output()
        .unwrap_or_else(|e| {
            panic!("skopeo is not installed ({e}): run ./scripts/install-deps --test")
        });
    let inspected: Value = serde_json::from_str(&ok_as(skopeo, "skopeo inspect")).unwrap();
    assert_eq!(inspected["Architecture"], host);
}

#[test]
fn an_index_without_the_host_platform_fails_in_one_line() {
    let s = Scratch::new("multiplatform-foreign");
    let (host, foreign) = host_and_foreign();
    let root = s.0.join("root");
    let layout = Layout::new(s.0.join("layout"));
    let (foreign_desc, foreign_config) = layout.image(foreign, &foreign_layer(&s.0));
    let archive = s.0.join("foreign.tar");
    layout.finish(vec![foreign_desc], "kiln-test/foreign:1", &archive);
    ok(kiln(&root, &["load", "-i", archive.to_str().unwrap()]));

    // Still listed (as its only manifest), so it can be seen and removed.
    let rows = ok(kiln(
        &root,
        &["images", "--format", "{{.Repository}} {{.ID}}"],
    ));
    assert_eq!(
        rows.trim(),
        format!("kiln-test/foreign {}", &foreign_config[7..19])
    );

    let expected = format!("image kiln-test/foreign:1 has no manifest for linux/{host}");
    let docker = s.0.join("docker.tar");
    let err = one_line_error(kiln(
        &root,
        &[
            "save",
            "--format",
            "docker",
            "-o",
            docker.to_str().unwrap(),
            "kiln-test/foreign:1",
        ],
    ));
    assert!(err.contains(&expected), "{err}");
    assert!(!docker.exists());

    // OCI keeps everything (and no manifest.json entry, as nothing runs here).
    let oci = s.0.join("oci.tar");
    ok(kiln(
        &root,
        &[
            "save",
            "--format",
            "oci",
            "-o",
            oci.to_str().unwrap(),
            "kiln-test/foreign:1",
        ],
    ));
    let files = extract(&oci, &s.0.join("oci"));
    assert!(files.iter().any(|f| f == "index.json"), "{files:?}");
    assert_eq!(read_json(&s.0.join("oci/manifest.json")), json!([]));

    let out = kiln(&root, &["run", "--rm", "kiln-test/foreign:1", "true"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("has no manifest for linux/{host}")),
        "{stderr}"
    );
}
