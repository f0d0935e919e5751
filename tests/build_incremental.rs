//! A context COPY rebuilt from its previous build (builder `rebase`): after
//! files were changed, added, removed, re-moded and turned into links, the
//! image is the same as a full build of the same context on a fresh root,
//! and the unchanged files really were kept (hard links to the previous
//! build's, not copies).

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{ok, Scratch};

const DOCKERFILE: &str = "FROM busybox:local\nCOPY over/ /etc/\nCOPY app/ /app/\n";

/// Builds `ctx` into `root` (loading the base first if needed) with a fixed
/// SOURCE_DATE_EPOCH; returns the image ID.
fn build(root: &Path, ctx: &Path) -> String {
    build_with(root, ctx, &[])
}

/// [`build`] with extra `kiln build` flags.
fn build_with(root: &Path, ctx: &Path, flags: &[&str]) -> String {
    if !root.join("content").exists() {
        support::load_busybox_local(root);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(root)
        .args(["build", "-q", "-t", "inc:1"])
        .args(flags)
        .arg(ctx)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("KILN_ROOT")
        .output()
        .unwrap();
    ok(out).trim().to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every file named `name` under the root's snapshot directories, with its
/// link count.
fn snapshot_files(root: &Path, name: &str) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    let mut stack = vec![root.join("snapshots")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let md = path.symlink_metadata().unwrap();
            if md.is_dir() {
                stack.push(path);
            } else if path.ends_with(name) {
                found.push((path, md.nlink()));
            }
        }
    }
    found
}

/// Rebuilds on `root` and on a fresh root; both must give the same image.
fn assert_same_as_fresh(scratch: &Scratch, root: &Path, ctx: &Path, round: &str) -> String {
    let incremental = build(root, ctx);
    let fresh = build(&scratch.0.join(format!("fresh-{round}")), ctx);
    assert!(incremental.starts_with("sha256:"), "{incremental}");
    assert_eq!(
        incremental, fresh,
        "{round}: the rebuilt image differs from a full build"
    );
    incremental
}

#[test]
fn rebuilt_copy_equals_a_full_copy() {
    let scratch = Scratch::new("incremental");
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    write(&ctx.join("Dockerfile"), DOCKERFILE);
    write(&ctx.join("over/passwd"), "root:x:0:0:over:/root:/bin/sh\n");
    write(&ctx.join("over/extra.conf"), "extra=1\n");
    write(&ctx.join("over/keep.conf"), "keep=1\n");
    for d in 0..10 {
        for f in 0..20 {
            write(
                &ctx.join(format!("app/d{d}/f{f}.txt")),
                &format!("file {d}/{f}\n").repeat(f + 1),
            );
        }
    }
    write(&ctx.join("app/same-size.txt"), "aaaa\n");
    write(&ctx.join("app/to-link.txt"), "soon a link\n");
    write(&ctx.join("app/gone/x.txt"), "removed later\n");
    std::os::unix::fs::symlink("d0/f0.txt", ctx.join("app/link")).unwrap();
    let root = scratch.0.join("root");
    let first = build(&root, &ctx);

    // Round 1: only app/ changes; `COPY app/ /app/` starts from its
    // previous files.
    std::fs::write(ctx.join("app/d1/f1.txt"), "changed\n").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(ctx.join("app/d2/f2.txt"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"appended\n").unwrap();
    drop(f);
    // Same size and the old mtime: only the content tells.
    let old = std::fs::metadata(ctx.join("app/same-size.txt")).unwrap();
    std::fs::write(ctx.join("app/same-size.txt"), "bbbb\n").unwrap();
    let mtime = std::fs::FileTimes::new().set_modified(old.modified().unwrap());
    std::fs::File::options()
        .write(true)
        .open(ctx.join("app/same-size.txt"))
        .unwrap()
        .set_times(mtime)
        .unwrap();
    std::fs::remove_file(ctx.join("app/d3/f3.txt")).unwrap();
    std::fs::remove_dir_all(ctx.join("app/gone")).unwrap();
    write(&ctx.join("app/new/dir/n.txt"), "new\n");
    std::fs::set_permissions(
        ctx.join("app/d4/f4.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::remove_file(ctx.join("app/to-link.txt")).unwrap();
    std::os::unix::fs::symlink("d5/f5.txt", ctx.join("app/to-link.txt")).unwrap();
    let second = assert_same_as_fresh(&scratch, &root, &ctx, "round1");
    assert_ne!(first, second);
    // The unchanged file of both builds is one inode.
    let kept = snapshot_files(&root, "app/d9/f19.txt");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter().all(|(_, n)| *n == 2),
        "not hard-linked: {kept:?}"
    );
    let rewritten = snapshot_files(&root, "app/d1/f1.txt");
    assert!(rewritten.iter().all(|(_, n)| *n == 1), "{rewritten:?}");

    // Round 2: over/ changes: `COPY over/ /etc/` starts from its previous
    // files; the removed passwd must give the base image's back.
    std::fs::remove_file(ctx.join("over/passwd")).unwrap();
    std::fs::write(ctx.join("over/extra.conf"), "extra=2\n").unwrap();
    let third = assert_same_as_fresh(&scratch, &root, &ctx, "round2");
    assert_ne!(second, third);
    let keep = snapshot_files(&root, "etc/keep.conf");
    assert!(
        keep.iter().any(|(_, n)| *n == 2),
        "not hard-linked: {keep:?}"
    );
    let out = support::kiln(&root, &["run", "--rm", "inc:1", "cat", "/etc/passwd"]);
    let passwd = ok(out);
    assert!(
        !passwd.contains(":over:"),
        "the copied passwd is still there: {passwd}"
    );

    // Nothing changed: fully cached, same image.
    assert_eq!(build(&root, &ctx), third);
    // --no-cache copies everything afresh: the same image again.
    assert_eq!(build_with(&root, &ctx, &["--no-cache"]), third);
}
