//! The differential suite: every case of testdata/difftest (copied from
//! ../shared/difftest: Dockerfiles with contexts and what docker 20.10 +
//! BuildKit produced from each) is built with kiln and compared with the
//! recording by the cases' own compare.py (`scripts/difftest`).

use std::path::Path;
use std::process::Command;

#[test]
fn every_case_matches_buildkit() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg(repo.join("scripts/difftest"))
        .env("KILN", env!("CARGO_BIN_EXE_kiln"))
        .output()
        .expect("run scripts/difftest");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    println!("difftest took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "difftest cases differ from BuildKit:\n{text}"
    );
    assert!(text.contains("difftest: 24 passed, 0 failed"), "{text}");
}
