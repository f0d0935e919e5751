//! The uncompressed-size cache (`<root>/content/uncompressed/<blob hex>`):
//! `load` fills it for gzip layers it checks, `save` uses it, and garbage
//! collection drops the records of blobs that are gone.

#[path = "archive/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use kiln_image::gc::{collect, remove_unreferenced, GcOptions};
use kiln_image::{load, ArchiveFormat, Digest};
use support::*;

/// The cache record path of `blob` in `r`.
fn record(r: &Root, blob: &Digest) -> PathBuf {
    r.store.root().join("uncompressed").join(blob.hex())
}

/// The single layer blob of busybox:latest in `r`.
fn layer_blob(r: &Root) -> Digest {
    describe(r, &busybox_ref()).0.layers[0].digest
}

#[test]
fn loading_a_docker_archive_with_a_gzip_layer_records_its_size() {
    let (a, _) = imported_as("busybox:latest");
    let plain = save_bytes(&a, ArchiveFormat::Docker);
    let archive = rewrite(&plain, &[], |name, data| {
        if name.ends_with("/layer.tar") {
            *data = gzip(data);
        }
    });
    let b = root();
    load(&b.store, &b.index, &archive[..]).unwrap();
    let blob = layer_blob(&b);
    let diff_id = Digest::of(busybox_tar());
    assert_ne!(
        blob, diff_id,
        "the layer must have been stored gzip-compressed"
    );
    let text = std::fs::read_to_string(record(&b, &blob)).unwrap();
    assert_eq!(text, format!("{diff_id} {}\n", busybox_tar().len()));
    // And a save from that root writes the same uncompressed layer back.
    let again = save_bytes(&b, ArchiveFormat::Docker);
    assert_eq!(tar_entries(&again), tar_entries(&plain));
}

#[test]
fn loading_an_uncompressed_layer_records_nothing() {
    let (a, _) = imported_as("busybox:latest");
    let b = root();
    load(
        &b.store,
        &b.index,
        &save_bytes(&a, ArchiveFormat::Docker)[..],
    )
    .unwrap();
    assert!(!record(&b, &layer_blob(&b)).exists());
}

#[test]
fn collect_drops_records_of_deleted_and_missing_blobs() {
    let (r, _) = imported();
    let blob = layer_blob(&r);
    assert!(record(&r, &blob).exists(), "import records gzip layers");
    // A record whose blob never existed (e.g. left by an interrupted delete).
    let orphan = Digest::of(b"no such blob");
    std::fs::write(record(&r, &orphan), format!("{orphan} 1\n")).unwrap();
    let foreign = r.store.root().join("uncompressed").join("README");
    std::fs::write(&foreign, "not a record").unwrap();

    r.index.untag(&busybox_ref()).unwrap();
    let options = GcOptions {
        grace: Duration::ZERO,
    };
    let report = collect(&r.store, &r.index, &options).unwrap();
    assert!(report.deleted.contains(&blob), "{report:?}");
    assert!(!record(&r, &blob).exists());
    assert!(!record(&r, &orphan).exists());
    assert!(
        foreign.exists(),
        "files that are not records are left alone"
    );
}

#[test]
fn collect_keeps_records_of_live_blobs() {
    let (r, _) = imported();
    let blob = layer_blob(&r);
    let options = GcOptions {
        grace: Duration::ZERO,
    };
    collect(&r.store, &r.index, &options).unwrap();
    assert!(r.store.exists(&blob).unwrap());
    assert!(record(&r, &blob).exists());
}

#[test]
fn rmi_style_removal_drops_the_record_with_the_blob() {
    let (r, manifest) = imported();
    let blob = layer_blob(&r);
    r.index.untag(&busybox_ref()).unwrap();
    let report = remove_unreferenced(&r.store, &r.index, &[manifest]).unwrap();
    assert!(report.deleted.contains(&blob), "{report:?}");
    assert!(!record(&r, &blob).exists());
}
