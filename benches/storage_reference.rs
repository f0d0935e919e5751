//! Reference speeds for `benches/storage.sh`: what the crates kiln uses reach
//! alone on the same bytes, single-threaded: sha2 (sha256), flate2 gzip level 6
//! (zlib-rs backend, as in kiln), zstd level 3, and flate2 gunzip + sha256.
//!
//! Usage (storage.sh runs it): `cargo bench --bench storage_reference -- TAR GZ_LAYER`
//! Prints one line per measurement: `<name> <seconds>`; cargo's own `--bench`
//! argument is ignored.

use flate2::{read::MultiGzDecoder, write::GzEncoder, Compression};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::time::Instant;

/// A writer that only counts, so compression cost is measured without disk writes.
struct Discard(u64);

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams `path` through `sink` in 1 MiB chunks; returns the seconds taken.
fn timed(path: &str, mut sink: impl FnMut(&[u8])) -> io::Result<f64> {
    let start = Instant::now();
    let mut file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sink(&buf[..n]);
    }
    Ok(start.elapsed().as_secs_f64())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [tar, layer] = args.as_slice() else {
        eprintln!("usage: storage_reference TAR GZ_LAYER");
        std::process::exit(2);
    };
    let mut sha = Sha256::new();
    println!("sha2 {:.3}", timed(tar, |b| sha.update(b))?);
    let mut gz = GzEncoder::new(Discard(0), Compression::new(6));
    let secs = timed(tar, |b| gz.write_all(b).expect("gzip"))?;
    gz.finish()?;
    println!("flate2_gzip6 {secs:.3}");
    let mut zst = zstd::stream::Encoder::new(Discard(0), 3)?;
    let secs = timed(tar, |b| zst.write_all(b).expect("zstd"))?;
    zst.finish()?;
    println!("zstd3 {secs:.3}");
    let start = Instant::now();
    let mut decoder = MultiGzDecoder::new(BufReader::new(File::open(layer)?));
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    println!("flate2_gunzip_sha2 {:.3}", start.elapsed().as_secs_f64());
    Ok(())
}
