//! Reproducible builds: with SOURCE_DATE_EPOCH set, two builds of the same
//! input on two different `--root`s give the same image ID.

mod support;

use std::path::Path;
use std::process::Command;

use support::{ok, Scratch};

fn build(root: &Path, ctx: &Path) -> String {
    support::load_busybox_local(root);
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(root)
        .args(["build", "-q", "-t", "repro:1"])
        .arg(ctx)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    ok(out).trim().to_string()
}

#[test]
fn same_input_same_image_on_two_roots() {
    let scratch = Scratch::new("repro");
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:local\nRUN echo hi > /hi && mkdir /d && touch /d/x\nCOPY f /f\nWORKDIR /app\nCMD [\"cat\", \"/hi\"]\n",
    )
    .unwrap();
    std::fs::write(ctx.join("f"), "data\n").unwrap();
    let first = build(&scratch.0.join("root1"), &ctx);
    // Another second: anything taken from the clock would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build(&scratch.0.join("root2"), &ctx);
    assert!(first.starts_with("sha256:"), "{first}");
    assert_eq!(first, second);
}
