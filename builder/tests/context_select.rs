//! The build context walk and COPY/ADD selections: .dockerignore rules, symlinks
//! never followed, sources that cannot escape the root, wildcards, directories,
//! `--exclude` and `--parents`.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use kiln_builder::context::{Context, ContextError, EntryKind, Ignore, OpenOptions, Selection};
use kiln_parser::dockerignore::Matcher;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn open(dir: &Path, ignore: Ignore) -> Context {
    let options = OpenOptions {
        ignore,
        kiln_root: None,
    };
    Context::open(dir, options).unwrap()
}

fn paths(ctx: &Context) -> Vec<String> {
    ctx.entries().map(|e| e.path).collect()
}

fn selected(ctx: &Context, selection: Selection) -> Vec<String> {
    ctx.resolve(&selection)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect()
}

#[test]
fn dockerignore_with_double_star_and_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "a.md",
        "README.md",
        "src/x.rs",
        "src/tmp/y.o",
        "deep/er/z.o",
        "docs/keep.txt",
        "docs/drop.txt",
        "node_modules/m/i.js",
    ] {
        write(root, f, f);
    }
    write(
        root,
        ".dockerignore",
        "*.md\n!README.md\n**/*.o\ndocs\n!docs/keep.txt\nnode_modules\n",
    );
    let ctx = open(root, Ignore::ContextFile);
    assert_eq!(
        paths(&ctx),
        [
            ".",
            ".dockerignore",
            "README.md",
            "deep",
            "deep/er",
            "docs",
            "docs/keep.txt",
            "src",
            "src/tmp",
            "src/x.rs"
        ]
    );
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.txt", "a");
    write(root, "b.txt", "b");
    write(root, ".dockerignore", "a.txt\n");
    write(root, "app.Dockerfile", "FROM scratch\n");
    write(root, "app.Dockerfile.dockerignore", "b.txt\n");
    let ctx = open(root, Ignore::ForDockerfile(root.join("app.Dockerfile")));
    assert!(ctx.get("a.txt").is_some());
    assert!(ctx.get("b.txt").is_none());
    let ctx = open(root, Ignore::ForDockerfile(root.join("other.Dockerfile")));
    assert!(ctx.get("a.txt").is_none());
    assert!(ctx.get("b.txt").is_some());
}

#[test]
fn bad_ignore_line_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".dockerignore", "ok\n[z-a]\n");
    let err = Context::open(dir.path(), OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ContextError::Dockerignore { .. }), "{err}");
    assert!(err.to_string().contains(".dockerignore"), "{err}");
}

#[test]
fn symlinks_are_recorded_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "real/f.txt", "inside");
    symlink("/etc/shadow", root.join("shadow")).unwrap();
    symlink("/etc", root.join("etc-dir")).unwrap();
    symlink("../../..", root.join("up")).unwrap();
    symlink("real", root.join("inner")).unwrap();
    let ctx = open(root, Ignore::Nothing);
    let entries = ctx.resolve(&Selection::new(["."])).unwrap();
    let link = entries.iter().find(|e| e.path == "shadow").unwrap();
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.link_target.as_deref(), Some("/etc/shadow"));
    assert_eq!(link.digest, None, "the target must not be read");
    // Nothing below a symlinked directory is listed, and only f.txt was hashed.
    assert!(entries
        .iter()
        .all(|e| !e.path.starts_with("etc-dir/") && !e.path.starts_with("inner/")));
    assert_eq!(ctx.stats().files_hashed, 1);
    assert_eq!(ctx.stats().bytes_hashed, "inside".len() as u64);
    // A source naming the link selects the link itself.
    let only = ctx.resolve(&Selection::new(["shadow"])).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].kind, EntryKind::Symlink);
}

#[test]
fn dot_dot_sources_cannot_escape() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "secret.txt", "outside");
    write(outer.path(), "ctx/etc/passwd", "inside passwd");
    let ctx = open(&outer.path().join("ctx"), Ignore::Nothing);
    // `../secret.txt` is `secret.txt` inside the context, which does not exist.
    let err = ctx.resolve(&Selection::new(["../secret.txt"])).unwrap_err();
    assert!(
        matches!(err, ContextError::NotFound(ref s) if s == "../secret.txt"),
        "{err}"
    );
    assert_eq!(
        selected(&ctx, Selection::new(["../../../etc/passwd"])),
        ["etc/passwd"]
    );
    assert_eq!(
        selected(&ctx, Selection::new(["../*"])),
        ["etc", "etc/passwd"]
    );
    assert_eq!(ctx.get("../../etc/passwd").unwrap().path, "etc/passwd");
    assert_eq!(ctx.stats().bytes_hashed, "inside passwd".len() as u64);
}

#[test]
fn wildcards_and_directory_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "a.txt",
        "b.txt",
        "c.md",
        "src/main.rs",
        "src/lib.rs",
        "src/sub/x.rs",
        "home/h.txt",
        "hom.txt",
    ] {
        write(root, f, f);
    }
    let ctx = open(root, Ignore::Nothing);
    assert_eq!(
        selected(&ctx, Selection::new(["*.txt"])),
        ["a.txt", "b.txt", "hom.txt"]
    );
    assert_eq!(
        selected(&ctx, Selection::new(["src/*.rs"])),
        ["src/lib.rs", "src/main.rs"]
    );
    assert_eq!(
        selected(&ctx, Selection::new(["?.md", "[ab].txt"])),
        ["a.txt", "b.txt", "c.md"]
    );
    assert_eq!(
        selected(&ctx, Selection::new(["src"])),
        [
            "src",
            "src/lib.rs",
            "src/main.rs",
            "src/sub",
            "src/sub/x.rs"
        ]
    );
    // A wildcard matching a directory brings its contents.
    assert_eq!(
        selected(&ctx, Selection::new(["hom*"])),
        ["hom.txt", "home", "home/h.txt"]
    );
    assert!(selected(&ctx, Selection::new(["*.none"])).is_empty());
    assert!(matches!(
        ctx.resolve(&Selection::new(["missing"])),
        Err(ContextError::NotFound(_))
    ));
    assert!(matches!(
        ctx.resolve(&Selection::new(["a["])),
        Err(ContextError::BadPattern { .. })
    ));
    let all = selected(&ctx, Selection::new(["."]));
    assert_eq!(all.first().map(String::as_str), Some("."));
    assert_eq!(all.len(), 12);
}

#[test]
fn exclude_and_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "app/a.txt",
        "app/b.rs",
        "app/sub/c.txt",
        "app/sub/d.rs",
        "app/tmp/e.rs",
        "hom.txt",
        "home.rs",
    ] {
        write(root, f, f);
    }
    let ctx = open(root, Ignore::Nothing);
    let s = Selection::new(["app"]).exclude(["*.txt", "tmp"]);
    assert_eq!(
        selected(&ctx, s),
        [
            "app",
            "app/b.rs",
            "app/sub",
            "app/sub/c.txt",
            "app/sub/d.rs"
        ]
    );
    let s = Selection::new(["app"]).exclude(["**/*.txt", "!sub/c.txt"]);
    assert_eq!(
        selected(&ctx, s),
        [
            "app",
            "app/b.rs",
            "app/sub",
            "app/sub/c.txt",
            "app/sub/d.rs",
            "app/tmp",
            "app/tmp/e.rs"
        ]
    );
    assert_eq!(
        selected(&ctx, Selection::new(["hom*"]).exclude(["*.txt"])),
        ["home.rs"]
    );
    let s = Selection::new(["app/sub/*.rs"]).parents(true);
    assert_eq!(selected(&ctx, s), ["app", "app/sub", "app/sub/d.rs"]);
    let s = Selection::new(["app/./sub/*.rs"]).parents(true);
    assert_eq!(selected(&ctx, s), ["app/sub", "app/sub/d.rs"]);
}

#[test]
fn patterns_given_directly() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "keep/a", "a");
    write(dir.path(), "drop/b", "b");
    let ctx = open(
        dir.path(),
        Ignore::Patterns(Matcher::parse("drop").unwrap()),
    );
    assert_eq!(paths(&ctx), [".", "keep", "keep/a"]);
}
