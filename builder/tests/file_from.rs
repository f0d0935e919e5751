//! COPY --from a mounted tree, and the content digests of COPY sources.

mod file_common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use file_common::{attrs, context, copy, listing, run_tree, set_mtime, write};
use kiln_builder::executor::file::{content_digest, FileInput};
use kiln_builder::graph::{AddOptions, CopySource};

fn tree() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let from = tmp.path().join("from");
    let dest = tmp.path().join("root");
    fs::create_dir_all(&dest).unwrap();
    write(&from, "usr/lib/real.so.1", "ELF");
    symlink("real.so.1", from.join("usr/lib/libreal.so")).unwrap();
    symlink("usr/lib", from.join("lib")).unwrap();
    write(&from, "app/bin/tool", "#!/bin/sh");
    write(&from, "app/etc/conf", "c");
    symlink("/etc/passwd", from.join("app/etc/passwd-link")).unwrap();
    std::os::unix::fs::chown(from.join("app/bin/tool"), Some(7), Some(8)).unwrap();
    write(&from, "etc/passwd", "stage passwd");
    (tmp, from, dest)
}

#[test]
fn tree_copies_keep_owners_and_links_below_the_source() {
    let (_t, from, dest) = tree();
    run_tree(&copy(&["/app"], "/opt/app"), &from, &dest).unwrap();
    assert_eq!(
        listing(&dest.join("opt/app")),
        ["bin/", "bin/tool", "etc/", "etc/conf", "etc/passwd-link"]
    );
    assert_eq!(attrs(&dest.join("opt/app/bin/tool")).1, 7);
    assert_eq!(attrs(&dest.join("opt/app/bin/tool")).2, 8);
    assert_eq!(
        fs::read_link(dest.join("opt/app/etc/passwd-link"))
            .unwrap()
            .to_str(),
        Some("/etc/passwd")
    );
    let mut chowned = copy(&["/app/bin/tool"], "/t/");
    chowned.chown = Some("1:2".into());
    run_tree(&chowned, &from, &dest).unwrap();
    assert_eq!(attrs(&dest.join("t/tool")), (0o644, 1, 2));
}

#[test]
fn tree_sources_resolve_links_inside_the_tree() {
    let (_t, from, dest) = tree();
    // The named source is followed (BuildKit's FollowSymlinks), keeping its name.
    run_tree(&copy(&["/lib/libreal.so"], "/out/"), &from, &dest).unwrap();
    let got = dest.join("out/libreal.so");
    assert!(fs::symlink_metadata(&got).unwrap().is_file());
    assert_eq!(fs::read_to_string(got).unwrap(), "ELF");
    // `..` and absolute links stay in the tree: this is the stage's passwd.
    run_tree(&copy(&["../../../etc/passwd"], "/p"), &from, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("p")).unwrap(), "stage passwd");
    run_tree(&copy(&["/app/etc/passwd-link"], "/q"), &from, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("q")).unwrap(), "stage passwd");
    let err = run_tree(&copy(&["/nope"], "/x"), &from, &dest).unwrap_err();
    assert_eq!(err.to_string(), "\"/nope\": not found");
}

#[test]
fn tree_wildcards_parents_and_excludes() {
    let (_t, from, dest) = tree();
    run_tree(&copy(&["/app/*/c*"], "/w/"), &from, &dest).unwrap();
    assert_eq!(listing(&dest.join("w")), ["conf"]);
    run_tree(&copy(&["/lib/*.so*"], "/so/"), &from, &dest).unwrap();
    assert_eq!(listing(&dest.join("so")), ["libreal.so", "real.so.1"]);
    let mut p = copy(&["/app/etc/conf"], "/par/");
    p.parents = true;
    run_tree(&p, &from, &dest).unwrap();
    assert_eq!(
        listing(&dest.join("par")),
        ["app/", "app/etc/", "app/etc/conf"]
    );
    let mut e = copy(&["/app"], "/ex");
    e.exclude = vec!["etc".into()];
    run_tree(&e, &from, &dest).unwrap();
    assert_eq!(listing(&dest.join("ex")), ["bin/", "bin/tool"]);
    run_tree(&copy(&["/app/*.none"], "/none/"), &from, &dest).unwrap();
    assert!(!dest.join("none").exists());
}

#[test]
fn context_digest_ignores_touch_and_sees_chmod_and_content() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "src/a.txt", "A");
    write(dir, "src/b.txt", "B");
    write(dir, "other.txt", "O");
    let action = copy(&["src"], "/app");
    let digest = || {
        content_digest(&action, Some(FileInput::Context(&context(dir))))
            .unwrap()
            .unwrap()
    };
    let first = digest();
    set_mtime(&dir.join("src/a.txt"), 12345);
    assert_eq!(digest(), first, "touch keeps the digest");
    write(dir, "other.txt", "changed, but not selected");
    assert_eq!(digest(), first);
    fs::set_permissions(dir.join("src/a.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    let chmodded = digest();
    assert_ne!(chmodded, first, "chmod changes it");
    write(dir, "src/b.txt", "B2");
    assert_ne!(digest(), chmodded, "content changes it");
    let err = content_digest(
        &copy(&["gone"], "/"),
        Some(FileInput::Context(&context(dir))),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "\"/gone\": not found");
}

#[test]
fn tree_digest_ignores_touch_and_sees_chmod_content_and_owner() {
    let (_t, from, _dest) = tree();
    let action = copy(&["/app"], "/x");
    let digest = || {
        content_digest(&action, Some(FileInput::Tree(&from)))
            .unwrap()
            .unwrap()
    };
    let first = digest();
    set_mtime(&from.join("app/etc/conf"), 999);
    assert_eq!(digest(), first);
    fs::set_permissions(from.join("app/etc/conf"), fs::Permissions::from_mode(0o600)).unwrap();
    let second = digest();
    assert_ne!(second, first);
    std::os::unix::fs::chown(from.join("app/etc/conf"), Some(3), None).unwrap();
    let third = digest();
    assert_ne!(third, second);
    write(&from, "app/etc/conf", "c2");
    assert_ne!(digest(), third);
}

#[test]
fn inline_and_remote_digests() {
    let mut a = copy(&[], "/x");
    a.sources = vec![CopySource::Inline {
        name: "f".into(),
        content: "1".into(),
    }];
    let one = content_digest(&a, None).unwrap().unwrap();
    assert_eq!(content_digest(&a, None).unwrap(), Some(one));
    a.sources = vec![CopySource::Inline {
        name: "f".into(),
        content: "2".into(),
    }];
    assert_ne!(content_digest(&a, None).unwrap(), Some(one));
    a.sources = vec![CopySource::Inline {
        name: "g".into(),
        content: "1".into(),
    }];
    assert_ne!(content_digest(&a, None).unwrap(), Some(one));
    let mut r = copy(&[], "/x");
    r.sources = vec![CopySource::Remote("http://h/f".into())];
    r.add = Some(AddOptions {
        checksum: None,
        unpack: None,
        keep_git_dir: false,
    });
    assert_eq!(content_digest(&r, None).unwrap(), None);
    let sum = format!("sha256:{}", "a".repeat(64));
    r.add = Some(AddOptions {
        checksum: Some(sum),
        unpack: None,
        keep_git_dir: false,
    });
    assert!(content_digest(&r, None).unwrap().is_some());
}

/// A `--from` tree 1500 directories deep (a hostile image can hold one) is
/// walked and copied with a loop: it works on a thread with a 256 KiB stack,
/// where the old recursive walk aborted the process on a stack overflow.
#[test]
fn very_deep_trees_copy_without_deep_recursion() {
    let (_t, from, dest) = tree();
    let deep = "a/".repeat(1500);
    write(&from, &format!("deep/{deep}end"), "bottom");
    let copied = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || run_tree(&copy(&["/deep"], "/d"), &from, &dest).map(|()| dest))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(
        fs::read_to_string(copied.join(format!("d/{deep}end"))).unwrap(),
        "bottom"
    );
}
