//! COPY from the build context: destination rules, directories, wildcards,
//! `--parents`, `--exclude`, `--chown`, `--chmod`, symlinks, `..`, heredocs,
//! overwrites, mtimes, hard links and error messages.

mod file_common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use file_common::{attrs, context, copy, listing, run_ctx, set_mtime, write};
use kiln_builder::executor::file::{apply, FileInput};
use kiln_builder::graph::CopySource;

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    let dest = tmp.path().join("root");
    fs::create_dir_all(&dest).unwrap();
    write(&ctx, "a.txt", "A");
    write(&ctx, "b.txt", "B");
    write(&ctx, "app.log", "log");
    write(&ctx, "src/main.rs", "fn main() {}");
    write(&ctx, "src/sub/lib.rs", "lib");
    write(&ctx, "src/debug.log", "noise");
    (tmp, ctx, dest)
}

#[test]
fn file_to_file_to_dir_and_into_existing_dir() {
    let (_t, ctx, dest) = fixture();
    run_ctx(&copy(&["a.txt"], "/x/renamed"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("x/renamed")).unwrap(), "A");
    run_ctx(&copy(&["a.txt"], "/d/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("d/a.txt")).unwrap(), "A");
    // An existing directory without a trailing slash: into it.
    run_ctx(&copy(&["b.txt"], "/d"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("d/b.txt")).unwrap(), "B");
    // Relative destinations are joined to the working directory.
    let c = context(&ctx);
    apply(
        &copy(&["a.txt"], "rel/"),
        Some(FileInput::Context(&c)),
        &dest,
        "/work",
    )
    .unwrap();
    assert_eq!(
        fs::read_to_string(dest.join("work/rel/a.txt")).unwrap(),
        "A"
    );
    apply(
        &copy(&["b.txt"], "."),
        Some(FileInput::Context(&c)),
        &dest,
        "/work",
    )
    .unwrap();
    assert!(dest.join("work/b.txt").is_file());
    // Several sources: the destination is a directory even without a slash.
    run_ctx(&copy(&["a.txt", "b.txt"], "/multi"), &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("multi")), ["a.txt", "b.txt"]);
    // Created parents are 0755 root-owned.
    assert_eq!(attrs(&dest.join("x")), (0o755, 0, 0));
}

#[test]
fn directory_source_copies_its_contents_and_merges() {
    let (_t, ctx, dest) = fixture();
    write(&dest, "app/existing", "keep");
    fs::set_permissions(dest.join("app"), fs::Permissions::from_mode(0o711)).unwrap();
    run_ctx(&copy(&["src"], "/app"), &ctx, &dest).unwrap();
    assert_eq!(
        listing(&dest.join("app")),
        ["debug.log", "existing", "main.rs", "sub/", "sub/lib.rs"]
    );
    // An existing destination directory keeps its own attributes.
    assert_eq!(attrs(&dest.join("app")).0, 0o711);
    // A new one is created 0755.
    run_ctx(&copy(&["src/sub"], "/new"), &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("new")), ["lib.rs"]);
    assert_eq!(attrs(&dest.join("new")).0, 0o755);
    // `.` is the whole context.
    run_ctx(&copy(&["."], "/all/"), &ctx, &dest).unwrap();
    assert!(dest.join("all/src/sub/lib.rs").is_file());
    assert!(dest.join("all/a.txt").is_file());
}

#[test]
fn context_files_are_owned_by_root_and_keep_mode_and_mtime() {
    let (_t, ctx, dest) = fixture();
    std::os::unix::fs::chown(ctx.join("a.txt"), Some(1000), Some(1001)).unwrap();
    fs::set_permissions(ctx.join("a.txt"), fs::Permissions::from_mode(0o4751)).unwrap();
    set_mtime(&ctx.join("a.txt"), 1_000_000);
    set_mtime(&ctx.join("src/sub/lib.rs"), 2_000_000);
    run_ctx(&copy(&["a.txt", "src"], "/o/"), &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("o/a.txt")), (0o4751, 0, 0));
    assert_eq!(
        fs::metadata(dest.join("o/a.txt")).unwrap().mtime(),
        1_000_000
    );
    assert_eq!(
        fs::metadata(dest.join("o/sub/lib.rs")).unwrap().mtime(),
        2_000_000
    );
    // Directory mtimes survive the files written into them afterwards.
    let src_sub = fs::metadata(ctx.join("src/sub")).unwrap().mtime();
    assert_eq!(fs::metadata(dest.join("o/sub")).unwrap().mtime(), src_sub);
}

#[test]
fn wildcards() {
    let (_t, ctx, dest) = fixture();
    run_ctx(&copy(&["*.txt"], "/w/"), &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("w")), ["a.txt", "b.txt"]);
    // One match to a path without a slash: that file.
    run_ctx(&copy(&["a.*"], "/one"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("one")).unwrap(), "A");
    // Several matches: a directory.
    run_ctx(&copy(&["*.txt"], "/many"), &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("many")), ["a.txt", "b.txt"]);
    // Wildcard directories copy their contents; `[` classes work.
    run_ctx(&copy(&["s[r]c"], "/cls"), &ctx, &dest).unwrap();
    assert!(dest.join("cls/main.rs").is_file());
    // No match: nothing copied, no error (BuildKit).
    run_ctx(&copy(&["*.nomatch"], "/none/"), &ctx, &dest).unwrap();
    assert!(!dest.join("none").exists());
    // ...but the directory a wildcard lists must exist.
    let err = run_ctx(&copy(&["nodir/*.txt"], "/n/"), &ctx, &dest).unwrap_err();
    assert_eq!(err.to_string(), "\"/nodir\": not found");
}

#[test]
fn missing_source_and_dotdot_cannot_escape() {
    let (tmp, ctx, dest) = fixture();
    let err = run_ctx(&copy(&["/missing"], "/x"), &ctx, &dest).unwrap_err();
    assert_eq!(err.to_string(), "\"/missing\": not found");
    write(tmp.path(), "outside.txt", "secret");
    let err = run_ctx(&copy(&["../outside.txt"], "/x"), &ctx, &dest).unwrap_err();
    assert_eq!(err.to_string(), "\"/outside.txt\": not found");
    // `../../a.txt` is the context's own a.txt.
    run_ctx(&copy(&["../../a.txt"], "/in/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("in/a.txt")).unwrap(), "A");
    // Nothing was written outside the destination root.
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn parents_keep_source_paths() {
    let (_t, ctx, dest) = fixture();
    let mut a = copy(&["src/sub/lib.rs", "a.txt"], "/p/");
    a.parents = true;
    run_ctx(&a, &ctx, &dest).unwrap();
    assert_eq!(
        listing(&dest.join("p")),
        ["a.txt", "src/", "src/sub/", "src/sub/lib.rs"]
    );
    let mut b = copy(&["src/./sub/lib.rs"], "/q/");
    b.parents = true;
    run_ctx(&b, &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("q")), ["sub/", "sub/lib.rs"]);
}

#[test]
fn exclude_and_dockerignore() {
    let (_t, ctx, dest) = fixture();
    write(&ctx, ".dockerignore", "b.txt\n");
    let mut a = copy(&["."], "/e/");
    a.exclude = vec!["*.log".into(), "**/*.log".into()];
    run_ctx(&a, &ctx, &dest).unwrap();
    assert_eq!(
        listing(&dest.join("e")),
        [
            ".dockerignore",
            "a.txt",
            "src/",
            "src/main.rs",
            "src/sub/",
            "src/sub/lib.rs"
        ]
    );
}

fn with_passwd(dest: &Path) {
    write(
        dest,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\napp:x:1500:1600::/home/app:/bin/sh\n",
    );
    write(dest, "etc/group", "root:x:0:\nstaff:x:50:\napp:x:1600:\n");
}

#[test]
fn chown_by_name_and_number_applies_to_created_parents() {
    let (_t, ctx, dest) = fixture();
    with_passwd(&dest);
    let mut a = copy(&["src"], "/deep/er/app");
    a.chown = Some("app:staff".into());
    run_ctx(&a, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("deep/er/app/sub/lib.rs")).1, 1500);
    assert_eq!(attrs(&dest.join("deep/er/app/sub")).2, 50);
    assert_eq!(attrs(&dest.join("deep")), (0o755, 1500, 50));
    let mut b = copy(&["a.txt"], "/n/");
    b.chown = Some("1234".into());
    run_ctx(&b, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("n/a.txt")), (0o644, 1234, 1234));
    let mut c = copy(&["a.txt"], "/u/");
    c.chown = Some("app".into());
    run_ctx(&c, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("u/a.txt")), (0o644, 1500, 1600));
    let mut d = copy(&["a.txt"], "/v/");
    d.chown = Some("7:app".into());
    run_ctx(&d, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("v/a.txt")), (0o644, 7, 1600));
    let mut e = copy(&["a.txt"], "/w/");
    e.chown = Some("nobody".into());
    let err = run_ctx(&e, &ctx, &dest).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find user nobody: no matching entries in passwd file"
    );
    assert!(
        !dest.join("w").exists(),
        "nothing is written after a bad --chown"
    );
}

#[test]
fn chmod_octal_and_symbolic() {
    let (_t, ctx, dest) = fixture();
    let mut a = copy(&["src"], "/c");
    a.chmod = Some("0700".into());
    run_ctx(&a, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("c/main.rs")).0, 0o700);
    assert_eq!(attrs(&dest.join("c/sub")).0, 0o700);
    let mut b = copy(&["a.txt"], "/s/");
    b.chmod = Some("u+x,g-r,o=".into());
    run_ctx(&b, &ctx, &dest).unwrap();
    assert_eq!(attrs(&dest.join("s/a.txt")).0, 0o700);
    let mut bad = copy(&["a.txt"], "/s/");
    bad.chmod = Some("lots".into());
    assert!(run_ctx(&bad, &ctx, &dest)
        .unwrap_err()
        .to_string()
        .contains("invalid --chmod"));
}

#[test]
fn symlinks_are_copied_as_links_never_followed() {
    let (tmp, ctx, dest) = fixture();
    write(tmp.path(), "secret", "TOP SECRET");
    symlink(tmp.path().join("secret"), ctx.join("leak")).unwrap();
    symlink("../../secret", ctx.join("src/rel")).unwrap();
    run_ctx(&copy(&["leak"], "/l/"), &ctx, &dest).unwrap();
    let got = dest.join("l/leak");
    assert!(fs::symlink_metadata(&got).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_link(&got).unwrap(), tmp.path().join("secret"));
    run_ctx(&copy(&["src"], "/s"), &ctx, &dest).unwrap();
    assert_eq!(
        fs::read_link(dest.join("s/rel")).unwrap(),
        Path::new("../../secret")
    );
    // No file in the destination holds the secret's bytes.
    for rel in listing(&dest) {
        let p = dest.join(&rel);
        if fs::symlink_metadata(&p).unwrap().is_file() {
            assert_ne!(fs::read_to_string(&p).unwrap(), "TOP SECRET", "{rel}");
        }
    }
}

#[test]
fn destination_links_resolve_inside_the_root() {
    let (tmp, ctx, dest) = fixture();
    fs::create_dir_all(dest.join("usr/lib")).unwrap();
    symlink("/usr/lib", dest.join("lib")).unwrap();
    symlink("/", dest.join("escape")).unwrap();
    run_ctx(&copy(&["a.txt"], "/lib/"), &ctx, &dest).unwrap();
    assert!(dest.join("usr/lib/a.txt").is_file());
    // A link to "/" is the destination root, not the host's.
    run_ctx(&copy(&["b.txt"], "/escape/../../b-out.txt"), &ctx, &dest).unwrap();
    assert!(dest.join("b-out.txt").is_file());
    run_ctx(&copy(&["b.txt"], "/escape/tmp-b.txt"), &ctx, &dest).unwrap();
    assert!(dest.join("tmp-b.txt").is_file());
    assert!(!Path::new("/tmp-b.txt").exists());
    assert!(!tmp.path().join("b-out.txt").exists());
}

#[test]
fn overwrites_replace_files_and_refuse_file_over_dir() {
    let (_t, ctx, dest) = fixture();
    write(&dest, "f/a.txt", "old");
    symlink("/nowhere", dest.join("f/b.txt")).unwrap();
    run_ctx(&copy(&["a.txt", "b.txt"], "/f/"), &ctx, &dest).unwrap();
    assert_eq!(fs::read_to_string(dest.join("f/a.txt")).unwrap(), "A");
    assert!(fs::symlink_metadata(dest.join("f/b.txt"))
        .unwrap()
        .is_file());
    write(&dest, "g/a.txt/inner", "x");
    let err = run_ctx(&copy(&["a.txt"], "/g/"), &ctx, &dest).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot replace to directory /g/a.txt with file"),
        "{err}"
    );
}

#[test]
fn hard_links_stay_linked() {
    let (_t, ctx, dest) = fixture();
    fs::hard_link(ctx.join("src/main.rs"), ctx.join("src/alias.rs")).unwrap();
    run_ctx(&copy(&["src"], "/h"), &ctx, &dest).unwrap();
    let a = fs::metadata(dest.join("h/main.rs")).unwrap();
    let b = fs::metadata(dest.join("h/alias.rs")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 2);
}

#[test]
fn heredoc_sources() {
    let (_t, _ctx, dest) = fixture();
    let mut a = copy(&[], "/etc/app/");
    a.sources = vec![
        CopySource::Inline {
            name: "one.conf".into(),
            content: "x=1\n".into(),
        },
        CopySource::Inline {
            name: "two.conf".into(),
            content: "y=2\n".into(),
        },
    ];
    a.from = None;
    apply(&a, None, &dest, "/").unwrap();
    assert_eq!(
        fs::read_to_string(dest.join("etc/app/one.conf")).unwrap(),
        "x=1\n"
    );
    assert_eq!(attrs(&dest.join("etc/app/two.conf")), (0o644, 0, 0));
    let mut b = copy(&[], "/run.sh");
    b.sources = vec![CopySource::Inline {
        name: "EOF".into(),
        content: "echo hi\n".into(),
    }];
    b.chmod = Some("755".into());
    apply(&b, None, &dest, "/").unwrap();
    assert_eq!(attrs(&dest.join("run.sh")).0, 0o755);
}

/// Red-team L6: a destination through a dangling symlink creates the link's
/// target inside the root, as BuildKit does, and never anything on the host.
#[test]
fn dangling_links_in_the_destination_are_created_inside_the_root() {
    let (tmp, ctx, dest) = fixture();
    let host = format!("/kiln-l6-nonexist-{}", std::process::id());
    symlink(&host, dest.join("hl")).unwrap();
    run_ctx(&copy(&["a.txt"], "/hl/x"), &ctx, &dest).unwrap();
    let inside = dest.join(host.trim_start_matches('/'));
    assert_eq!(fs::read_to_string(inside.join("x")).unwrap(), "A");
    assert_eq!(attrs(&inside), (0o755, 0, 0));
    assert!(fs::symlink_metadata(dest.join("hl")).unwrap().is_symlink());
    assert!(!Path::new(&host).exists(), "created on the host");
    // A relative link climbing above the root stops at the root; links
    // chain; a directory source goes through the link too.
    symlink("../../../gone/deeper", dest.join("rl")).unwrap();
    symlink("rl/more", dest.join("chain")).unwrap();
    run_ctx(&copy(&["src"], "/chain/app/"), &ctx, &dest).unwrap();
    assert_eq!(
        fs::read_to_string(dest.join("gone/deeper/more/app/main.rs")).unwrap(),
        "fn main() {}"
    );
    assert!(!tmp.path().join("gone").exists());
    // A directory destination that is itself a dangling link.
    symlink("/made-by-copy", dest.join("dl")).unwrap();
    run_ctx(&copy(&["src/sub"], "/dl"), &ctx, &dest).unwrap();
    assert_eq!(listing(&dest.join("made-by-copy")), ["lib.rs"]);
    // A link loop fails in one line instead of spinning.
    symlink("/loop2", dest.join("loop1")).unwrap();
    symlink("/loop1", dest.join("loop2")).unwrap();
    let err = run_ctx(&copy(&["a.txt"], "/loop1/x"), &ctx, &dest).unwrap_err();
    assert!(err.to_string().contains("/loop1"), "{err}");
    assert_eq!(err.to_string().lines().count(), 1);
    // A file on the way is still "not a directory".
    write(&dest, "plain", "p");
    symlink("/plain/sub", dest.join("tofile")).unwrap();
    let err = run_ctx(&copy(&["a.txt"], "/tofile/x"), &ctx, &dest).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot copy to non-directory: /tofile"),
        "{err}"
    );
}
