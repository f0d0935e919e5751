//! ADD: local archives extracted (every compression, safely), URLs fetched
//! over HTTP with `--checksum`.

mod file_common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use file_common::{add, attrs, copy, listing, run_ctx};
use kiln_builder::executor::file::apply;
use kiln_builder::graph::{AddOptions, CopySource, FileAction};
use sha2::{Digest as _, Sha256};

/// A tar with a dir, a file (0750, 5:6, mtime 1e6), a symlink and a hard link.
fn sample_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(1_000_000);
    b.append_data(&mut h, "pkg/", &[][..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o750);
    h.set_uid(5);
    h.set_gid(6);
    h.set_size(5);
    h.set_mtime(1_000_000);
    b.append_data(&mut h, "pkg/run.sh", &b"hello"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "pkg/link", "run.sh").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, "pkg/hard", "pkg/run.sh").unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut &data[..], &mut out).unwrap();
    out
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    let dest = tmp.path().join("root");
    fs::create_dir_all(&ctx).unwrap();
    fs::create_dir_all(&dest).unwrap();
    (tmp, ctx, dest)
}

fn check_extracted(dir: &Path) {
    assert_eq!(
        listing(dir),
        ["pkg/", "pkg/hard", "pkg/link", "pkg/run.sh"],
        "{}",
        dir.display()
    );
    assert_eq!(attrs(&dir.join("pkg/run.sh")), (0o750, 5, 6));
    assert_eq!(
        fs::metadata(dir.join("pkg/run.sh")).unwrap().mtime(),
        1_000_000
    );
    assert_eq!(fs::metadata(dir.join("pkg")).unwrap().mtime(), 1_000_000);
    assert_eq!(
        fs::read_link(dir.join("pkg/link")).unwrap(),
        Path::new("run.sh")
    );
    assert_eq!(
        fs::metadata(dir.join("pkg/hard")).unwrap().ino(),
        fs::metadata(dir.join("pkg/run.sh")).unwrap().ino()
    );
}

#[test]
fn add_extracts_local_archives_of_every_compression() {
    let (_t, ctx, dest) = fixture();
    let tar = sample_tar();
    let kinds: [(&str, Vec<u8>); 5] = [
        ("plain.tar", tar.clone()),
        ("gz.tgz", gzip(&tar)),
        ("bz.tar.bz2", bzip2(&tar)),
        ("xz.tar.xz", xz(&tar)),
        ("zst.bin", zstd::encode_all(&tar[..], 3).unwrap()),
    ];
    for (name, bytes) in &kinds {
        fs::write(ctx.join(name), bytes).unwrap();
    }
    for (name, _) in &kinds {
        let out = format!("/x/{name}/");
        run_ctx(&add(&[name], &out), &ctx, &dest).unwrap();
        check_extracted(&dest.join(&out[1..]));
    }
    // COPY never extracts; nor does ADD --unpack=false; a non-tar gzip is copied.
    run_ctx(&copy(&["gz.tgz"], "/c/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read(dest.join("c/gz.tgz")).unwrap(), kinds[1].1);
    let mut no = add(&["plain.tar"], "/n/");
    no.add.as_mut().unwrap().unpack = Some(false);
    run_ctx(&no, &ctx, &dest).unwrap();
    assert!(dest.join("n/plain.tar").is_file());
    fs::write(ctx.join("notar.gz"), gzip(b"just text")).unwrap();
    run_ctx(&add(&["notar.gz"], "/g/"), &ctx, &dest).unwrap();
    assert!(dest.join("g/notar.gz").is_file());
}

/// A raw ustar header for `name` (bypassing the tar crate's own checks).
fn raw_entry(name: &str, kind: u8, link: &str, body: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[test]
fn malicious_archives_cannot_write_outside() {
    let (tmp, ctx, dest) = fixture();
    let mut evil = raw_entry("ok.txt", b'0', "", b"fine");
    evil.extend(raw_entry("../../evil.txt", b'0', "", b"pwned"));
    evil.extend([0u8; 1024]);
    fs::write(ctx.join("evil.tar"), &evil).unwrap();
    let err = run_ctx(&add(&["evil.tar"], "/e/"), &ctx, &dest).unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing archive entry \"../../evil.txt\""),
        "{err}"
    );
    assert!(!tmp.path().join("evil.txt").exists());
    assert!(!dest.join("evil.txt").exists());
    // A link to "/" then a file through it lands in the destination directory.
    let mut sneaky = raw_entry("up", b'2', "/", b"");
    sneaky.extend(raw_entry("up/x.txt", b'0', "", b"x"));
    sneaky.extend(raw_entry("dots", b'2', "../../../..", b""));
    sneaky.extend(raw_entry("dots/y.txt", b'0', "", b"y"));
    sneaky.extend([0u8; 1024]);
    fs::write(ctx.join("sneaky.tar"), &sneaky).unwrap();
    run_ctx(&add(&["sneaky.tar"], "/s/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("s/x.txt")).unwrap(), "x");
    assert_eq!(fs::read_to_string(dest.join("s/y.txt")).unwrap(), "y");
    assert!(!dest.join("x.txt").exists() && !tmp.path().join("y.txt").exists());
}

/// Red-team L6: archive entries through the archive's own dangling link
/// land at the link's target inside the directory the archive is extracted
/// into (Docker extracts chrooted there); a later entry that is a file
/// replaces a directory entry of the same name (Docker's untar: "remove and
/// replace unless both are directories").
#[test]
fn archive_entries_through_their_own_links_and_replacing_dirs() {
    let (tmp, ctx, dest) = fixture();
    let mut t = raw_entry("a", b'2', "/x", b"");
    t.extend(raw_entry("a/f", b'0', "", b"through"));
    t.extend(raw_entry("dup/", b'5', "", b""));
    t.extend(raw_entry("dup/inner", b'0', "", b"old"));
    t.extend(raw_entry("dup", b'0', "", b"file now"));
    t.extend([0u8; 1024]);
    fs::write(ctx.join("links.tar"), &t).unwrap();
    run_ctx(&add(&["links.tar"], "/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("x/f")).unwrap(), "through");
    assert_eq!(fs::read_to_string(dest.join("dup")).unwrap(), "file now");
    run_ctx(&add(&["links.tar"], "/sub/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("sub/x/f")).unwrap(), "through");
    assert!(!Path::new("/x/f").exists() && !tmp.path().join("x").exists());
}

/// Serves `responses` (one per connection) on a local port; returns the base URL.
fn serve(responses: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for response in responses {
            let (mut s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            s.write_all(&response).unwrap();
        }
    });
    format!("http://{addr}")
}

fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn url_action(url: &str, dest: &str, checksum: Option<String>) -> FileAction {
    FileAction {
        sources: vec![CopySource::Remote(url.into())],
        from: None,
        add: Some(AddOptions {
            checksum,
            unpack: None,
            keep_git_dir: false,
        }),
        ..copy(&[], dest)
    }
}

#[test]
fn add_url_with_checksum() {
    let (_t, _ctx, dest) = fixture();
    let body = gzip(&sample_tar());
    let sum = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    let chunked = {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        r.extend(format!("{:x}\r\n", 3).as_bytes());
        r.extend(&body[..3]);
        r.extend(format!("\r\n{:x}\r\n", body.len() - 3).as_bytes());
        r.extend(&body[3..]);
        r.extend(b"\r\n0\r\n\r\n");
        r
    };
    let redirect =
        b"HTTP/1.1 302 Found\r\nLocation: /files/pkg.tgz\r\nContent-Length: 0\r\n\r\n".to_vec();
    let base = serve(vec![
        ok_response(&body),
        ok_response(&body),
        redirect,
        chunked,
    ]);
    apply(
        &url_action(&format!("{base}/files/pkg.tgz"), "/dl/", Some(sum.clone())),
        None,
        &dest,
        "/",
    )
    .unwrap();
    let got = dest.join("dl/pkg.tgz");
    assert_eq!(fs::read(&got).unwrap(), body, "URLs are not unpacked");
    assert_eq!(attrs(&got), (0o600, 0, 0));
    assert_eq!(fs::metadata(&got).unwrap().mtime(), 784_111_777);
    // A wrong checksum fails and writes nothing.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let err = apply(
        &url_action(&format!("{base}/files/pkg.tgz"), "/bad/", Some(wrong)),
        None,
        &dest,
        "/",
    )
    .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(!dest.join("bad/pkg.tgz").exists());
    // Redirect, then a chunked body, to a file name of our choosing.
    apply(
        &url_action(&format!("{base}/old"), "/named.tgz", Some(sum)),
        None,
        &dest,
        "/",
    )
    .unwrap();
    assert_eq!(fs::read(dest.join("named.tgz")).unwrap(), body);
    // https is covered end to end by tests/cli_build_https.rs.
    let err = apply(
        &url_action("ftp://example.invalid/x", "/", None),
        None,
        &dest,
        "/",
    )
    .unwrap_err();
    assert!(err.to_string().contains("unsupported URL scheme"), "{err}");
}
