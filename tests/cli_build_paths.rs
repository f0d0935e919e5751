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

/// One raw ustar entry (`kind` b'0' file, b'2' symlink) for `name`.
fn ustar(name: &str, kind: u8, link: &str, body: &[u8]) -> Vec<u8> {
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

/// A tar with `a -> /x`, then `a/f` through it.
fn tar_through_own_link() -> Vec<u8> {
    let mut t = ustar("a", b'2', "/x", b"");
    t.extend(ustar("a/f", b'0', "", b"through"));
    t.extend([0u8; 1024]);
    t
}

#[test]
fn copy_add_and_workdir_through_dangling_links_stay_in_the_rootfs() {
    let (dir, root, ctx) = setup("paths-dangling");
    let tag = format!("kiln-l6-{}", std::process::id());
    std::fs::write(ctx.join("f"), "hello\n").unwrap();
    std::fs::write(ctx.join("links.tar"), tar_through_own_link()).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM busybox:local\n\
             RUN ln -s /{tag}-copy /hl && ln -s /{tag}-wd /wl\n\
             COPY f /hl/x\n\
             WORKDIR /wl/sub\n\
             ADD links.tar /\n\
             RUN pwd > /pwd && cat /{tag}-copy/x /x/f > /seen\n"
        ),
    )
    .unwrap();
    let out = dir.0.join("out");
    build_to_dir(&root, &ctx, &out);
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(read("seen"), "hello\nthrough");
    assert_eq!(read("pwd"), format!("/{tag}-wd/sub\n"));
    assert!(out.join(format!("{tag}-copy/x")).is_file());
    for host in [format!("/{tag}-copy"), format!("/{tag}-wd")] {
        assert!(
            !std::path::Path::new(&host).exists(),
            "{host} made on the host"
        );
    }
    assert!(!dir.0.join("x").exists() && !ctx.join("x").exists());
}
