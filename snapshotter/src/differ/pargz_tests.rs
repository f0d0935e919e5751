//! Tests of [`super::pargz::ParallelGzWriter`]: round trips, determinism across
//! thread counts, and the real `gzip` tool reading the output.

use std::io::{Read, Write};
use std::process::Command;

use super::pargz::{ParallelGzWriter, CHUNK_SIZE};

/// `len` bytes alternating random runs and repeated text, so chunks compress
/// to different sizes (workers finish out of order).
fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let run = 1 + (state % 4096) as usize;
        if state.is_multiple_of(3) {
            out.extend((0..run).map(|i| (state >> (i % 56)) as u8));
        } else {
            out.extend(b"kiln layer text ".iter().cycle().take(run));
        }
    }
    out.truncate(len);
    out
}

/// Compresses `data` written in `piece`-byte writes with the given pool shape.
fn gzip(data: &[u8], threads: usize, chunk: usize, piece: usize) -> Vec<u8> {
    let mut w = ParallelGzWriter::with_threads(Vec::new(), threads, chunk);
    for part in data.chunks(piece) {
        w.write_all(part).unwrap();
    }
    w.finish().unwrap()
}

/// Decompresses every member.
fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Number of gzip members: each starts with the fixed 10-byte header.
fn members(gz: &[u8]) -> usize {
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    gz.windows(header.len()).filter(|w| *w == header).count()
}

#[test]
fn multi_mb_stream_round_trips_through_multi_gz_decoder() {
    let data = sample(5 * CHUNK_SIZE + 12_345, 7);
    let gz = gzip(&data, 4, CHUNK_SIZE, 100_000);
    assert!(gz.len() < data.len(), "{} >= {}", gz.len(), data.len());
    assert!(members(&gz) >= 6, "expected one member per chunk");
    assert_eq!(gunzip(&gz), data);
}

#[test]
fn output_depends_only_on_input_not_threads_or_write_sizes() {
    let data = sample(3 * CHUNK_SIZE + 999, 11);
    let one = gzip(&data, 1, CHUNK_SIZE, 4096);
    assert_eq!(one, gzip(&data, 1, CHUNK_SIZE, 4096), "same run twice");
    assert_eq!(
        one,
        gzip(&data, 8, CHUNK_SIZE, 777),
        "8 threads, odd writes"
    );
    assert_eq!(one, gzip(&data, 3, CHUNK_SIZE, data.len()), "one big write");
}

#[test]
fn many_small_chunks_keep_their_order() {
    // 1 KiB chunks: hundreds of members through a small in-flight window.
    let data = sample(700_000, 3);
    let gz = gzip(&data, 3, 1024, 5000);
    assert_eq!(members(&gz), data.len().div_ceil(1024));
    assert_eq!(gunzip(&gz), data);
}

#[test]
fn empty_input_is_one_valid_member() {
    let gz = gzip(&[], 2, CHUNK_SIZE, 1);
    assert_eq!(members(&gz), 1);
    assert!(gunzip(&gz).is_empty());
}

#[test]
fn gzip_tool_reads_the_output() {
    let data = sample(3 * CHUNK_SIZE + 4321, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.tar.gz");
    std::fs::write(&path, gzip(&data, 4, CHUNK_SIZE, 65536)).unwrap();
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .output()
        .expect("run gzip -dc");
    assert!(
        out.status.success(),
        "gzip -dc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "gzip -dc output differs from the input");
}
