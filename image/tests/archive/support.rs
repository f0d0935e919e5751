//! Helpers of the archive tests: the busybox rootfs, temp kiln roots, and
//! tar inspection and tampering.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use kiln_image::archive::docs::{ConfigDoc, ManifestDoc};
use kiln_image::media::Compression;
use kiln_image::{import_rootfs, save, ArchiveFormat, ContentStore, Digest, ImageIndex, Reference};

/// The busybox rootfs tar made by testdata/busybox/make-rootfs.sh (once per run).
pub fn busybox_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let installed = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", "busybox-static"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"));
        assert!(
            installed,
            "busybox-static is not installed: run ./scripts/install-deps --test (as root)"
        );
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/busybox/make-rootfs.sh");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("busybox.tar");
        let status = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{} failed", script.display());
        std::fs::read(&out).unwrap()
    })
}

/// A fresh kiln root with its store and index.
pub struct Root {
    _dir: tempfile::TempDir,
    pub store: ContentStore,
    pub index: ImageIndex,
}

pub fn root() -> Root {
    let dir = tempfile::tempdir().unwrap();
    Root {
        store: ContentStore::new(dir.path()).unwrap(),
        index: ImageIndex::new(dir.path()).unwrap(),
        _dir: dir,
    }
}

pub fn busybox_ref() -> Reference {
    "busybox:latest".parse().unwrap()
}

/// A root holding busybox:latest imported from the rootfs tar (gzip layer).
pub fn imported() -> (Root, Digest) {
    let r = root();
    let d = import_rootfs(
        &r.store,
        &r.index,
        busybox_tar(),
        &busybox_ref(),
        Compression::Gzip,
    )
    .unwrap();
    (r, d)
}

/// The image's manifest, config digest and diff_ids.
pub fn describe(r: &Root, reference: &Reference) -> (ManifestDoc, Digest, Vec<Digest>) {
    let digest = r
        .index
        .get(reference)
        .unwrap()
        .expect("image tagged")
        .digest;
    let manifest: ManifestDoc = r.store.read_json(&digest).unwrap();
    let config: ConfigDoc = r.store.read_json(&manifest.config.digest).unwrap();
    let config_digest = manifest.config.digest;
    (manifest, config_digest, config.rootfs.diff_ids)
}

/// The entries (path, type, mode, size, link) of a tar, gzip or not.
pub fn tar_entries(bytes: &[u8]) -> Vec<String> {
    let reader: Box<dyn Read + '_> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().unwrap().map(|e| {
        let e = e.unwrap();
        let h = e.header();
        let link = e.link_name().unwrap().map(|l| l.display().to_string());
        let kind = h.entry_type().as_byte() as char;
        let mode = h.mode().unwrap();
        let path = e.path().unwrap().display().to_string();
        format!("{path} {kind} {mode:o} {} {link:?}", h.size().unwrap())
    });
    entries.collect()
}

/// The entries of an image's single layer.
pub fn layer_entries(r: &Root, manifest: &ManifestDoc) -> Vec<String> {
    assert_eq!(manifest.layers.len(), 1);
    tar_entries(&std::fs::read(r.store.blob_path(&manifest.layers[0].digest)).unwrap())
}

pub fn save_bytes(r: &Root, format: ArchiveFormat) -> Vec<u8> {
    save(&r.store, &r.index, &[busybox_ref()], format, Vec::new()).unwrap()
}

pub fn imported_as(reference: &str) -> (Root, Digest) {
    let r = root();
    let reference: Reference = reference.parse().unwrap();
    let d = import_rootfs(
        &r.store,
        &r.index,
        busybox_tar(),
        &reference,
        Compression::None,
    )
    .unwrap();
    (r, d)
}

/// Copies a tar, flipping one byte in the middle of the first member `pick`
/// selects; returns that member's name and the new tar.
pub fn rewrite_member(archive: &[u8], pick: impl Fn(&str) -> bool) -> (String, Vec<u8>) {
    let mut picked = None;
    let out = rewrite(archive, &[], |name, data| {
        if picked.is_none() && pick(name) {
            let mid = data.len() / 2;
            data[mid] ^= 0xff;
            picked = Some(name.to_string());
        }
    });
    (picked.expect("member to tamper with"), out)
}

/// Copies a tar, letting `edit` change each member's bytes, then appends `extra`.
pub fn rewrite(
    archive: &[u8],
    extra: &[(&str, Vec<u8>)],
    mut edit: impl FnMut(&str, &mut Vec<u8>),
) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    let mut input = tar::Archive::new(archive);
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        edit(&name, &mut data);
        let mut header = entry.header().clone();
        header.set_size(data.len() as u64);
        out.append_data(&mut header, &name, &data[..]).unwrap();
    }
    for (name, data) in extra {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        out.append_data(&mut header, name, &data[..]).unwrap();
    }
    out.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}
