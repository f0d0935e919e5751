//! `kiln-init`: the init process of `kiln run --init` (Docker's `--init`,
//! which uses tini), mounted at `/sbin/docker-init`.
//!
//! Usage: `docker-init -- PROGRAM [ARGS...]`. It runs PROGRAM as its child,
//! passes every signal it receives on to it, reaps every zombie re-parented to
//! it (it is PID 1 of the container), and exits with the child's exit code
//! (128+signal when the child was killed by a signal).
//!
//! It is built by `runtime/build.rs` as a static executable (it must run in any
//! image, with or without a C library), using only `std` and a few C library
//! declarations, and embedded into kiln.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

#[repr(C)]
struct SigSet([u64; 16]);

extern "C" {
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn sigfillset(set: *mut SigSet) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigwait(set: *const SigSet, sig: *mut c_int) -> c_int;
    fn _exit(code: c_int) -> !;
}

const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const SIGCHLD: c_int = 17;
const WNOHANG: c_int = 1;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let program: Vec<String> = match args.first().map(String::as_str) {
        Some("--") => args[1..].to_vec(),
        _ => args,
    };
    if program.is_empty() {
        eprintln!("docker-init: usage: docker-init -- PROGRAM [ARGS...]");
        std::process::exit(1);
    }
    let argv: Vec<CString> = match program.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(argv) => argv,
        Err(_) => {
            eprintln!("docker-init: argument contains a NUL byte");
            std::process::exit(1);
        }
    };
    let mut pointers: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());

    // SAFETY: plain C library calls on structures we own; between fork and
    // exec the child only calls async-signal-safe functions.
    unsafe {
        let mut all = SigSet([0; 16]);
        let mut old = SigSet([0; 16]);
        sigfillset(&mut all);
        sigprocmask(SIG_BLOCK, &all, &mut old);
        let child = fork();
        if child < 0 {
            eprintln!("docker-init: fork: {}", std::io::Error::last_os_error());
            std::process::exit(1);
        }
        if child == 0 {
            sigprocmask(SIG_SETMASK, &old, std::ptr::null_mut());
            execvp(pointers[0], pointers.as_ptr());
            let err = std::io::Error::last_os_error();
            let code = if err.raw_os_error() == Some(2) { 127 } else { 126 };
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("docker-init: exec {}: {err}\n", program[0]).as_bytes(),
            );
            _exit(code);
        }
        loop {
            let mut signal: c_int = 0;
            if sigwait(&all, &mut signal) != 0 {
                continue;
            }
            if signal != SIGCHLD {
                kill(child, signal);
                continue;
            }
            loop {
                let mut status: c_int = 0;
                let pid = waitpid(-1, &mut status, WNOHANG);
                if pid <= 0 {
                    break;
                }
                if pid == child {
                    let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) };
                    std::process::exit(code);
                }
            }
        }
    }
}
