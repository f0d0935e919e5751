//! Member reuse end to end: a layer diffed with the content store's member
//! index, recorded, then diffed again after a small change copies all but the
//! changed gzip members, and the blob is byte for byte what a diff without any
//! index gives.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use kiln_image::ContentStore;
use kiln_snapshotter::differ::{
    diff_overlay_reusing, diff_trees_reusing, LayerDigests, GZIP_MEMBER_CODEC,
};
use kiln_snapshotter::{diff_overlay, diff_trees, Compression, DiffOptions};
use sha2::{Digest, Sha256};

const GZIP: DiffOptions = DiffOptions {
    compression: Compression::Gzip,
    source_date_epoch: None,
};

/// A pseudo-random generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` bytes: text-like words mixed with random runs.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        const WORDS: [&[u8]; 8] = [
            b"fn main() {\n",
            b"    let x = ",
            b"kiln::layer",
            b"// a comment\n",
            b"}\n",
            b"return Ok(());\n",
            b"import os\n",
            b"<div class=\"app\">",
        ];
        let mut out = Vec::with_capacity(len + 64);
        while out.len() < len {
            let r = self.next();
            if r.is_multiple_of(5) {
                for _ in 0..(r >> 8) % 64 {
                    out.extend_from_slice(&self.next().to_le_bytes());
                }
            } else {
                out.extend_from_slice(WORDS[(r >> 3) as usize % WORDS.len()]);
                out.extend_from_slice((r >> 40).to_string().as_bytes());
            }
        }
        out.truncate(len);
        out
    }
}

/// A `COPY . /app`-like tree of about `mb` MB: 40 dirs of 50 small files
/// (1 to 8 KiB) and four big files sharing the rest.
fn build(root: &Path, mb: usize) {
    let mut rng = Rng(0x5eed);
    let mut small = 0;
    for d in 0..40 {
        let dir = root.join(format!("src{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..50 {
            let len = 1024 + (rng.next() % 7168) as usize;
            small += len;
            fs::write(dir.join(format!("f{f:02}.rs")), rng.bytes(len)).unwrap();
        }
    }
    let big = ((mb << 20).saturating_sub(small) / 4).max(1 << 20);
    fs::create_dir_all(root.join("assets")).unwrap();
    for b in 0..4 {
        let path = root.join("assets").join(format!("blob{b}.bin"));
        fs::write(path, rng.bytes(big)).unwrap();
    }
}

/// `sha256:<hex>` of the decompressed `layer`.
fn diff_id(layer: &[u8]) -> String {
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(layer)
        .read_to_end(&mut tar)
        .unwrap();
    format!("sha256:{}", hex(&Sha256::digest(&tar)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Diffs `tree` with the store's index, ingests the layer and records its
/// members, as the image exporter does; prints how long the diff took.
fn export(store: &ContentStore, tree: &Path) -> (Vec<u8>, LayerDigests) {
    let mut layer = Vec::new();
    let index = store.members();
    let start = Instant::now();
    let digests = diff_trees_reusing(None, tree, &mut layer, &GZIP, Some(&index)).unwrap();
    println!(
        "diff with index: {:.2}s, {} of {} members reused",
        start.elapsed().as_secs_f64(),
        digests.members_reused,
        digests.members.len()
    );
    let (blob, size) = store.ingest_bytes(&layer, None).unwrap();
    assert_eq!(blob.to_string(), digests.digest);
    assert_eq!(size, digests.size);
    index
        .record(GZIP_MEMBER_CODEC, &blob, &digests.members)
        .unwrap();
    (layer, digests)
}

/// Appends 100 bytes to one small file (its size and mtime change).
fn grow_one_small_file(tree: &Path) {
    let path = tree.join("src17").join("f23.rs");
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[b'z'; 100]);
    fs::write(&path, bytes).unwrap();
}

/// Rebuilds, changes one small file and re-exports; returns the timings.
fn rebuild(mb: usize) -> (f64, f64, f64) {
    let base = tempfile::tempdir().unwrap();
    let tree = base.path().join("app");
    build(&tree, mb);
    let store = ContentStore::new(&base.path().join("store")).unwrap();

    let start = Instant::now();
    let (_, first) = export(&store, &tree);
    let cold = start.elapsed().as_secs_f64();
    assert_eq!(first.members_reused, 0);
    assert!(
        first.members.len() >= mb / 2,
        "{} members",
        first.members.len()
    );

    grow_one_small_file(&tree);
    let start = Instant::now();
    let (layer, second) = export(&store, &tree);
    let warm = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut plain = Vec::new();
    let fresh = diff_trees(None, &tree, &mut plain, &GZIP).unwrap();
    let no_index = start.elapsed().as_secs_f64();

    assert!(layer == plain, "reusing members changed the layer's bytes");
    assert_eq!(second.digest, fresh.digest);
    assert_eq!(second.diff_id, fresh.diff_id);
    assert_ne!(second.diff_id, first.diff_id);
    assert!(fresh.members.is_empty() && fresh.members_reused == 0);
    let n = second.members.len() as u64;
    assert!(
        second.members_reused + 3 >= n,
        "only {} of {n} members reused",
        second.members_reused
    );
    assert_eq!(diff_id(&layer), second.diff_id);
    println!(
        "{mb} MB tree, {n} members, {} reused: export (diff + ingest + record) cold {cold:.2}s, \
         warm {warm:.2}s; diff without index {no_index:.2}s",
        second.members_reused
    );
    (cold, warm, no_index)
}

#[test]
fn a_small_change_reuses_all_other_members_with_identical_bytes() {
    rebuild(30);
}

#[test]
fn overlay_entry_point_reuses_members_too() {
    let base = tempfile::tempdir().unwrap();
    let upper = base.path().join("upper");
    build(&upper, 4);
    let store = ContentStore::new(&base.path().join("store")).unwrap();
    let index = store.members();
    let mut first = Vec::new();
    let d1 = diff_overlay_reusing(&upper, &[], &mut first, &GZIP, Some(&index)).unwrap();
    let (blob, _) = store.ingest_bytes(&first, None).unwrap();
    index.record(GZIP_MEMBER_CODEC, &blob, &d1.members).unwrap();
    grow_one_small_file(&upper);
    let mut second = Vec::new();
    let d2 = diff_overlay_reusing(&upper, &[], &mut second, &GZIP, Some(&index)).unwrap();
    let mut plain = Vec::new();
    let d3 = diff_overlay(&upper, &[], &mut plain, &GZIP).unwrap();
    assert!(second == plain);
    assert_eq!(d2.digest, d3.digest);
    assert!(d2.members_reused + 3 >= d2.members.len() as u64, "{d2:?}");
    assert!(d2.members_reused >= 1);
}

#[test]
fn zstd_and_plain_layers_list_no_members() {
    let base = tempfile::tempdir().unwrap();
    let tree = base.path().join("app");
    build(&tree, 1);
    let store = ContentStore::new(&base.path().join("store")).unwrap();
    for compression in [Compression::Zstd, Compression::None] {
        let opts = DiffOptions {
            compression,
            source_date_epoch: None,
        };
        let mut layer = Vec::new();
        let index = store.members();
        let d = diff_trees_reusing(None, &tree, &mut layer, &opts, Some(&index)).unwrap();
        assert!(d.members.is_empty(), "{compression:?}");
        assert_eq!(d.members_reused, 0);
    }
}
