//! End-to-end: `import`, `tag`, `build -t` and `save -o` against hostile or
//! unlucky input (red-team L4, L5, M4): rootfs tars that can never be applied
//! and empty input fail at import; digest references are refused as tag
//! targets as Docker refuses them; a killed `save` leaves no temp file and
//! stale ones of older runs are swept.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{kiln, kiln_cmd, kiln_stdin, ok, one_line_error, tar_dir, Scratch};

const ZERO_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A tar of raw (name, type) entries, names kept byte for byte.
fn raw_tar(path: &Path, entries: &[(&str, tar::EntryType)]) -> String {
    let mut out = Vec::new();
    for (name, kind) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
    }
    out.extend_from_slice(&[0; 1024]);
    std::fs::write(path, out).unwrap();
    path.to_str().unwrap().to_string()
}

/// Imports a one-file image (`size` bytes of pseudo-random data) as `name`.
fn image(s: &Scratch, root: &Path, name: &str, size: usize) {
    let tree = s.0.join(format!("tree-{size}"));
    std::fs::create_dir_all(&tree).unwrap();
    let mut data = Vec::with_capacity(size);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(tree.join("data"), &data).unwrap();
    let tar = s.0.join(format!("tree-{size}.tar"));
    tar_dir(&tree, &tar);
    ok(kiln(root, &["import", tar.to_str().unwrap(), name]));
}

#[test]
fn import_refuses_rootfs_tars_that_can_never_be_applied() {
    use tar::EntryType as T;
    let s = Scratch::new("import-unapplicable");
    let root = s.0.join("root");
    let climbing = raw_tar(
        &s.0.join("climb.tar"),
        &[("./", T::Directory), ("../x", T::Regular)],
    );
    let line = one_line_error(kiln(&root, &["import", &climbing, "x:1"]));
    assert_eq!(
        line,
        format!("kiln: cannot import {climbing}: rootfs tar entry ../x: path contains a `..` component\n")
    );
    let file_root = raw_tar(&s.0.join("root.tar"), &[("./", T::Regular)]);
    let line = one_line_error(kiln(&root, &["import", &file_root, "x:1"]));
    assert!(
        line.ends_with("rootfs tar entry ./: the root of the layer must be a directory\n"),
        "{line}"
    );
    let line = one_line_error(kiln_stdin(&root, &["import", "-", "x:1"], ""));
    assert_eq!(line, "kiln: rootfs tar: empty input: not a tar archive\n");
    assert_eq!(ok(kiln(&root, &["images", "-q"])), "", "nothing tagged");
    // An applicable tar still imports.
    let fine = raw_tar(
        &s.0.join("fine.tar"),
        &[("./", T::Directory), ("./a", T::Regular)],
    );
    ok(kiln(&root, &["import", &fine, "x:1"]));
}

#[test]
fn tag_import_and_build_refuse_digest_references() {
    let s = Scratch::new("tag-digest");
    let root = s.0.join("root");
    image(&s, &root, "base:1", 1000);
    let target = format!("x@{ZERO_DIGEST}");
    let line = one_line_error(kiln(&root, &["tag", "base:1", &target]));
    assert_eq!(
        line,
        format!("kiln: refusing to create a tag with a digest reference: {target:?}\n")
    );
    let tar = s.0.join("tree-1000.tar");
    let line = one_line_error(kiln(&root, &["import", tar.to_str().unwrap(), &target]));
    assert_eq!(
        line,
        format!("kiln: cannot import digest reference: {target:?}\n")
    );
    let ctx = s.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM base:1\n").unwrap();
    let tag = format!("y@{ZERO_DIGEST}");
    let line = one_line_error(kiln(
        &root,
        &["build", "-q", "-t", &tag, ctx.to_str().unwrap()],
    ));
    assert_eq!(
        line,
        format!("kiln: invalid tag {tag:?}: build tag cannot contain a digest\n")
    );
    let images = ok(kiln(
        &root,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    ));
    assert_eq!(images, "base:1\n");
}

/// The names in `dir` that look like save temp files.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    names.sort();
    names
}

/// Whether process `pid` has an anonymous (`O_TMPFILE`) file of `dir` open.
fn has_tmpfile_in(pid: u32, dir: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy().into_owned();
            target.starts_with(&*dir.to_string_lossy()) && target.ends_with("(deleted)")
        })
    })
}

#[test]
fn a_killed_save_leaves_nothing_and_stale_temp_files_are_swept() {
    let s = Scratch::new("save-kill");
    let root = s.0.join("root");
    image(&s, &root, "big:1", 24 << 20);
    let out_dir = s.0.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out: PathBuf = out_dir.join("img.tar");

    // kill -9 while the archive is being written: nothing is left.
    let mut child = kiln_cmd(&root)
        .args(["save", "-o", out.to_str().unwrap(), "big:1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !has_tmpfile_in(child.id(), &out_dir) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "save ended before it was caught writing"
        );
        assert!(Instant::now() < deadline, "save never opened its temp file");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(temp_files(&out_dir), Vec::<String>::new());
    assert!(!out.exists());

    // What older kilns (or a kill between link and rename) left: a dead pid's
    // file is swept, a live pid's (a concurrent save) is kept.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = out_dir.join(format!("img.tmp-{dead_pid}"));
    let live = out_dir.join(format!("img.tmp-{}", std::process::id()));
    let unrelated = out_dir.join("other.tmp-1");
    for path in [&stale, &live, &unrelated] {
        std::fs::File::create(path)
            .unwrap()
            .write_all(b"partial")
            .unwrap();
    }
    ok(kiln(&root, &["save", "-o", out.to_str().unwrap(), "big:1"]));
    assert!(
        !stale.exists(),
        "stale temp file of a dead save was not swept"
    );
    assert!(live.exists() && unrelated.exists());
    let reloaded = ok(kiln(
        &s.0.join("root2"),
        &["load", "-i", out.to_str().unwrap()],
    ));
    assert_eq!(reloaded, "Loaded image: big:1\n");
    // Saving over an existing archive replaces it (link under a temp name, rename).
    ok(kiln(&root, &["save", "-o", out.to_str().unwrap(), "big:1"]));
    assert_eq!(
        temp_files(&out_dir),
        [
            "img.tmp-".to_string() + &std::process::id().to_string(),
            "other.tmp-1".into()
        ]
    );
}

/// `save -o DEVICE` writes into the device: an older kiln renamed its
/// archive over the path, turning a host's `/dev/null` into a regular file
/// that every later `2>/dev/null` appended to. Checked on a private node
/// (the host's own is never touched by the test).
#[test]
fn save_into_a_device_keeps_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let s = Scratch::new("save-device");
    let root = s.0.join("root");
    image(&s, &root, "dev:1", 4096);
    let node = s.0.join("null");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: mknod of a private copy of /dev/null (1:3) in the scratch folder.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(rc, 0, "mknod: {}", std::io::Error::last_os_error());
    ok(kiln(
        &root,
        &["save", "-o", node.to_str().unwrap(), "dev:1"],
    ));
    let kind = std::fs::symlink_metadata(&node).unwrap().file_type();
    assert!(
        kind.is_char_device(),
        "save replaced the device with {kind:?}"
    );
    assert!(temp_files(&s.0).is_empty(), "{:?}", temp_files(&s.0));
}
