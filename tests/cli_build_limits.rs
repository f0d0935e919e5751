//! End-to-end tests of what a hostile Dockerfile may ask of `kiln build`
//! (red-team H3 and H4): expansion bombs fail with one line and little
//! memory, and deep stage graphs build (or fail with one line) instead of
//! aborting on a stack overflow. The limits are documented in
//! `kiln_parser::dockerfile::limits`.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{load_busybox_local, one_line_error, Scratch};

/// The address space kiln may use in these tests (KiB): the report's bomb
/// needed terabytes; a bounded kiln needs a small fraction of this.
const MEMORY_KIB: u32 = 1_500_000;

/// `kiln --root ROOT build -q -f FILE CTX` under `ulimit -v` and a timeout
/// (a hang fails the test instead of blocking it).
fn build_bounded(root: &Path, ctx: &Path, file: &str) -> Output {
    let script = format!("ulimit -v {MEMORY_KIB}; exec timeout 600 \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(root)
        .args(["build", "-q", "-f"])
        .arg(ctx.join(file))
        .arg(ctx)
        .env_remove("KILN_ROOT")
        .output()
        .expect("run kiln")
}

/// A scratch dir with a root holding busybox:local and a context dir.
fn setup(name: &str) -> (Scratch, std::path::PathBuf, std::path::PathBuf) {
    let dir = Scratch::new(name);
    let (root, ctx) = (dir.0.join("root"), dir.0.join("ctx"));
    std::fs::create_dir_all(&ctx).unwrap();
    load_busybox_local(&root);
    (dir, root, ctx)
}

/// Forty `NAME{i}=${NAME{i-1}}${NAME{i-1}}` doublings of ten bytes: 5 TiB
/// if nothing stops it.
fn doublings(keyword: &str) -> Vec<String> {
    let mut lines = vec![format!("{keyword} A0=xxxxxxxxxx")];
    lines.extend((1..40).map(|i| format!("{keyword} A{i}=${{A{}}}${{A{}}}", i - 1, i - 1)));
    lines
}

fn assert_not_aborted(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(134), "aborted: {stderr}");
    assert!(out.status.code().is_some(), "killed by a signal: {stderr}");
    assert!(!stderr.contains("overflow"), "{stderr}");
}

#[test]
fn arg_and_env_expansion_bombs_fail_in_one_line() {
    let (_dir, root, ctx) = setup("limits-bombs");
    // Line 17 is the first doubling past 1 MiB (A17 = 10 * 2^17 bytes).
    let mut global = doublings("ARG");
    global.extend(["FROM busybox:local".into(), "ARG A39".into()]);
    global.push("RUN echo ${#A39}".into());
    let mut in_stage = vec!["FROM busybox:local".to_string()];
    in_stage.extend(doublings("ARG"));
    let mut env = vec!["FROM busybox:local".to_string()];
    env.extend(doublings("ENV"));
    let cases = [
        ("Dockerfile.global", global, 18),
        ("Dockerfile.stagearg", in_stage, 19),
        ("Dockerfile.env", env, 19),
    ];
    for (file, lines, line) in cases {
        std::fs::write(ctx.join(file), lines.join("\n") + "\n").unwrap();
        let out = build_bounded(&root, &ctx, file);
        assert_not_aborted(&out);
        let stderr = one_line_error(out);
        let want = format!("{file}:{line}:");
        assert!(stderr.contains(&want), "{file}: {stderr}");
        assert!(
            stderr.contains("\"${A16}${A16}\": expanded text longer than 1048576 bytes"),
            "{file}: {stderr}"
        );
    }
}

/// `${A#$A}` with a 40 KiB `A` took 100 s (1 MiB: hours); now refused.
#[test]
fn pattern_matching_bombs_fail_in_one_line() {
    let (_dir, root, ctx) = setup("limits-pattern");
    let mut lines = doublings("ARG").into_iter().take(13).collect::<Vec<_>>();
    lines.extend([
        "FROM busybox:local".into(),
        "ARG A12".into(),
        "ARG B=${A12#$A12}".into(),
    ]);
    std::fs::write(ctx.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
    let out = build_bounded(&root, &ctx, "Dockerfile");
    assert_not_aborted(&out);
    let stderr = one_line_error(out);
    assert!(
        stderr.contains("Dockerfile:16:5: failed to process \"${A12#$A12}\": pattern too long"),
        "{stderr}"
    );
}

#[test]
fn many_copies_of_a_large_value_hit_the_build_budget() {
    let (_dir, root, ctx) = setup("limits-budget");
    // A16 is 640 KiB (under the per-word limit); a thousand ENV copies of it
    // would hold 640 MiB.
    let mut lines = vec!["FROM busybox:local".to_string()];
    lines.extend(doublings("ARG").into_iter().take(17));
    lines.extend((0..1000).map(|i| format!("ENV B{i}=$A16")));
    lines.push("RUN true".into());
    std::fs::write(ctx.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
    let out = build_bounded(&root, &ctx, "Dockerfile");
    assert_not_aborted(&out);
    let stderr = one_line_error(out);
    // The doublings add 1.25 MiB; each ENV adds 640 KiB more: the 24th ENV
    // (line 19 + 23 = 42) goes over 16 MiB.
    assert!(
        stderr.contains(
            "Dockerfile:42:1: expanding \"$A16\" goes over kiln's limit of 16777216 bytes"
        ),
        "{stderr}"
    );
}

#[test]
fn four_thousand_chained_from_stages_build() {
    let (_dir, root, ctx) = setup("limits-from-chain");
    let mut lines = vec!["FROM busybox:local AS s0".to_string()];
    lines.extend((1..4000).map(|i| format!("FROM s{} AS s{i}", i - 1)));
    lines.push("RUN test -x /bin/busybox".into());
    std::fs::write(ctx.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
    let out = build_bounded(&root, &ctx, "Dockerfile");
    assert_not_aborted(&out);
    let stdout = support::ok(out);
    assert!(stdout.trim().starts_with("sha256:"), "{stdout}");
}

/// 3000 stages each `COPY --from` the previous one: the graph (6000
/// vertices) is built and scheduled; the first stage's COPY of a missing
/// file then fails the build quickly (a full build of the chain works too,
/// it just takes minutes: each step is a real file operation).
#[test]
fn three_thousand_chained_copy_from_stages_do_not_overflow() {
    let (_dir, root, ctx) = setup("limits-copy-chain");
    let mut lines = vec!["FROM scratch AS s0".to_string(), "COPY missing /n".into()];
    for i in 1..3000 {
        lines.push(format!("FROM busybox:local AS s{i}"));
        lines.push(format!("COPY --from=s{} /n /n", i - 1));
    }
    std::fs::write(ctx.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
    let out = build_bounded(&root, &ctx, "Dockerfile");
    assert_not_aborted(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}

#[test]
fn too_many_stages_fail_in_one_line() {
    let (_dir, root, ctx) = setup("limits-stages");
    let mut lines = vec!["FROM busybox:local AS s0".to_string()];
    lines.extend((1..5001).map(|i| format!("FROM s{} AS s{i}", i - 1)));
    std::fs::write(ctx.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
    let out = build_bounded(&root, &ctx, "Dockerfile");
    assert_not_aborted(&out);
    let stderr = one_line_error(out);
    assert!(
        stderr.contains("Dockerfile:5001:1: more than 5000 build stages"),
        "{stderr}"
    );
}

/// The Dockerfile is read with a bound: `-f /dev/zero` fails at once in one
/// line instead of reading forever.
#[test]
fn endless_dockerfiles_are_cut_off() {
    let dir = Scratch::new("limits-endless");
    let (root, ctx) = (dir.0.join("root"), dir.0.join("ctx"));
    std::fs::create_dir_all(&ctx).unwrap();
    let script = format!("ulimit -v {MEMORY_KIB}; exec timeout 600 \"$@\"");
    let out = Command::new("sh")
        .args(["-c", &script, "sh", env!("CARGO_BIN_EXE_kiln"), "--root"])
        .arg(&root)
        .args(["build", "-q", "-f", "/dev/zero"])
        .arg(&ctx)
        .env_remove("KILN_ROOT")
        .output()
        .unwrap();
    assert_not_aborted(&out);
    let stderr = one_line_error(out);
    assert!(
        stderr.contains("/dev/zero: the Dockerfile is over kiln's limit of 16777216 bytes"),
        "{stderr}"
    );
}
