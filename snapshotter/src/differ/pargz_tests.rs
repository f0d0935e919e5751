//! Tests of [`super::pargz::ParallelGzWriter`] and [`super::cdc`]: round trips,
//! determinism across thread counts and write sizes, content-defined cuts that
//! resynchronise after an edit, member reuse from an index, and the real
//! `gzip` tool reading the output. (Throughput is measured end to end by
//! `benches/build.sh` and `benches/storage.sh`.)

use std::io::{Read, Write};
use std::process::Command;

use kiln_image::content::MemberIndex;
use kiln_image::{ContentStore, Digest};

use super::cdc::{reference_cuts, CdcParams, Chunker, LAYER_CDC};
use super::pargz::{compress, MemberLog, ParallelGzWriter, GZIP_MEMBER_CODEC};

/// Small chunks (256 B to 4 KiB, about 1 KiB) so short inputs give many members.
const SMALL: CdcParams = CdcParams::new(256, 768, 4096, 12, 8);

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

/// `len` bytes like a real layer: text-like runs of words from a small
/// vocabulary (compresses about 3x) mixed with incompressible random runs.
fn mixed(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "fn ",
        "let ",
        "self",
        ".unwrap()",
        "return ",
        "impl ",
        "struct ",
        "{\n    ",
        "}\n",
        "kiln",
        "layer",
        "0x1f8b",
        "// comment ",
        "use std::io;\n",
        "Vec<u8>",
        "match ",
    ];
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(len + 8192);
    while out.len() < len {
        let r = next();
        let run = 64 + (r % 8192) as usize;
        let end = out.len() + run;
        if r.is_multiple_of(4) {
            while out.len() < end {
                out.extend_from_slice(&next().to_le_bytes());
            }
        } else {
            while out.len() < end {
                let w = next();
                out.extend_from_slice(WORDS[(w % 16) as usize].as_bytes());
                if w & 0x300 == 0 {
                    out.extend_from_slice((w >> 32).to_string().as_bytes());
                }
            }
        }
    }
    out.truncate(len);
    out
}

/// Compresses `data` written in `piece`-byte writes with the given pool shape.
fn gzip(data: &[u8], threads: usize, params: CdcParams, piece: usize) -> Vec<u8> {
    gzip_log(data, threads, params, piece, None).0
}

/// [`gzip`] with a member index; also returns the member log.
fn gzip_log(
    data: &[u8],
    threads: usize,
    params: CdcParams,
    piece: usize,
    index: Option<&MemberIndex>,
) -> (Vec<u8>, MemberLog) {
    let mut w = ParallelGzWriter::with_threads(Vec::new(), threads, params, index);
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

/// Splits a multi-member stream into (member bytes, decompressed chunk).
fn split_members(gz: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rest = gz;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut chunk = Vec::new();
        decoder.read_to_end(&mut chunk).unwrap();
        let after = decoder.into_inner();
        out.push((rest[..rest.len() - after.len()].to_vec(), chunk));
        rest = after;
    }
    out
}

/// Chunk lengths of `data` cut by a [`Chunker`] fed `piece`-byte pieces.
fn chunker_cuts(params: CdcParams, data: &[u8], piece: usize) -> Vec<usize> {
    let mut chunker = Chunker::new(params);
    let (mut cuts, mut current) = (Vec::new(), 0);
    for mut part in data.chunks(piece) {
        while let Some(n) = chunker.next_cut(part) {
            cuts.push(current + n);
            current = 0;
            part = &part[n..];
        }
        current += part.len();
    }
    if current > 0 {
        cuts.push(current);
    }
    cuts
}

#[test]
fn multi_mb_stream_round_trips_through_multi_gz_decoder() {
    let data = mixed(6 << 20, 7);
    let gz = gzip(&data, 4, LAYER_CDC, 100_000);
    assert!(gz.len() < data.len(), "{} >= {}", gz.len(), data.len());
    let members = split_members(&gz);
    assert!(members.len() >= 3, "{} members", members.len());
    for (_, chunk) in &members[..members.len() - 1] {
        let len = chunk.len();
        assert!((256 << 10..=4 << 20).contains(&len), "chunk of {len} bytes");
    }
    assert_eq!(gunzip(&gz), data);
}

#[test]
fn output_depends_only_on_input_not_threads_or_write_sizes() {
    let data = mixed(5 << 20, 11);
    let one = gzip(&data, 1, LAYER_CDC, 4096);
    assert_eq!(one, gzip(&data, 1, LAYER_CDC, 4096), "same run twice");
    assert_eq!(one, gzip(&data, 8, LAYER_CDC, 777), "8 threads, odd writes");
    assert_eq!(one, gzip(&data, 3, LAYER_CDC, data.len()), "one big write");

    let small = sample(300_000, 13);
    let one = gzip(&small, 1, SMALL, 1);
    assert_eq!(one, gzip(&small, 5, SMALL, 1000), "small chunks, 5 threads");
    assert_eq!(one, gzip(&small, 2, SMALL, small.len()), "one big write");
}

#[test]
fn chunker_cuts_match_the_byte_at_a_time_reference() {
    let data = mixed(400_000, 17);
    let expected = reference_cuts(SMALL, &data);
    assert!(expected.len() > 100, "{} chunks", expected.len());
    for piece in [1, 63, 64, 65, 1000, 5000, data.len()] {
        assert_eq!(chunker_cuts(SMALL, &data, piece), expected, "piece {piece}");
    }
    let big = mixed(12 << 20, 19);
    let expected = reference_cuts(LAYER_CDC, &big);
    assert_eq!(chunker_cuts(LAYER_CDC, &big, 65536), expected);
    // And the writer cuts there too.
    let gz = gzip(&data, 3, SMALL, 3000);
    let lens: Vec<usize> = split_members(&gz).iter().map(|(_, c)| c.len()).collect();
    assert_eq!(lens, reference_cuts(SMALL, &data));
}

#[test]
fn chunk_sizes_stay_in_bounds_and_average_about_a_mib() {
    // Zeros never satisfy a mask: max-size chunks.
    let zeros = vec![0u8; 9 << 20];
    let cuts = reference_cuts(LAYER_CDC, &zeros);
    assert_eq!(cuts, vec![4 << 20, 4 << 20, 1 << 20]);
    let data = mixed(40 << 20, 23);
    let cuts = chunker_cuts(LAYER_CDC, &data, 1 << 16);
    let (min, max) = (cuts.iter().min().unwrap(), cuts.iter().max().unwrap());
    let avg = data.len() / cuts.len();
    println!("{} chunks: min {min} avg {avg} max {max}", cuts.len());
    assert!(cuts[..cuts.len() - 1].iter().all(|&c| c >= 256 << 10));
    assert!(*max <= 4 << 20);
    assert!((700 << 10..1400 << 10).contains(&avg), "average {avg}");
}

#[test]
fn cuts_resynchronise_after_an_insertion() {
    let data = mixed(20 << 20, 29);
    let mut edited = data.clone();
    edited.splice(10 << 20..10 << 20, *b"thirty bytes inserted here...!");
    let before = split_members(&gzip(&data, 2, LAYER_CDC, 65536));
    let gz = gzip(&edited, 2, LAYER_CDC, 65536);
    assert_eq!(gunzip(&gz), edited);
    let after = split_members(&gz);
    let old: std::collections::HashSet<&Vec<u8>> = before.iter().map(|(m, _)| m).collect();
    let new = after.iter().filter(|(m, _)| !old.contains(m)).count();
    println!(
        "{} members before, {} after, {new} new",
        before.len(),
        after.len()
    );
    assert!(before.len() >= 12, "{} members", before.len());
    assert!(new <= 2, "{new} of {} members changed", after.len());

    // A 20-byte file growing to 5000 bytes in a tar-like stream: same story.
    let mut grown = data.clone();
    grown.splice(15 << 20..(15 << 20) + 20, mixed(5000, 31));
    let after = split_members(&gzip(&grown, 2, LAYER_CDC, 65536));
    let new = after.iter().filter(|(m, _)| !old.contains(m)).count();
    assert!(new <= 2, "{new} of {} members changed", after.len());
}

#[test]
fn members_are_reused_from_an_index_with_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::new(dir.path()).unwrap();
    let index = store.members();
    let data = mixed(3 << 20, 37);
    let (gz, log) = gzip_log(&data, 2, LAYER_CDC, 65536, Some(&index));
    assert_eq!(
        gz,
        gzip(&data, 2, LAYER_CDC, 65536),
        "an index changes nothing"
    );
    assert_eq!(log.reused, 0);
    let members = split_members(&gz);
    assert_eq!(log.members.len(), members.len());
    let mut offset = 0;
    for (record, (member, chunk)) in log.members.iter().zip(&members) {
        assert_eq!(record.offset, offset);
        assert_eq!(record.len, member.len() as u64);
        assert_eq!(record.uncompressed_len, chunk.len() as u64);
        assert_eq!(record.chunk, Digest::of(chunk));
        offset += record.len;
    }
    let (blob, _) = store.ingest_bytes(&gz, None).unwrap();
    index
        .record(GZIP_MEMBER_CODEC, &blob, &log.members)
        .unwrap();

    let mut edited = data.clone();
    edited.splice(2 << 20..2 << 20, *b"an edit");
    let (gz2, log2) = gzip_log(&edited, 2, LAYER_CDC, 65536, Some(&index));
    assert_eq!(
        gz2,
        gzip(&edited, 1, LAYER_CDC, 4096),
        "reuse changes nothing"
    );
    assert!(log2.reused + 2 >= log2.members.len() as u64, "{log2:?}");
    assert!(log2.reused >= 1);
    assert_eq!(gunzip(&gz2), edited);
}

#[test]
fn a_wrong_index_entry_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::new(dir.path()).unwrap();
    let index = store.members();
    let (a, b) = (mixed(100_000, 41), mixed(100_000, 43));
    let (gz_b, log_b) = gzip_log(&b, 1, LAYER_CDC, 4096, Some(&index));
    let (blob, _) = store.ingest_bytes(&gz_b, None).unwrap();
    // Claim that chunk `a` is stored as the member of `b`.
    let mut lie = log_b.members[0];
    lie.chunk = Digest::of(&a);
    index.record(GZIP_MEMBER_CODEC, &blob, &[lie]).unwrap();
    let (gz_a, log_a) = gzip_log(&a, 1, LAYER_CDC, 4096, Some(&index));
    assert_eq!(log_a.reused, 0);
    assert_eq!(gunzip(&gz_a), a);
}

#[test]
fn member_bytes_are_pinned() {
    // If this fails, the gzip backend or settings changed the compressed bytes
    // of a chunk: bump GZIP_MEMBER_CODEC (old index entries would no longer
    // give what compressing gives) and update the digest here.
    let member = compress(&mixed(1 << 20, 47)).unwrap();
    assert_eq!(
        Digest::of(&member).to_string(),
        "sha256:bc9a909e7b0d3135200654f0ac1af64e74fc53a8891484342fcd4978145d142d",
        "codec {GZIP_MEMBER_CODEC}"
    );
}

#[test]
fn empty_input_is_one_valid_member() {
    let gz = gzip(&[], 2, LAYER_CDC, 1);
    assert_eq!(split_members(&gz).len(), 1);
    assert!(gunzip(&gz).is_empty());
}

#[test]
fn gzip_tool_reads_the_output() {
    let data = mixed(3 << 20, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.tar.gz");
    std::fs::write(&path, gzip(&data, 4, LAYER_CDC, 65536)).unwrap();
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

/// `len` pseudo-random bytes (xorshift64): incompressible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn incompressible_chunks_are_stored_and_text_is_deflated() {
    let random = noise(1 << 20, 5);
    let member = compress(&random).unwrap();
    assert_eq!(gunzip(&member), random);
    // Stored: the first deflate block header (after the 10-byte gzip
    // header) has BTYPE 00, and the member is the data plus a few bytes of
    // block headers per 64 KiB.
    assert_eq!((member[10] >> 1) & 0b11, 0, "not a stored block");
    assert!(member.len() < random.len() + random.len() / 1000 + 64);
    let text = mixed(1 << 20, 9);
    let member = compress(&text).unwrap();
    assert_eq!(gunzip(&member), text);
    assert_ne!((member[10] >> 1) & 0b11, 0, "text was stored");
    assert!(member.len() < text.len() / 2, "{} bytes", member.len());
}
