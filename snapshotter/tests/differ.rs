//! The differ on the real filesystem (as root): round trips through diff and apply,
//! overlay upper dirs with whiteouts and opaque dirs, compression, determinism,
//! malicious layers, and streaming of big files.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use kiln_snapshotter::conformance::{commit_layer, Mounted, TempRoot};
use kiln_snapshotter::differ::testkit::{build_tree, fix_times, manifest, raw_entry, tar_entries};
use kiln_snapshotter::{
    apply, diff_overlay, diff_trees, Compression, DiffOptions, Error, Labels, OverlaySnapshotter,
    Snapshotter,
};
use sha2::{Digest, Sha256};

fn opts(compression: Compression) -> DiffOptions {
    DiffOptions {
        compression,
        source_date_epoch: None,
    }
}

fn tmp_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let (src, dst) = (base.path().join("src"), base.path().join("dst"));
    fs::create_dir(&src).unwrap();
    fs::create_dir(&dst).unwrap();
    (base, src, dst)
}

#[test]
fn round_trip_every_file_type() {
    let (_base, src, dst) = tmp_dirs();
    build_tree(&src);
    let mut layer = Vec::new();
    let digests = diff_trees(None, &src, &mut layer, &opts(Compression::None)).unwrap();
    assert_eq!(digests.size, layer.len() as u64);
    let applied = apply(layer.as_slice(), &dst).unwrap();
    assert_eq!(applied.diff_id, digests.diff_id);
    assert_eq!(
        digests.diff_id, digests.digest,
        "uncompressed: digest is the diff_id"
    );
    assert_eq!(manifest(&src), manifest(&dst));
    let entries = tar_entries(&layer);
    // Depth first, sorted: `a/hard2` is met first, `hard1` links to it.
    assert!(entries.contains(&"hard1 Link".to_string()), "{entries:?}");
    let pos = |p: &str| entries.iter().position(|e| e.starts_with(p)).unwrap();
    assert!(pos("a/ ") < pos("a/b/ ") && pos("a/b/ ") < pos("a/b/file.txt"));
}

#[test]
fn every_compression_round_trips_with_one_diff_id() {
    let (base, src, _) = tmp_dirs();
    build_tree(&src);
    let mut ids = Vec::new();
    for (i, c) in [Compression::None, Compression::Gzip, Compression::Zstd]
        .into_iter()
        .enumerate()
    {
        let mut layer = Vec::new();
        let d = diff_trees(None, &src, &mut layer, &opts(c)).unwrap();
        assert_eq!(
            d.digest,
            format!("sha256:{}", hex::encode(Sha256::digest(&layer)))
        );
        assert_eq!(d.size, layer.len() as u64);
        let dst = base.path().join(format!("dst{i}"));
        fs::create_dir(&dst).unwrap();
        let applied = apply(layer.as_slice(), &dst).unwrap();
        assert_eq!(applied.diff_id, d.diff_id);
        assert_eq!(manifest(&src), manifest(&dst));
        ids.push(d.diff_id);
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[test]
fn multi_member_gzip_layer_over_2_mib_round_trips() {
    let (_base, src, dst) = tmp_dirs();
    build_tree(&src);
    // 3 MiB + a bit, half pseudo-random, so the gzip layer spans several members.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let big: Vec<u8> = (0..(3 << 20) + 4321)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 2 == 0 {
                state as u8
            } else {
                b'k'
            }
        })
        .collect();
    fs::write(src.join("big.bin"), &big).unwrap();
    let mut plain = Vec::new();
    let none = diff_trees(None, &src, &mut plain, &opts(Compression::None)).unwrap();
    let mut layer = Vec::new();
    let d = diff_trees(None, &src, &mut layer, &opts(Compression::Gzip)).unwrap();
    assert!(d.uncompressed_size > 3 << 20);
    assert_eq!(
        d.diff_id, none.diff_id,
        "diff_id is of the uncompressed tar"
    );
    assert_eq!(
        d.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&layer)))
    );
    assert_eq!(d.size, layer.len() as u64);
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let members = layer.windows(10).filter(|w| *w == header).count();
    assert!(
        members >= 4,
        "expected one gzip member per MiB, got {members}"
    );
    let applied = apply(layer.as_slice(), &dst).unwrap();
    assert_eq!(applied.diff_id, d.diff_id);
    assert_eq!(applied.uncompressed_size, d.uncompressed_size);
    assert_eq!(manifest(&src), manifest(&dst));
    assert!(fs::read(dst.join("big.bin")).unwrap() == big);
    // The same tree diffed again gives the same bytes.
    let mut again = Vec::new();
    diff_trees(None, &src, &mut again, &opts(Compression::Gzip)).unwrap();
    assert!(again == layer, "gzip layer is not deterministic");
}

#[test]
fn same_tree_same_digest_and_epoch_clamps() {
    let (_base, src, _) = tmp_dirs();
    build_tree(&src);
    let run = |o: DiffOptions| {
        let mut layer = Vec::new();
        (diff_trees(None, &src, &mut layer, &o).unwrap(), layer)
    };
    assert_eq!(
        run(opts(Compression::Gzip)).0,
        run(opts(Compression::Gzip)).0
    );
    assert_eq!(
        run(opts(Compression::Zstd)).0,
        run(opts(Compression::Zstd)).0
    );
    let clamped = DiffOptions {
        compression: Compression::None,
        source_date_epoch: Some(1000),
    };
    let (_, layer) = run(clamped);
    let mut archive = tar::Archive::new(layer.as_slice());
    for entry in archive.entries().unwrap() {
        assert!(entry.unwrap().header().mtime().unwrap() <= 1000);
    }
}

#[test]
fn tree_diff_with_deletions_applies_onto_the_lower_tree() {
    let base = tempfile::tempdir().unwrap();
    let [lower, upper, target] = ["lower", "upper", "target"].map(|n| base.path().join(n));
    for dir in [&lower, &upper, &target] {
        fs::create_dir(dir).unwrap();
        build_tree(dir);
    }
    fs::remove_dir_all(upper.join("a/b")).unwrap();
    fs::remove_file(upper.join("fifo")).unwrap();
    fs::write(upper.join("top.bin"), "changed, same mtime").unwrap();
    fs::write(upper.join("tmp/new"), "new").unwrap();
    fs::remove_file(upper.join("link-rel")).unwrap();
    fs::create_dir(upper.join("link-rel")).unwrap();
    fix_times(&upper.join("tmp"), 1_600_000_000);
    let mut layer = Vec::new();
    diff_trees(Some(&lower), &upper, &mut layer, &opts(Compression::None)).unwrap();
    let entries = tar_entries(&layer);
    assert!(
        entries.contains(&"a/.wh.b Regular".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&".wh.fifo Regular".to_string()),
        "{entries:?}"
    );
    assert!(
        !entries.iter().any(|e| e.starts_with("owned")),
        "unchanged file written: {entries:?}"
    );
    apply(layer.as_slice(), &target).unwrap();
    assert_eq!(manifest(&upper), manifest(&target));
}

#[test]
fn opaque_marker_clears_lower_children_but_keeps_its_own() {
    let (_base, _, dst) = tmp_dirs();
    fs::create_dir(dst.join("d")).unwrap();
    fs::write(dst.join("d/old"), "old").unwrap();
    fs::write(dst.join("keep"), "keep").unwrap();
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "d/", tar::EntryType::Directory, "", b"");
    raw_entry(&mut b, "d/new", tar::EntryType::Regular, "", b"new");
    raw_entry(&mut b, "d/.wh..wh..opq", tar::EntryType::Regular, "", b"");
    raw_entry(&mut b, ".wh.keep", tar::EntryType::Regular, "", b"");
    raw_entry(&mut b, ".wh.missing", tar::EntryType::Regular, "", b"");
    apply(b.into_inner().unwrap().as_slice(), &dst).unwrap();
    let names: Vec<_> = manifest(&dst).into_keys().collect();
    assert_eq!(names, ["d", "d/new"]);
}

#[test]
fn overlay_upper_dir_gives_whiteouts_and_opaque_dirs() {
    let root = TempRoot::new();
    let sn = OverlaySnapshotter::new(root.path()).unwrap();
    let files = [
        ("keep", "k"),
        ("gone", "g"),
        ("dir/old", "1"),
        ("deldir/x", "x"),
    ];
    commit_layer(&root, &sn, "base", None, &files);
    let mounts = sn.prepare("top", Some("base"), &Labels::new()).unwrap();
    {
        let m = Mounted::new(&root, &mounts);
        fs::remove_file(m.join("gone")).unwrap();
        fs::remove_dir_all(m.join("dir")).unwrap();
        fs::create_dir(m.join("dir")).unwrap();
        fs::write(m.join("dir/new"), "n").unwrap();
        fs::remove_dir_all(m.join("deldir")).unwrap();
        fs::write(m.join("added"), "a").unwrap();
    }
    let option = |key: &str| {
        mounts[0]
            .options
            .iter()
            .find_map(|o| o.strip_prefix(key))
            .unwrap()
            .to_string()
    };
    let upper = PathBuf::from(option("upperdir="));
    let lowers: Vec<PathBuf> = option("lowerdir=").split(':').map(PathBuf::from).collect();
    let mut layer = Vec::new();
    diff_overlay(&upper, &lowers, &mut layer, &opts(Compression::None)).unwrap();
    let expected = [
        "added Regular",
        ".wh.deldir Regular",
        "dir/ Directory",
        "dir/.wh..wh..opq Regular",
        "dir/new Regular",
        ".wh.gone Regular",
    ];
    assert_eq!(tar_entries(&layer), expected);

    // Applied onto a fresh snapshot of the same parent: the merged view matches.
    let mounts2 = sn.prepare("again", Some("base"), &Labels::new()).unwrap();
    let m = Mounted::new(&root, &mounts2);
    apply(layer.as_slice(), m.path()).unwrap();
    let names: Vec<_> = manifest(m.path()).into_keys().collect();
    assert_eq!(names, ["added", "dir", "dir/new", "keep"]);
}

/// Applies `entries` (regular files contain "evil") to a fresh target
/// `<base>/one/two/target`; returns the result and the base (for checks outside).
fn apply_entries(
    entries: &[(&str, tar::EntryType, &str)],
) -> (Result<(), Error>, tempfile::TempDir) {
    let base = tempfile::tempdir().unwrap();
    let target = base.path().join(TARGET);
    fs::create_dir_all(&target).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link) in entries {
        let data: &[u8] = if *kind == T::Regular { b"evil" } else { b"" };
        raw_entry(&mut b, name, *kind, link, data);
    }
    let result = apply(b.into_inner().unwrap().as_slice(), &target).map(|_| ());
    (result, base)
}

/// [`apply_entries`], expecting an error.
fn apply_evil(entries: &[(&str, tar::EntryType, &str)]) -> (Error, tempfile::TempDir) {
    let (result, base) = apply_entries(entries);
    (result.unwrap_err(), base)
}

/// [`apply_entries`], expecting success.
fn apply_ok(entries: &[(&str, tar::EntryType, &str)]) -> tempfile::TempDir {
    let (result, base) = apply_entries(entries);
    result.unwrap();
    base
}

const TARGET: &str = "one/two/target";

fn assert_refused(err: &Error, entry: &str) {
    match err {
        Error::UnsafeEntry { entry: e, .. } => assert_eq!(e, Path::new(entry), "{err}"),
        other => panic!("expected UnsafeEntry for {entry}, got {other}"),
    }
    assert!(err.to_string().contains(entry), "{err}");
}

/// Every regular file below `dir` whose content is "evil".
fn evil_files(dir: &Path) -> Vec<String> {
    manifest(dir)
        .into_iter()
        .filter(|(rel, _)| fs::read(dir.join(rel)).is_ok_and(|c| c == b"evil"))
        .map(|(rel, _)| rel)
        .collect()
}

use tar::EntryType as T;

#[test]
fn dotdot_entries_are_refused() {
    for name in [
        "../evil",
        "a/../../evil",
        "../../../../../../../../tmp/kiln-evil",
    ] {
        let (err, base) = apply_evil(&[(name, T::Regular, "")]);
        assert_refused(&err, name);
        assert_eq!(evil_files(base.path()), Vec::<String>::new());
    }
}

#[test]
fn absolute_names_are_made_relative() {
    let (_base, _, dst) = tmp_dirs();
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "/abs/file", T::Regular, "", b"x");
    apply(b.into_inner().unwrap().as_slice(), &dst).unwrap();
    assert_eq!(fs::read_to_string(dst.join("abs/file")).unwrap(), "x");
}

#[test]
fn absolute_symlinks_resolve_from_the_target_root() {
    let outside = tempfile::tempdir().unwrap();
    let abs = outside.path().to_str().unwrap().to_string();
    let base = apply_ok(&[("a", T::Symlink, &abs), ("a/x", T::Regular, "")]);
    assert_eq!(evil_files(outside.path()), Vec::<String>::new());
    let inside = format!("{TARGET}{abs}/x");
    assert_eq!(evil_files(base.path()), [inside]);
    // Only after the harmless case held: the classic attack on the host.
    let before = fs::read("/etc/passwd").unwrap();
    let base = apply_ok(&[("a", T::Symlink, "/"), ("a/etc/passwd", T::Regular, "")]);
    assert_eq!(fs::read("/etc/passwd").unwrap(), before);
    assert_eq!(evil_files(base.path()), [format!("{TARGET}/etc/passwd")]);
}

#[test]
fn dotdot_in_symlinks_is_clamped_at_the_target_root() {
    let base = apply_ok(&[("a", T::Symlink, "../../.."), ("a/x", T::Regular, "")]);
    assert_eq!(evil_files(base.path()), [format!("{TARGET}/x")]);
    let base = apply_ok(&[
        ("d/", T::Directory, ""),
        ("d/up", T::Symlink, "../../../../../tmp"),
        ("d/up/y", T::Regular, ""),
    ]);
    assert_eq!(evil_files(base.path()), [format!("{TARGET}/tmp/y")]);
}

#[test]
fn symlink_loops_are_refused_naming_the_entry() {
    let (err, base) = apply_evil(&[
        ("a", T::Symlink, "b"),
        ("b", T::Symlink, "/a"),
        ("a/x", T::Regular, ""),
    ]);
    assert_refused(&err, "a/x");
    assert_eq!(evil_files(base.path()), Vec::<String>::new());
}

#[test]
fn symlinks_inside_the_target_are_followed_within_it() {
    let (_base, _, dst) = tmp_dirs();
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "usr/lib/", T::Directory, "", b"");
    raw_entry(&mut b, "lib", T::Symlink, "usr/lib", b"");
    raw_entry(&mut b, "usr/bin/up", T::Symlink, "../../lib", b"");
    raw_entry(&mut b, "lib/x", T::Regular, "", b"x");
    raw_entry(&mut b, "usr/bin/up/y", T::Regular, "", b"y");
    apply(b.into_inner().unwrap().as_slice(), &dst).unwrap();
    assert_eq!(fs::read_to_string(dst.join("usr/lib/x")).unwrap(), "x");
    assert_eq!(fs::read_to_string(dst.join("usr/lib/y")).unwrap(), "y");
}

#[test]
fn escaping_hard_links_are_refused() {
    for link in ["/etc/passwd", "../outside", "a/../../x"] {
        let (err, base) = apply_evil(&[("h", T::Link, link)]);
        assert_refused(&err, "h");
        assert!(!base.path().join("one/two/target/h").exists());
    }
    // Through a symlink to the host's /etc: resolved inside, where it is missing.
    let (err, _base) = apply_evil(&[("a", T::Symlink, "/etc"), ("h", T::Link, "a/passwd")]);
    assert_refused(&err, "h");
    let (err, _base) = apply_evil(&[("a", T::Symlink, "../../.."), ("h", T::Link, "a/two")]);
    assert_refused(&err, "h");
}

#[test]
fn hard_links_through_absolute_symlinks_stay_inside() {
    let base = apply_ok(&[
        ("etc/", T::Directory, ""),
        ("etc/passwd", T::Regular, ""),
        ("a", T::Symlink, "/etc"),
        ("h", T::Link, "a/passwd"),
    ]);
    let target = base.path().join(TARGET);
    assert_eq!(fs::read(target.join("h")).unwrap(), b"evil");
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &str| fs::metadata(target.join(p)).unwrap().ino();
    assert_eq!(ino("h"), ino("etc/passwd"));
}

#[test]
fn whiteouts_of_dot_and_dotdot_are_refused() {
    for name in [".wh...", ".wh..", "a/.wh...", ".wh."] {
        let (err, base) = apply_evil(&[("a/", T::Directory, ""), (name, T::Regular, "")]);
        assert_refused(&err, name);
        assert!(
            base.path().join("one/two/target/a").is_dir(),
            "{name} removed something"
        );
    }
}

#[test]
fn failed_apply_leaves_no_temp_files() {
    let (err, base) = apply_evil(&[("ok", T::Regular, ""), ("../evil", T::Regular, "")]);
    assert_refused(&err, "../evil");
    let names: Vec<_> = manifest(base.path()).into_keys().collect();
    assert_eq!(
        names,
        ["one", "one/two", "one/two/target", "one/two/target/ok"]
    );
}

/// Counts the bytes live and their peak on each thread, so the streaming test
/// measures its own allocations only, whatever other tests do meanwhile.
struct CountingAlloc;

thread_local! {
    static LIVE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
    static PEAK: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: delegates to the system allocator; only adds bookkeeping.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        track(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        track(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns how far this thread's live heap rose above its start.
fn heap_growth(f: impl FnOnce()) -> isize {
    let start = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(start));
    f();
    PEAK.with(|p| p.get()) - start
}

/// A writer that only counts.
struct Count(u64);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn big_files_are_streamed() {
    let (_base, src, dst) = tmp_dirs();
    let chunk = vec![0x5au8; 1 << 20];
    let mut file = fs::File::create(src.join("big")).unwrap();
    for _ in 0..64 {
        io::Write::write_all(&mut file, &chunk).unwrap();
    }
    drop(file);
    let mut out = Count(0);
    let mut digests = None;
    let grown = heap_growth(|| {
        digests = Some(diff_trees(None, &src, &mut out, &opts(Compression::Zstd)).unwrap())
    });
    let d = digests.unwrap();
    assert!(
        grown < 4 << 20,
        "diff of a 64 MiB file grew the heap by {grown} bytes"
    );
    assert_eq!(d.size, out.0);
    assert!(d.uncompressed_size > 64 << 20);
    // And back, from a reader, without a buffer either.
    let mut layer = fs::File::create(dst.join("../layer.tar")).unwrap();
    diff_trees(None, &src, &mut layer, &opts(Compression::None)).unwrap();
    let mut reader = fs::File::open(dst.join("../layer.tar")).unwrap();
    let mut applied = None;
    let grown = heap_growth(|| applied = Some(apply(&mut reader as &mut dyn Read, &dst).unwrap()));
    assert!(
        grown < 4 << 20,
        "apply of a 64 MiB file grew the heap by {grown} bytes"
    );
    let applied = applied.unwrap();
    assert_eq!(applied.diff_id, d.diff_id);
    assert_eq!(fs::metadata(dst.join("big")).unwrap().len(), 64 << 20);
}

#[test]
fn bad_streams_are_errors() {
    let (_base, _, dst) = tmp_dirs();
    for bytes in [
        &b"not a tar"[..],
        &[0x1f, 0x8b, 1, 2, 3][..],
        &[0x42; 700][..],
    ] {
        assert!(apply(bytes, &dst).is_err(), "{bytes:?}");
    }
}

#[test]
fn failed_apply_into_a_prepared_snapshot_is_discarded_by_the_caller() {
    let root = TempRoot::new();
    let sn = OverlaySnapshotter::new(root.path()).unwrap();
    commit_layer(&root, &sn, "base", None, &[("keep", "k")]);
    let mounts = sn.prepare("extract", Some("base"), &Labels::new()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "half", T::Regular, "", b"h");
    raw_entry(&mut b, "../evil", T::Regular, "", b"evil");
    let err = {
        let m = Mounted::new(&root, &mounts);
        apply(b.into_inner().unwrap().as_slice(), m.path()).unwrap_err()
    };
    assert_refused(&err, "../evil");
    sn.remove("extract").unwrap();
    assert!(sn.stat("extract").is_err());
    assert!(sn.stat("base").is_ok());
}

#[test]
fn overlay_redirects_are_refused_not_lost() {
    let (_base, upper, _) = tmp_dirs();
    fs::create_dir(upper.join("renamed")).unwrap();
    let name = std::ffi::CString::new("trusted.overlay.redirect").unwrap();
    let path = std::ffi::CString::new(upper.join("renamed").to_str().unwrap()).unwrap();
    // SAFETY: valid C strings and buffer.
    let ret =
        unsafe { libc::lsetxattr(path.as_ptr(), name.as_ptr(), b"/old".as_ptr().cast(), 4, 0) };
    assert_eq!(ret, 0);
    let err = diff_overlay(&upper, &[], io::sink(), &opts(Compression::None)).unwrap_err();
    assert!(
        matches!(&err, Error::UnusablePath { path, .. } if path.ends_with("renamed")),
        "{err}"
    );
}

/// An upper dir 1000 directories deep (a RUN makes one in a second) is
/// walked with a loop: the diff works on a thread with a 128 KiB stack,
/// where the old recursive walk aborted the process.
#[test]
fn very_deep_upper_dirs_diff_on_a_small_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let upper = tmp.path().join("upper");
    let deep = "d/".repeat(1000);
    std::fs::create_dir_all(upper.join(&deep)).unwrap();
    std::fs::write(upper.join(format!("{deep}f")), "bottom").unwrap();
    let layer = std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || {
            let mut layer = Vec::new();
            diff_overlay(&upper, &[], &mut layer, &opts(Compression::None)).map(|_| layer)
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    let entries = tar_entries(&layer);
    assert_eq!(entries.len(), 1001);
    assert_eq!(entries[0], "d/ Directory");
    assert_eq!(entries[1000], format!("{deep}f Regular"));
}
