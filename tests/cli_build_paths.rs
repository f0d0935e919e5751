//! End-to-end tests of where `kiln build` puts things whose path a
//! Dockerfile gives relative to something: a `RUN --mount` target relative
//! to WORKDIR (red-team L7), and COPY/ADD/WORKDIR through a dangling
//! absolute symlink in the image (red-team L6).

mod support;

use std::path::PathBuf;

use support::{kiln, load_busybox_local, ok_as, Scratch};

/// A scratch dir with a root holding busybox:local and a context dir.
fn setup(name: &str) -> (Scratch, PathBuf, PathBuf) {
    let dir = Scratch::new(name);
    let (root, ctx) = (dir.0.join("root"), dir.0.join("ctx"));
    std::fs::create_dir_all(&ctx).unwrap();
    load_busybox_local(&root);
    (dir, root, ctx)
}

/// `kiln build -q -o type=local,dest=OUT CTX`, which must succeed.
fn build_to_dir(root: &std::path::Path, ctx: &std::path::Path, out: &std::path::Path) {
    let dest = format!("type=local,dest={}", out.display());
    let args = ["build", "-q", "-o", &dest, ctx.to_str().unwrap()];
    ok_as(kiln(root, &args), "kiln build");
}

#[test]
fn relative_mount_targets_resolve_against_workdir() {
    let (dir, root, ctx) = setup("paths-mount");
    std::fs::write(ctx.join("data.txt"), "from-context\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:local\n\
         WORKDIR /work\n\
         RUN --mount=type=bind,target=ctx cat ctx/data.txt > /seen-bind\n\
         RUN --mount=type=tmpfs,target=scratch/../t test -d /work/t && echo ok > /seen-tmpfs\n",
    )
    .unwrap();
    let out = dir.0.join("out");
    build_to_dir(&root, &ctx, &out);
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(read("seen-bind"), "from-context\n");
    assert_eq!(read("seen-tmpfs"), "ok\n");
}
