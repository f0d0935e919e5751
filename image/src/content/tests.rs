//! Content store tests on a real filesystem (tempdirs).

use std::io::{self, Read};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use super::*;
use crate::test_alloc::peak_during;

/// A reader producing `remaining` deterministic pseudo-random bytes from a seed,
/// without holding them in memory.
struct Generated {
    state: u64,
    remaining: u64,
}

impl Generated {
    fn new(seed: u64, len: u64) -> Self {
        Generated {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            remaining: len,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.remaining as usize);
        for b in &mut buf[..n] {
            // xorshift64
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state as u8;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The digest of `Generated::new(seed, len)`, computed by streaming.
fn digest_of_generated(seed: u64, len: u64) -> Digest {
    let mut w = DigestWriter::sink();
    io::copy(&mut Generated::new(seed, len), &mut w).unwrap();
    w.digest()
}

fn store() -> (tempfile::TempDir, ContentStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::new(dir.path()).unwrap();
    (dir, store)
}

fn ingest_dir_is_empty(store: &ContentStore) -> bool {
    fs::read_dir(store.ingest_dir()).unwrap().next().is_none()
}

#[test]
fn ingest_open_verify_roundtrip() {
    let (dir, store) = store();
    let (d, size) = store.ingest_bytes(b"hello", None).unwrap();
    assert_eq!((d, size), (Digest::of(b"hello"), 5));
    let expected_path = dir.path().join("content/blobs/sha256").join(d.hex());
    assert_eq!(store.blob_path(&d), expected_path);
    let mut text = String::new();
    store.open(&d).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "hello");
    assert!(store.exists(&d).unwrap());
    assert_eq!(store.size(&d).unwrap(), 5);
    store.verify(&d).unwrap();
    assert_eq!(store.list().unwrap(), vec![d]);
    assert!(ingest_dir_is_empty(&store));
}

#[test]
fn ingest_with_expected_digest_and_duplicates() {
    let (_dir, store) = store();
    let d = Digest::of(b"same");
    assert_eq!(store.ingest_bytes(b"same", Some(&d)).unwrap(), (d, 4));
    // Already present: returns at once, the reader is not even consumed.
    let mut never_read = Generated::new(1, 10);
    assert_eq!(store.ingest(&mut never_read, Some(&d)).unwrap(), (d, 4));
    assert_eq!(never_read.remaining, 10);
    // Without an expected digest, the duplicate temp file is dropped.
    assert_eq!(store.ingest_bytes(b"same", None).unwrap(), (d, 4));
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(ingest_dir_is_empty(&store));
}

#[test]
fn digest_mismatch_publishes_nothing_and_leaves_no_temp() {
    let (_dir, store) = store();
    let wrong = Digest::of(b"something else");
    let err = store.ingest_bytes(b"payload", Some(&wrong)).unwrap_err();
    match &err {
        ImageError::DigestMismatch {
            expected,
            actual,
            size,
        } => {
            assert_eq!(
                (*expected, *actual, *size),
                (wrong, Digest::of(b"payload"), 7)
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains(&wrong.to_string()));
    assert!(!store.exists(&Digest::of(b"payload")).unwrap());
    assert!(!store.exists(&wrong).unwrap());
    assert!(store.list().unwrap().is_empty());
    assert!(ingest_dir_is_empty(&store));
}

#[test]
fn reader_error_leaves_no_temp() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("network down"))
        }
    }
    let (_dir, store) = store();
    let err = store.ingest(Failing, None).unwrap_err();
    assert!(matches!(err, ImageError::IngestRead { .. }), "{err:?}");
    assert!(ingest_dir_is_empty(&store));
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn missing_blob_errors_name_the_digest() {
    let (_dir, store) = store();
    let d = Digest::of(b"absent");
    for err in [
        store.open(&d).unwrap_err(),
        store.size(&d).unwrap_err(),
        store.verify(&d).unwrap_err(),
    ] {
        assert!(matches!(err, ImageError::BlobNotFound { digest } if digest == d));
    }
    assert!(!store.exists(&d).unwrap());
    assert!(!store.delete(&d).unwrap());
}

#[test]
fn verify_and_read_detect_corruption() {
    let (_dir, store) = store();
    let (d, _) = store.ingest_bytes(b"{\"a\":1}", None).unwrap();
    let path = store.blob_path(&d);
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    fs::write(&path, b"{\"a\":2}").unwrap();
    let err = store.verify(&d).unwrap_err();
    assert!(matches!(err, ImageError::BlobCorrupt { digest, .. } if digest == d));
    assert!(store.read_json::<serde_json::Value>(&d).is_err());
}

#[test]
fn read_json_and_delete() {
    let (_dir, store) = store();
    let (d, _) = store.ingest_bytes(br#"{"schemaVersion":2}"#, None).unwrap();
    let v: serde_json::Value = store.read_json(&d).unwrap();
    assert_eq!(v["schemaVersion"], 2);
    let (not_json, _) = store.ingest_bytes(b"not json", None).unwrap();
    let err = store.read_json::<serde_json::Value>(&not_json).unwrap_err();
    assert!(matches!(err, ImageError::BlobJson { digest, .. } if digest == not_json));
    assert!(store.delete(&d).unwrap());
    assert!(!store.exists(&d).unwrap());
    assert_eq!(store.list().unwrap(), vec![not_json]);
}

#[test]
fn list_skips_foreign_files() {
    let (_dir, store) = store();
    let (d, _) = store.ingest_bytes(b"x", None).unwrap();
    fs::write(store.blob_path(&d).with_file_name("README"), b"hi").unwrap();
    assert_eq!(store.list().unwrap(), vec![d]);
}

#[test]
fn streamed_64_mib_ingest_keeps_memory_flat() {
    const LEN: u64 = 64 << 20;
    let (_dir, store) = store();
    let want = digest_of_generated(7, LEN);
    let (result, peak) = peak_during(|| store.ingest(Generated::new(7, LEN), Some(&want)));
    assert_eq!(result.unwrap(), (want, LEN));
    assert!(
        peak < 2 << 20,
        "ingest peaked at {peak} bytes for a {LEN}-byte blob"
    );
    assert_eq!(store.size(&want).unwrap(), LEN);
    store.verify(&want).unwrap();
}

#[test]
fn concurrent_ingests_of_same_and_overlapping_blobs() {
    const BLOBS: u64 = 5;
    const LEN: u64 = 1 << 20;
    let (_dir, store) = store();
    let store = Arc::new(store);
    let digests: Arc<Vec<Digest>> =
        Arc::new((0..BLOBS).map(|s| digest_of_generated(s, LEN)).collect());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (store, digests) = (Arc::clone(&store), Arc::clone(&digests));
            thread::spawn(move || {
                // Every thread writes blob 0; the rest overlap between neighbours.
                for seed in [0, 1 + t % (BLOBS - 1), 1 + (t + 1) % (BLOBS - 1)] {
                    let expected = (t % 2 == 0).then_some(&digests[seed as usize]);
                    let (d, n) = store.ingest(Generated::new(seed, LEN), expected).unwrap();
                    assert_eq!((d, n), (digests[seed as usize], LEN));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut want = digests.to_vec();
    want.sort();
    assert_eq!(store.list().unwrap(), want);
    for d in want {
        store.verify(&d).unwrap();
    }
    assert!(ingest_dir_is_empty(&store));
}

#[test]
fn gc_ingest_removes_only_old_temp_files() {
    let (_dir, store) = store();
    let (blob, _) = store.ingest_bytes(b"keep me", None).unwrap();
    let old = store.ingest_dir().join("123-0-0.partial");
    let fresh = store.ingest_dir().join("123-0-1.partial");
    fs::write(&old, b"half a blob").unwrap();
    fs::write(&fresh, b"being written").unwrap();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    assert_eq!(store.gc_ingest(Duration::from_secs(600)).unwrap(), 1);
    assert!(!old.exists() && fresh.exists());
    store.verify(&blob).unwrap();
    assert_eq!(store.gc_ingest(Duration::ZERO).unwrap(), 1);
    assert!(ingest_dir_is_empty(&store));
    store.verify(&blob).unwrap();
}
