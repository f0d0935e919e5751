//! The embedded runtime's executor: how libcontainer's container init turns
//! into the container's program.
//!
//! libcontainer's default executor calls `execvp`, which runs any file the
//! kernel refuses with `ENOEXEC` through `/bin/sh` (so a text file without
//! `#!`, or an ELF for another architecture, was run by the shell), and sets
//! the environment with `std::env::set_var`, which panics on a name that is
//! empty or holds `=` or NUL. This executor does what runc and crun do:
//!
//! - before the start ([`Executor::validate`]): every environment entry is
//!   `NAME=value` with a non-empty name (runc's words: `environment variable
//!   name can't be empty`), and the program is found (`$PATH` of the
//!   container's environment when it has no `/`) and is an executable file;
//! - at the start ([`Executor::exec`]): one `execve` with the environment built
//!   explicitly (the spec's entries, plus the `HOME` libcontainer derived from
//!   `/etc/passwd` when the spec has none). If it fails, the init prints
//!   `exec PATH: REASON` (Go's lower-case errno words, as runc: `exec format
//!   error`, `argument list too long`, `no such file or directory` — for a
//!   script, naming its missing `#!` interpreter) on the container's stderr
//!   and exits 1, as runc and crun do (measured here: runc 1.1.5 and crun
//!   1.8.1 both exit 1 after the start; Docker on runc reports the same).
//!   Failures found before the start (not found, not executable) are start
//!   errors, which kiln maps to Docker's 127 and 126.
//!
//! With a cached seccomp program ([`super::embedded_seccomp`]), `validate`
//! first installs it.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use libcontainer::workload::{
    Executor, ExecutorError, ExecutorSetEnvsError, ExecutorValidationError,
};
use oci_spec::runtime::Spec;

use super::embedded_seccomp::LateSeccomp;

/// The environment libcontainer computed (with `HOME`), kept for `exec`.
/// The init is a process of its own, so one value per process is enough.
static ENVS: OnceLock<HashMap<String, String>> = OnceLock::new();

/// kiln's executor for libcontainer (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct KilnExecutor {
    /// A cached seccomp program the init installs itself (see
    /// [`super::embedded_seccomp`]); `None` when libcontainer does it.
    pub seccomp: Option<LateSeccomp>,
}

fn spec_parts(spec: &Spec) -> (Vec<String>, Vec<String>) {
    let process = spec.process().as_ref();
    let args = process.and_then(|p| p.args().clone()).unwrap_or_default();
    let env = process.and_then(|p| p.env().clone()).unwrap_or_default();
    (args, env)
}

/// The program `name` as the kernel should exec it: as given when it has a
/// `/`, else the first executable regular file of that name along `path`
/// (Go's `exec.LookPath`, which runc uses).
fn look_path(name: &str, path: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    // An empty PATH finds nothing; an empty element of a longer one means "." (Go).
    for dir in path.split(':').filter(|_| !path.is_empty()) {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = PathBuf::from(dir).join(name);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(format!(
        "exec: {name:?}: executable file not found in $PATH"
    ))
}

fn path_of(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("")
}

impl Executor for KilnExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        // Where libcontainer loads a filter under no_new_privileges: before
        // the init reports ready and waits for the start.
        if let Some(seccomp) = &self.seccomp {
            seccomp.install().map_err(|e| {
                ExecutorValidationError::ArgValidationError(format!("install seccomp filter: {e}"))
            })?;
        }
        let (args, env) = spec_parts(spec);
        if let Some(why) = env.iter().find_map(|e| crate::spec::env_entry_error(e)) {
            return Err(ExecutorValidationError::ArgValidationError(why));
        }
        let Some(name) = args.first() else {
            return Err(ExecutorValidationError::ArgValidationError(
                "no command to run (process.args is empty)".into(),
            ));
        };
        let program =
            look_path(name, path_of(&env)).map_err(ExecutorValidationError::ArgValidationError)?;
        let invalid = |why: &str| {
            ExecutorValidationError::ArgValidationError(format!(
                "exec: {name:?}: stat {}: {why}",
                program.display()
            ))
        };
        match std::fs::metadata(&program) {
            Err(e) => Err(invalid(&errno_words(e.raw_os_error().unwrap_or(libc::EIO)))),
            Ok(meta) if meta.is_dir() => Err(invalid("is a directory (permission denied)")),
            Ok(meta) if meta.permissions().mode() & 0o111 == 0 => Err(invalid("permission denied")),
            Ok(_) => Ok(()),
        }
    }

    fn setup_envs(&self, envs: HashMap<String, String>) -> Result<(), ExecutorSetEnvsError> {
        let _ = ENVS.set(envs);
        Ok(())
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let (args, env) = spec_parts(spec);
        let env = with_home(env);
        let program = match args.first().map(|n| look_path(n, path_of(&env))) {
            Some(Ok(p)) => p,
            Some(Err(why)) => fail(&why),
            None => fail("no command to run"),
        };
        let to_c = |s: &str| {
            CString::new(s).unwrap_or_else(|_| {
                fail(&format!(
                    "exec {}: argument or environment entry holds a NUL byte",
                    program.display()
                ))
            })
        };
        let c_program = to_c(&program.to_string_lossy());
        let c_args: Vec<CString> = args.iter().map(|a| to_c(a)).collect();
        let c_env: Vec<CString> = env.iter().map(|e| to_c(e)).collect();
        let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = c_env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        // SAFETY: NUL-terminated strings and NULL-terminated arrays that
        // outlive the call; execve only returns on failure.
        unsafe { libc::execve(c_program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        fail(&exec_failure(&program, errno))
    }
}

/// The spec's environment, plus libcontainer's `HOME` when it has none.
fn with_home(mut env: Vec<String>) -> Vec<String> {
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        if let Some(home) = ENVS.get().and_then(|m| m.get("HOME")) {
            env.push(format!("HOME={home}"));
        }
    }
    env
}

/// runc's message for a failed `execve` of `program`.
fn exec_failure(program: &std::path::Path, errno: i32) -> String {
    let mut message = format!("exec {}: {}", program.display(), errno_words(errno));
    if errno == libc::ENOENT {
        if let Some(interpreter) = script_interpreter(program) {
            message.push_str(&format!(
                " (the script's interpreter {interpreter} is missing)"
            ));
        }
    }
    message
}

/// The `#!` interpreter of a script, if `program` is one.
fn script_interpreter(program: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(program).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    text.split_whitespace().next().map(str::to_string)
}

/// Go's words for an errno (the C library's, first letter in lower case).
pub(crate) fn errno_words(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Prints `message` on the container's stderr and ends the init with exit
/// code 1 (runc's and crun's code for a failed exec after the start).
fn fail(message: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "{message}");
    // SAFETY: _exit ends this (the container's init) process at once.
    unsafe { libc::_exit(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_use_gos_words() {
        let p = std::path::Path::new("/bin/app");
        assert_eq!(
            exec_failure(p, libc::ENOEXEC),
            "exec /bin/app: exec format error"
        );
        assert_eq!(
            exec_failure(p, libc::E2BIG),
            "exec /bin/app: argument list too long"
        );
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(&script, "#!/no/interp -x\necho\n").unwrap();
        assert!(exec_failure(&script, libc::ENOENT).ends_with(
            "no such file or directory (the script's interpreter /no/interp is missing)"
        ));
    }
}
