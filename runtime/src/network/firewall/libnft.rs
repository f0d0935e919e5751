//! Running nft command text: in-process through libnftables (loaded at run
//! time with `dlopen("libnftables.so.1")`, so kiln neither links against it
//! nor needs its headers), or, when the library is missing, through the
//! `nft` program reading the same text on its standard input (`nft -f -`).
//!
//! The research measured a publish/unpublish transaction at 0.14 ms in
//! process against 4-23 ms through the program (process start plus the
//! ruleset cache), hence the library first.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::pernetns::PerNetns;
use super::FirewallError;

/// `NFT_CTX_OUTPUT_JSON` of `<nftables/libnftables.h>`.
const NFT_CTX_OUTPUT_JSON: c_uint = 1 << 4;

/// Which way nft commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NftBackend {
    /// libnftables when it loads, else the `nft` program.
    Auto,
    /// libnftables in-process (fails when the library is missing).
    Library,
    /// The `nft` program (`nft -f -`), as when the library is missing.
    Program,
}

type CtxNew = unsafe extern "C" fn(c_uint) -> *mut c_void;
type CtxInt = unsafe extern "C" fn(*mut c_void) -> c_int;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type GetBuf = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type SetFlags = unsafe extern "C" fn(*mut c_void, c_uint);

/// The libnftables entry points kiln uses.
struct Lib {
    ctx_new: CtxNew,
    buffer_output: CtxInt,
    buffer_error: CtxInt,
    run_cmd: RunCmd,
    output_buffer: GetBuf,
    error_buffer: GetBuf,
    ctx_free: CtxFree,
    set_output_flags: SetFlags,
}

/// The library, loaded once per process (`None`: not installed).
fn library() -> Option<&'static Lib> {
    static LIB: OnceLock<Option<Lib>> = OnceLock::new();
    LIB.get_or_init(load).as_ref()
}

/// `dlopen` + `dlsym` of every entry point; `None` if any is missing.
fn load() -> Option<Lib> {
    // SAFETY: dlopen with a constant NUL-terminated name; the handle is
    // kept for the life of the process (never dlclosed).
    let handle = unsafe { libc::dlopen(c"libnftables.so.1".as_ptr(), libc::RTLD_NOW) };
    if handle.is_null() {
        return None;
    }
    let sym = |name: &CStr| {
        // SAFETY: a valid handle and a NUL-terminated symbol name.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    };
    // SAFETY: each symbol is transmuted to the C prototype declared in
    // <nftables/libnftables.h> for that very name.
    unsafe {
        Some(Lib {
            ctx_new: std::mem::transmute::<*mut c_void, CtxNew>(sym(c"nft_ctx_new")?),
            buffer_output: std::mem::transmute::<*mut c_void, CtxInt>(sym(
                c"nft_ctx_buffer_output",
            )?),
            buffer_error: std::mem::transmute::<*mut c_void, CtxInt>(sym(c"nft_ctx_buffer_error")?),
            run_cmd: std::mem::transmute::<*mut c_void, RunCmd>(sym(c"nft_run_cmd_from_buffer")?),
            output_buffer: std::mem::transmute::<*mut c_void, GetBuf>(sym(
                c"nft_ctx_get_output_buffer",
            )?),
            error_buffer: std::mem::transmute::<*mut c_void, GetBuf>(sym(
                c"nft_ctx_get_error_buffer",
            )?),
            ctx_free: std::mem::transmute::<*mut c_void, CtxFree>(sym(c"nft_ctx_free")?),
            set_output_flags: std::mem::transmute::<*mut c_void, SetFlags>(sym(
                c"nft_ctx_output_set_flags",
            )?),
        })
    }
}

/// One libnftables context with buffered output and error.
struct Ctx {
    lib: &'static Lib,
    ptr: *mut c_void,
}

// SAFETY: a context is used by one thread at a time (it lives in a Mutex);
// libnftables keeps no thread-local state tied to the creating thread.
unsafe impl Send for Ctx {}

impl Ctx {
    fn new(lib: &'static Lib) -> Option<Ctx> {
        // SAFETY: plain constructor; 0 = NFT_CTX_DEFAULT.
        let ptr = unsafe { (lib.ctx_new)(0) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: ptr is a live context.
        unsafe {
            (lib.buffer_output)(ptr);
            (lib.buffer_error)(ptr);
        }
        Some(Ctx { lib, ptr })
    }

    /// Runs `text`; `Ok(output)` or `Err(error output)`.
    fn run(&mut self, text: &str, json: bool) -> Result<String, String> {
        let text = CString::new(text).map_err(|_| "command text holds a NUL byte".to_string())?;
        let flags = if json { NFT_CTX_OUTPUT_JSON } else { 0 };
        // SAFETY: live context, NUL-terminated command; the buffers are
        // read right after (each get resets its buffer).
        unsafe {
            (self.lib.set_output_flags)(self.ptr, flags);
            let rc = (self.lib.run_cmd)(self.ptr, text.as_ptr());
            let out = buffer_text((self.lib.output_buffer)(self.ptr));
            let err = buffer_text((self.lib.error_buffer)(self.ptr));
            if rc == 0 {
                Ok(out)
            } else {
                Err(err)
            }
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: ptr came from nft_ctx_new and is freed once.
        unsafe { (self.lib.ctx_free)(self.ptr) }
    }
}

/// Copies a libnftables buffer (may be NULL).
fn buffer_text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libnftables returns a NUL-terminated buffer owned by the ctx.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A runner of nft command text.
pub(crate) struct Nft {
    ctx: Option<&'static Mutex<Ctx>>,
}

/// The libnftables contexts, one per network namespace (see
/// [`super::pernetns`] for why they are kept).
static CONTEXTS: PerNetns<Ctx> = PerNetns::new();

impl Nft {
    /// Picks the backend; `Unavailable` when neither way works.
    pub(crate) fn new(backend: NftBackend) -> Result<Nft, FirewallError> {
        let ctx = match backend {
            NftBackend::Program => None,
            _ => CONTEXTS.get(|| library().and_then(Ctx::new)),
        };
        if ctx.is_none() {
            if backend == NftBackend::Library {
                return Err(FirewallError::Unavailable(
                    "cannot load libnftables.so.1".into(),
                ));
            }
            program_present()?;
        }
        Ok(Nft { ctx })
    }

    /// Whether commands run in-process.
    pub(crate) fn in_process(&self) -> bool {
        self.ctx.is_some()
    }

    /// Runs `text` (one transaction); `operation` names it in errors.
    pub(crate) fn run(&self, operation: &str, text: &str) -> Result<String, FirewallError> {
        self.exec(text, false)
            .map_err(|message| nft_error(operation, message))
    }

    /// Runs `text` with JSON output (`nft -j`): one JSON document per
    /// command line. Each line runs alone: libnftables 1.0.6 fills its
    /// cache for the first `list` of a buffer only, so a second `list map`
    /// in the same buffer fails with ENOENT.
    pub(crate) fn run_json(&self, operation: &str, text: &str) -> Result<String, FirewallError> {
        let mut out = String::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let doc = self
                .exec(line, true)
                .map_err(|message| nft_error(operation, message))?;
            out.push_str(&doc);
        }
        Ok(out)
    }

    fn exec(&self, text: &str, json: bool) -> Result<String, String> {
        match &self.ctx {
            Some(ctx) => ctx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .run(text, json),
            None => run_program(text, json),
        }
    }
}

fn nft_error(operation: &str, message: String) -> FirewallError {
    FirewallError::Nft {
        operation: operation.to_string(),
        message: first_error_line(&message),
    }
}

/// nft's first `Error: ...` line (the rest repeats the command and marks
/// the column), or the whole trimmed text.
pub(crate) fn first_error_line(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.find("Error: ").map(|i| l[i + 7..].trim().to_string()))
        .unwrap_or_else(|| message.trim().to_string())
}

/// `nft --version` runs.
fn program_present() -> Result<(), FirewallError> {
    match Command::new("nft").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(FirewallError::Unavailable(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )),
        Err(e) => Err(FirewallError::Unavailable(format!(
            "libnftables.so.1 is missing and nft cannot run: {e}"
        ))),
    }
}

/// `nft -f -` with `text` on stdin; for JSON output `nft -j <words>`
/// (with `-j`, `-f` would read JSON *input*), so JSON text is one command.
fn run_program(text: &str, json: bool) -> Result<String, String> {
    let mut cmd = Command::new("nft");
    let stdin = if json {
        cmd.arg("-j").args(text.split_whitespace());
        Stdio::null()
    } else {
        cmd.args(["-f", "-"]);
        Stdio::piped()
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if let (false, Some(mut stdin)) = (json, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("writing to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for nft: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_error_line_keeps_the_reason() {
        let m = "/dev/stdin:1:36-45: Error: Could not process rule: File exists\n\
                 add element inet t pub4 { tcp . 8080 : 10.0.0.3 . 80 }\n          ^^^^\n";
        assert_eq!(first_error_line(m), "Could not process rule: File exists");
        assert_eq!(first_error_line("  odd failure \n"), "odd failure");
    }
}
