//! Shared scenarios for the low-level runtime tests: each builds a bundle on the
//! busybox test rootfs and drives one `OciRuntime` through a real container.

#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kiln_runtime::cgroups::{self, ContainerCgroup};
use kiln_runtime::oci::{ConsoleSocket, ExecRequest, OciRuntime, RunRequest, Stdio};
use oci_spec::runtime::{Process, Spec};

/// Hostname set in every test spec.
pub const HOSTNAME: &str = "kiln-oci-test";

/// The busybox rootfs tar, built once per test binary.
fn rootfs_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        // Cargo's per-target scratch dir: built once, reused by later runs (the
        // script writes OUT.tmp then renames, so a reader never sees half a tar).
        let tar = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-busybox-rootfs.tar");
        if tar.exists() {
            return tar;
        }
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/busybox/make-rootfs.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(&tar)
            .status()
            .unwrap();
        assert!(status.success(), "make-rootfs.sh failed");
        tar
    })
}

/// One container under test: its bundle, state directory and cgroup.
pub struct Case {
    pub id: String,
    pub dir: tempfile::TempDir,
    pub spec: Spec,
}

impl Case {
    /// A bundle for `args` (terminal off, network namespace on, hostname set,
    /// cgroups path `/kiln-test/<id>`); `config.json` is written by [`Case::write`].
    pub fn new(runtime: &str, scenario: &str, args: &[&str]) -> Self {
        let id = format!("{runtime}-{scenario}-{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("bundle/rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(rootfs_tar())
            .arg("-C")
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(status.success());
        let mut spec = Spec::default();
        spec.set_hostname(Some(HOSTNAME.into()));
        let mut process = spec.process().clone().unwrap();
        process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        process.set_terminal(Some(false));
        spec.set_process(Some(process));
        let mut linux = spec.linux().clone().unwrap();
        linux.set_cgroups_path(Some(format!("/kiln-test/{id}").into()));
        spec.set_linux(Some(linux));
        Self { id, dir, spec }
    }

    pub fn with_terminal(mut self) -> Self {
        let mut process = self.spec.process().clone().unwrap();
        process.set_terminal(Some(true));
        self.spec.set_process(Some(process));
        self
    }

    pub fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn cgroup(&self) -> ContainerCgroup {
        ContainerCgroup::new(&format!("/kiln-test/{}", self.id))
    }

    /// Writes config.json and runs the container.
    pub fn run(&self, rt: &dyn OciRuntime, stdio: Stdio) -> kiln_runtime::oci::Result<u32> {
        self.spec.save(self.bundle().join("config.json")).unwrap();
        rt.run(RunRequest {
            id: &self.id,
            bundle: &self.bundle(),
            state_dir: &self.state(),
            stdio,
        })
    }

    /// Deletes the container and checks nothing is left: no state, no cgroup dir.
    pub fn delete_and_check(&self, rt: &dyn OciRuntime) {
        rt.delete(&self.id, &self.state(), true).unwrap();
        let left: Vec<_> = std::fs::read_dir(self.state())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            left.is_empty(),
            "{}: state left behind: {left:?}",
            rt.name()
        );
        let dirs = self.cgroup().dirs();
        assert!(
            dirs.is_empty(),
            "{}: cgroup dirs left behind: {dirs:?}",
            rt.name()
        );
        let leftovers: Vec<_> = cgroups::leftover_dirs_under("kiln-test")
            .into_iter()
            .filter(|d| d.ends_with(&self.id))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Deleting again, or kill after delete, is not an error.
        rt.delete(&self.id, &self.state(), true).unwrap();
        rt.kill(&self.id, &self.state(), libc::SIGKILL, false)
            .unwrap();
    }
}

impl Drop for Case {
    /// After a failed assertion, kills what the container left running (thawing
    /// it first) and removes its cgroup, so one failure does not leak into the
    /// host or later runs.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let cgroup = self.cgroup();
        for dir in cgroup.dirs() {
            let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
            let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
        }
        for pid in cgroup.pids().unwrap_or_default() {
            // SAFETY: kill(2) with a pid and a signal number.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = cgroup.remove();
    }
}

/// A pipe, both ends close-on-exec.
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-int array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 returned two fresh descriptors we now own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

pub fn dev_null() -> OwnedFd {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap()
        .into()
}

/// Stdio with stdout (and stderr) to a pipe; returns the read end.
pub fn piped() -> (Stdio, OwnedFd) {
    let (read, write) = pipe();
    let stderr = write.try_clone().unwrap();
    (
        Stdio::Fds {
            stdin: dev_null(),
            stdout: write,
            stderr,
        },
        read,
    )
}

pub fn read_all(fd: OwnedFd) -> String {
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text).unwrap();
    text
}

/// How a process ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Waits (as subreaper) for `pid`, failing after 20 s.
pub fn wait(pid: u32) -> Exit {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on a specific pid with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
        assert!(
            rc >= 0,
            "waitpid({pid}): {}",
            std::io::Error::last_os_error()
        );
        if rc == pid as i32 {
            if libc::WIFEXITED(status) {
                return Exit::Code(libc::WEXITSTATUS(status));
            }
            return Exit::Signal(libc::WTERMSIG(status));
        }
        assert!(Instant::now() < deadline, "pid {pid} did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn ns_of(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .display()
        .to_string()
}

// ---- scenarios -------------------------------------------------------------

/// `echo hello` → "hello" on the pipe, exit 0.
pub fn echo_hello(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "echo", &["echo", "hello"]);
    let (stdio, out) = piped();
    let pid = case.run(rt, stdio).unwrap();
    assert_eq!(wait(pid), Exit::Code(0));
    assert_eq!(read_all(out), "hello\n");
    case.delete_and_check(rt);
}

/// `sh -c 'exit 3'` → 3.
pub fn exit_code(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "exit", &["sh", "-c", "exit 3"]);
    let (stdio, _out) = piped();
    let pid = case.run(rt, stdio).unwrap();
    assert_eq!(wait(pid), Exit::Code(3));
    case.delete_and_check(rt);
}

/// A missing program is an error from `run` that says "not found", and leaves
/// nothing behind.
pub fn not_found(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "notfound", &["no-such-program"]);
    let (stdio, _out) = piped();
    let err = case.run(rt, stdio).unwrap_err().to_string();
    eprintln!("{}: not found: {err}", rt.name());
    assert!(err.contains("not found"), "{}: {err}", rt.name());
    case.delete_and_check(rt);
}

/// A non-executable file is an error that says "permission denied".
pub fn permission_denied(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "noexec", &["/etc/passwd"]);
    let (stdio, _out) = piped();
    let err = case.run(rt, stdio).unwrap_err().to_string();
    eprintln!("{}: not executable: {err}", rt.name());
    assert!(
        err.to_lowercase().contains("permission denied"),
        "{}: {err}",
        rt.name()
    );
    case.delete_and_check(rt);
}

/// pause → frozen, resume → thawed, SIGTERM reaches the (trapping) init.
pub fn lifecycle(rt: &dyn OciRuntime) {
    let script = "trap 'exit 42' TERM; sleep 100 & wait";
    let case = Case::new(rt.name(), "life", &["sh", "-c", script]);
    let (stdio, _out) = piped();
    let pid = case.run(rt, stdio).unwrap();
    let cgroup = case.cgroup();
    // Give sh time to install its trap.
    std::thread::sleep(Duration::from_millis(200));
    assert!(cgroup.pids().unwrap().contains(&pid));
    assert!(!cgroup.frozen());
    rt.pause(&case.id, &case.state()).unwrap();
    assert!(cgroup.frozen(), "{}: not frozen after pause", rt.name());
    rt.resume(&case.id, &case.state()).unwrap();
    assert!(!cgroup.frozen(), "{}: frozen after resume", rt.name());
    assert!(cgroup.memory_usage().unwrap() > 0);
    assert!(cgroup.pids_current().unwrap() >= 2);
    rt.kill(&case.id, &case.state(), libc::SIGTERM, false)
        .unwrap();
    assert_eq!(wait(pid), Exit::Code(42));
    // Killing a stopped container is not an error.
    rt.kill(&case.id, &case.state(), libc::SIGTERM, false)
        .unwrap();
    case.delete_and_check(rt);
}

/// exec joins the container: output, hostname, pid and net namespaces.
pub fn exec(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "exec", &["sleep", "100"]);
    let (stdio, _out) = piped();
    let init = case.run(rt, stdio).unwrap();
    let run = |args: &[&str]| {
        let mut process: Process = case.spec.process().clone().unwrap();
        process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        let (stdio, out) = piped();
        let pid = rt
            .exec(ExecRequest {
                id: &case.id,
                state_dir: &case.state(),
                process: &process,
                stdio,
            })
            .unwrap();
        assert_eq!(wait(pid), Exit::Code(0), "{}: exec {args:?}", rt.name());
        read_all(out).trim().to_owned()
    };
    assert_eq!(run(&["echo", "in"]), "in");
    assert_eq!(run(&["hostname"]), HOSTNAME);
    let init = init.to_string();
    assert_eq!(run(&["readlink", "/proc/self/ns/pid"]), ns_of(&init, "pid"));
    assert_eq!(run(&["readlink", "/proc/self/ns/net"]), ns_of(&init, "net"));
    assert_ne!(ns_of(&init, "net"), ns_of("self", "net"));
    assert_eq!(run(&["readlink", "/proc/1/ns/mnt"]), ns_of(&init, "mnt"));
    rt.kill(&case.id, &case.state(), libc::SIGKILL, false)
        .unwrap();
    assert_eq!(wait(init.parse().unwrap()), Exit::Signal(libc::SIGKILL));
    case.delete_and_check(rt);
}

/// A terminal run: the pty master arrives on the console socket, `tty` prints
/// the slave's name.
pub fn terminal(rt: &dyn OciRuntime) {
    let case = Case::new(rt.name(), "tty", &["tty"]).with_terminal();
    let socket = ConsoleSocket::bind(case.dir.path().join("console.sock")).unwrap();
    let pid = case
        .run(
            rt,
            Stdio::Terminal {
                console_socket: socket.path().to_owned(),
            },
        )
        .unwrap();
    let master = socket.receive(Duration::from_secs(5)).unwrap();
    assert_eq!(wait(pid), Exit::Code(0));
    let mut text = Vec::new();
    let mut file = std::fs::File::from(master);
    let mut buf = [0u8; 256];
    // A pty master reports EIO once the slave side is closed and drained.
    while let Ok(n @ 1..) = file.read(&mut buf) {
        text.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.trim().starts_with("/dev/pts/"),
        "{}: tty printed {text:?}",
        rt.name()
    );
    case.delete_and_check(rt);
}

/// Every scenario, in order.
pub fn all(rt: &dyn OciRuntime) {
    echo_hello(rt);
    exit_code(rt);
    not_found(rt);
    permission_denied(rt);
    lifecycle(rt);
    exec(rt);
    terminal(rt);
}

/// Median wall time of `run` + wait + delete of `true`, over 20 runs.
pub fn median_true_ms(rt: &dyn OciRuntime) -> f64 {
    let mut times = Vec::new();
    for i in 0..20 {
        let case = Case::new(rt.name(), &format!("time{i}"), &["true"]);
        case.spec.save(case.bundle().join("config.json")).unwrap();
        let start = Instant::now();
        let pid = case
            .run(
                rt,
                Stdio::Fds {
                    stdin: dev_null(),
                    stdout: dev_null(),
                    stderr: dev_null(),
                },
            )
            .unwrap();
        assert_eq!(wait(pid), Exit::Code(0));
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        rt.delete(&case.id, &case.state(), true).unwrap();
    }
    times.sort_by(f64::total_cmp);
    times[10]
}
