//! The binary runtimes (crun, runc) against real containers. A missing runtime is
//! a failure. Scenarios live in `oci_common`; the embedded runtime has its own
//! single-threaded test binary (`oci_embedded.rs`).

mod oci_common;

use kiln_runtime::oci::{self, Binary};

fn runtime(name: &str) -> Binary {
    oci::become_subreaper().unwrap();
    Binary::find(name).unwrap_or_else(|e| panic!("{e} (install it: apt-get install {name})"))
}

macro_rules! scenarios {
    ($($module:ident: $name:literal),*) => {$(
        mod $module {
            use super::*;
            #[test] fn echo_hello() { oci_common::echo_hello(&runtime($name)) }
            #[test] fn exit_code() { oci_common::exit_code(&runtime($name)) }
            #[test] fn not_found() { oci_common::not_found(&runtime($name)) }
            #[test] fn permission_denied() { oci_common::permission_denied(&runtime($name)) }
            #[test] fn lifecycle() { oci_common::lifecycle(&runtime($name)) }
            #[test] fn exec() { oci_common::exec(&runtime($name)) }
            #[test] fn terminal() { oci_common::terminal(&runtime($name)) }
        }
    )*};
}

scenarios!(crun: "crun", runc: "runc");

#[test]
fn unknown_runtime_is_not_found() {
    let err = Binary::find("no-such-oci-runtime").unwrap_err();
    assert!(matches!(err, oci::RuntimeError::NotFound { .. }), "{err}");
    assert!(oci::by_name("/nonexistent/runc").is_err());
    assert_eq!(oci::by_name("").unwrap().name(), "kiln");
}

/// Start-to-exit timing of `true` (median of 20); prints, asserts nothing.
/// Run with `KILN_OCI_TIMING=1 cargo test -p kiln-runtime --test oci_runtimes timing -- --nocapture`.
#[test]
fn timing() {
    if std::env::var_os("KILN_OCI_TIMING").is_none() {
        return;
    }
    for name in ["crun", "runc"] {
        let ms = oci_common::median_true_ms(&runtime(name));
        println!("{name}: run+wait+delete of `true`: median {ms:.1} ms");
    }
}
