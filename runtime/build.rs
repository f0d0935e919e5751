//! Builds `init/main.rs` into a static `kiln-init` executable for
//! `kiln run --init` (see that file), embedded with `include_bytes!`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "init/main.rs";
    println!("cargo:rerun-if-changed={source}");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("kiln-init");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        .args([
            "-C",
            "target-feature=+crt-static",
            "--crate-name",
            "kiln_init",
        ])
        .arg(source)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run rustc for kiln-init");
    assert!(status.success(), "building the static kiln-init failed (needs the C library's static archive: Debian's libc6-dev)");
}
