//! The live progress view on a real terminal: `kiln build` under `script`
//! (a pseudo-terminal on standard error) picks the tty view by itself
//! (`--progress auto`), redraws it in place while a step runs (the running
//! step's time and last output line), and ends with every step's state:
//! `DONE <time>` for executed steps, `CACHED` on a rebuild.

mod support;

use std::path::Path;
use std::process::Command;

use support::Scratch;

/// Runs `kiln --root ROOT build ARGS…` with a pseudo-terminal as its
/// standard output and error; returns everything the terminal received.
fn build_on_a_terminal(root: &Path, args: &str) -> String {
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let command = format!("{kiln} --root {} build {args}", root.display());
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env_remove("KILN_ROOT")
        .env("TERM", "xterm")
        .output()
        .expect("run script (bsdutils) for a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "build failed on the terminal:\n{text}"
    );
    text
}

#[test]
fn auto_progress_on_a_terminal_is_a_live_view() {
    let scratch = Scratch::new("tty");
    let root = scratch.0.join("root");
    support::load_busybox_local(&root);
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:local\nRUN echo halfway-marker && sleep 1.5 && echo end\nCOPY f /f\n",
    )
    .unwrap();
    std::fs::write(ctx.join("f"), "x\n").unwrap();
    let args = format!("-t tty:1 {}", ctx.display());

    let first = build_on_a_terminal(&root, &args);
    assert!(first.contains("[+] Building"), "no tty header:\n{first}");
    // Redrawn in place: cursor up and line erase sequences.
    assert!(first.contains("\x1b[2K"), "no line erase:\n{first:?}");
    assert!(
        first.contains("A\x1b[2K") || first.contains("A\x1b[J"),
        "no cursor-up redraw:\n{first:?}"
    );
    // While the RUN was running, its last output line was shown.
    assert!(
        first.contains("halfway-marker"),
        "the running step's output was not shown:\n{first}"
    );
    assert!(
        first
            .lines()
            .any(|l| l.contains("RUN echo halfway-marker") && l.contains("DONE 1.")),
        "no final DONE line with the RUN's time:\n{first}"
    );
    // Plain progress lines start with `#<n> `; the view's with ` => #<n>`.
    assert!(
        !first.lines().any(|l| l.starts_with("#1 ")),
        "plain output on a terminal:\n{first}"
    );

    let second = build_on_a_terminal(&root, &args);
    assert!(
        second
            .lines()
            .any(|l| l.contains("RUN echo halfway-marker") && l.contains("CACHED")),
        "the rebuild does not show the RUN as CACHED:\n{second}"
    );
}
