//! Seccomp programs compiled once, cached by digest, loaded directly.
//!
//! Turning a resolved profile (the spec's `linux.seccomp`) into a BPF
//! program with libseccomp costs several milliseconds for Docker's default
//! profile, and it is the same work for every container that uses the same
//! profile with the same capabilities. The embedded runtime therefore asks
//! [`cached_program`] for the program: it is compiled once (with the exact
//! translation libcontainer 0.7 applies in `initialize_seccomp`: the same
//! default action, architectures, filter flags, rules, unknown syscall names
//! skipped, rules equal to the default action skipped, duplicate argument
//! indexes split into separate rules), and stored under
//! `<root>/seccomp/<key>.bpf`, where the key is the sha256 of the profile's
//! JSON together with everything else the program depends on (this format's
//! version, libseccomp's version, the machine architecture and the kernel
//! release, whose API level decides which actions libseccomp may emit).
//!
//! # Cache entries
//!
//! An entry is written to a temp file, fsynced and renamed, so readers see a
//! whole entry or none; concurrent writers of the same key write the same
//! bytes. It starts with a header — magic `KILNBPF1`, the `seccomp(2)` filter
//! flags, the instruction count, and the sha256 of those and the
//! instructions — and is checked when loaded: a wrong magic, size, count
//! (1..=4096, the kernel's `BPF_MAXINSNS`) or checksum makes it a miss, and
//! the program is compiled and written again. The checksum finds damage, not
//! forgery: the cache lives under `--root`, which only root can write, like
//! every other piece of container state kiln trusts.
//!
//! Profiles with `SCMP_ACT_NOTIFY` rules are not cached (their listener
//! protocol stays with libcontainer).

use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use kiln_image::Digest;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
    ScmpVersion,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

/// The first bytes of every cache entry (also the format's version).
const MAGIC: &[u8; 8] = b"KILNBPF1";
/// Header: magic, flags (u32 LE), instruction count (u32 LE), sha256.
const HEADER_LEN: usize = 8 + 4 + 4 + 32;
/// One `struct sock_filter`.
const INSN_LEN: usize = 8;
/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
const MAX_INSNS: usize = 4096;

/// `seccomp(2)` filter flags (`SECCOMP_FILTER_FLAG_*`).
const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// What went wrong compiling or caching a seccomp program.
#[derive(Debug, thiserror::Error)]
pub enum SeccompBpfError {
    /// libseccomp refused the profile or failed to export it.
    #[error("compile seccomp profile: {what}: {reason}")]
    Compile {
        /// The step (`default action`, `architecture SCMP_ARCH_X86`, `rule for mount`…).
        what: String,
        /// libseccomp's words.
        reason: String,
    },
    /// Reading or writing a cache entry failed.
    #[error("seccomp cache {path}: {source}")]
    Io {
        /// The entry or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A compiled filter, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// `SECCOMP_FILTER_FLAG_*` to load it with (from the profile's `flags`).
    pub flags: u32,
    /// The `struct sock_filter` array, in native byte order.
    pub instructions: Vec<u8>,
}

impl Program {
    /// Installs the filter on the calling thread. The caller must hold
    /// `CAP_SYS_ADMIN` or have set `no_new_privs` (the kernel's rule).
    pub fn load(&self) -> std::io::Result<()> {
        let prog = libc::sock_fprog {
            len: (self.instructions.len() / INSN_LEN) as u16,
            filter: self.instructions.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at `len` whole sock_filter records that
        // outlive the call; the kernel copies them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The cache entry's bytes (see the module docs).
    fn encode(&self) -> Vec<u8> {
        let count = (self.instructions.len() / INSN_LEN) as u32;
        let mut out = Vec::with_capacity(HEADER_LEN + self.instructions.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(checksum(self.flags, count, &self.instructions).as_bytes());
        out.extend_from_slice(&self.instructions);
        out
    }

    /// A cache entry's program, or `None` if it is not a whole, intact entry.
    fn decode(bytes: &[u8]) -> Option<Program> {
        let (header, instructions) = bytes.split_at_checked(HEADER_LEN)?;
        if &header[..8] != MAGIC {
            return None;
        }
        let flags = u32::from_le_bytes(header[8..12].try_into().ok()?);
        let count = u32::from_le_bytes(header[12..16].try_into().ok()?);
        let whole = (1..=MAX_INSNS).contains(&(count as usize))
            && instructions.len() == count as usize * INSN_LEN
            && checksum(flags, count, instructions).as_bytes()[..] == header[16..48];
        whole.then(|| Program {
            flags,
            instructions: instructions.to_vec(),
        })
    }
}

fn checksum(flags: u32, count: u32, instructions: &[u8]) -> Digest {
    let mut data = Vec::with_capacity(8 + instructions.len());
    data.extend_from_slice(&flags.to_le_bytes());
    data.extend_from_slice(&count.to_le_bytes());
    data.extend_from_slice(instructions);
    Digest::of(&data)
}

/// Whether [`cached_program`] handles `seccomp` (no `SCMP_ACT_NOTIFY`).
pub fn cacheable(seccomp: &LinuxSeccomp) -> bool {
    seccomp.default_action() != LinuxSeccompAction::ScmpActNotify
        && !seccomp
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify)
}

/// The cache key of `seccomp`: sha256 of everything its program depends on.
pub fn cache_key(seccomp: &LinuxSeccomp) -> Digest {
    let version = ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut preimage = format!(
        "{}\nlibseccomp {version}\narch {}\nkernel {}\n",
        String::from_utf8_lossy(MAGIC),
        std::env::consts::ARCH,
        kernel_release()
    )
    .into_bytes();
    preimage.extend(serde_json::to_vec(seccomp).unwrap_or_default());
    Digest::of(&preimage)
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The program for `seccomp`: from `<dir>/<key>.bpf` when that entry is
/// intact, else compiled and written there (atomically) first.
pub fn cached_program(dir: &Path, seccomp: &LinuxSeccomp) -> Result<Program, SeccompBpfError> {
    let path = dir.join(format!("{}.bpf", cache_key(seccomp).hex()));
    if let Some(program) = std::fs::read(&path).ok().and_then(|b| Program::decode(&b)) {
        return Ok(program);
    }
    let program = compile(seccomp)?;
    write_atomically(dir, &path, &program.encode())?;
    Ok(program)
}

/// Writes `bytes` to `path` through a temp file in `dir`: write, fsync, rename.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), SeccompBpfError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SeccompBpfError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut temp = tempfile_in(dir).map_err(io(dir))?;
    temp.1.write_all(bytes).map_err(io(&temp.0))?;
    temp.1.sync_all().map_err(io(&temp.0))?;
    let renamed = std::fs::rename(&temp.0, path).map_err(io(path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp.0);
    }
    renamed
}

/// A new file `.tmp-<pid>-<nanos>-<n>` in `dir`, created exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for n in 0.. {
        let path = dir.join(format!(".tmp-{}-{nanos}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// Compiles `seccomp` with libseccomp as libcontainer 0.7 would (see the
/// module docs), exporting the program instead of loading it.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Program, SeccompBpfError> {
    let failed = |what: String| {
        move |e: libseccomp::error::SeccompError| SeccompBpfError::Compile {
            what,
            reason: e.to_string(),
        }
    };
    let default = action(seccomp.default_action(), seccomp.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(failed("default action".into()))?;
    for arch in seccomp.architectures().iter().flatten() {
        let name = serde_json::to_value(arch)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let scmp: ScmpArch = name
            .parse()
            .map_err(failed(format!("architecture {name}")))?;
        ctx.add_arch(scmp)
            .map_err(failed(format!("architecture {name}")))?;
    }
    for syscall in seccomp.syscalls().iter().flatten() {
        let rule_action = action(syscall.action(), syscall.errno_ret())?;
        if rule_action == default {
            continue;
        }
        for name in syscall.names() {
            let Ok(number) = ScmpSyscall::from_name(name) else {
                continue; // unknown to libseccomp or this kernel: skipped, as libcontainer does
            };
            let args = syscall.args().clone().unwrap_or_default();
            let compares: Vec<ScmpArgCompare> = args
                .iter()
                .map(|a| {
                    ScmpArgCompare::new(a.index() as u32, op(a.op(), a.value_two()), a.value())
                })
                .collect();
            let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
            indexes.sort_unstable();
            let duplicates = indexes.windows(2).any(|w| w[0] == w[1]);
            let fail = failed(format!("rule for {name}"));
            if compares.is_empty() {
                ctx.add_rule(rule_action, number).map_err(fail)?;
            } else if duplicates {
                for compare in &compares {
                    ctx.add_rule_conditional(rule_action, number, std::slice::from_ref(compare))
                        .map_err(failed(format!("rule for {name}")))?;
                }
            } else {
                ctx.add_rule_conditional(rule_action, number, &compares)
                    .map_err(fail)?;
            }
        }
    }
    let instructions = export(&ctx)?;
    let count = instructions.len() / INSN_LEN;
    if !(1..=MAX_INSNS).contains(&count) || !instructions.len().is_multiple_of(INSN_LEN) {
        return Err(SeccompBpfError::Compile {
            what: "export".into(),
            reason: format!("{count} instructions: the kernel takes 1 to {MAX_INSNS}"),
        });
    }
    Ok(Program {
        flags: flags(seccomp),
        instructions,
    })
}

/// The `seccomp(2)` flags of the profile's `flags` list.
fn flags(seccomp: &LinuxSeccomp) -> u32 {
    seccomp.flags().iter().flatten().fold(0, |acc, flag| {
        acc | match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        }
    })
}

/// The program libseccomp generates for `ctx` (through a memfd: the
/// in-memory export needs libseccomp 2.6, Debian 12 has 2.5).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompBpfError> {
    let io = |source| SeccompBpfError::Io {
        path: PathBuf::from("memfd:kiln-seccomp"),
        source,
    };
    // SAFETY: memfd_create with a constant name; the fd is owned below.
    let fd = unsafe { libc::memfd_create(c"kiln-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    ctx.export_bpf(file.as_fd())
        .map_err(|e| SeccompBpfError::Compile {
            what: "export".into(),
            reason: e.to_string(),
        })?;
    let mut bytes = Vec::new();
    file.rewind().map_err(io)?;
    file.read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// libcontainer's translation of an action (errno default: `EPERM`).
fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, SeccompBpfError> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(errno.try_into().map_err(|_| SeccompBpfError::Compile {
                what: "trace action".into(),
                reason: format!("errno {errno} does not fit in 16 bits"),
            })?)
        }
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
    })
}

fn op(op: LinuxSeccompOperator, datum_b: Option<u64>) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(datum_b.unwrap_or(0)),
    }
}
