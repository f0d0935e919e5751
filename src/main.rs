//! `kiln`: build OCI images from Dockerfiles and run them — one daemonless binary.
//!
//! This file only turns the command line into a library call and the outcome
//! into an exit code; the work lives in the `kiln-*` crates.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
