//! The embedded (libcontainer) runtime against real containers. libcontainer is
//! not thread-safe, so this test binary has no harness (`harness = false`): every
//! scenario runs in order on the main thread of a single-threaded process.

mod oci_common;

use kiln_runtime::oci::{self, Embedded};

fn main() {
    oci::become_subreaper().unwrap();
    let rt = Embedded::new();
    oci_common::all(&rt);
    println!("oci_embedded: all scenarios passed");
    if std::env::var_os("KILN_OCI_TIMING").is_some() {
        let ms = oci_common::median_true_ms(&rt);
        println!("kiln (embedded): run+wait+delete of `true`: median {ms:.1} ms");
    }
}
