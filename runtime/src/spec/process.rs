//! The `process` section: argv, env, cwd, user, capabilities, rlimits.

use oci_spec::runtime::{
    LinuxCapabilitiesBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process,
    ProcessBuilder, UserBuilder,
};

use super::caps::to_oci;
use super::process_args::key_of;
use super::user::ResolvedUser;
use super::{SpecError, SpecOptions};

/// Docker's RLIMIT_NOFILE (soft, hard) for containers.
pub const NOFILE_LIMITS: (u64, u64) = (1024, 524_288);

/// Builds the process for `o`, running as `user` with the final `caps`.
pub fn build_process(
    o: &SpecOptions,
    user: &ResolvedUser,
    caps: &[String],
) -> Result<Process, SpecError> {
    if o.args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    let cwd = if o.cwd.is_empty() {
        "/"
    } else {
        o.cwd.as_str()
    };
    if !cwd.starts_with('/') {
        return Err(SpecError::RelativeCwd(o.cwd.clone()));
    }
    let mut env = o.env.clone();
    if !env.iter().any(|e| key_of(e) == "HOME") {
        env.push(format!("HOME={}", user.home));
    }
    let mut ub = UserBuilder::default().uid(user.uid).gid(user.gid);
    if !user.additional_gids.is_empty() {
        ub = ub.additional_gids(user.additional_gids.clone());
    }
    let set = to_oci(caps)?;
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .build()?;
    // The builder fills unset sets with oci-spec's own defaults; recent
    // Docker leaves inheritable and ambient empty, so clear them.
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let mut process = ProcessBuilder::default()
        .terminal(o.tty)
        .user(ub.build()?)
        .args(o.args.clone())
        .env(env)
        .cwd(cwd)
        .capabilities(capabilities)
        .rlimits(rlimits(&o.rlimits)?)
        .build()?;
    // `noNewPrivileges` is written only when true. Absent means false for
    // every runtime, but libcontainer 0.7 treats a present `false` like
    // `true` when ordering seccomp: it then loads the filter after dropping
    // CAP_SYS_ADMIN without no_new_privs, and the kernel refuses it
    // ("failed to load seccomp context"; measured here).
    process.set_no_new_privileges(o.no_new_privileges.then_some(true));
    Ok(process)
}

/// Docker's NOFILE default (unless a `--ulimit nofile` replaces it), then the
/// `--ulimit`s in order.
fn rlimits(user: &[super::Rlimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out = Vec::new();
    if !user.iter().any(|r| r.name == "nofile") {
        out.push(nofile_rlimit()?);
    }
    let value = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
    for r in user {
        out.push(
            PosixRlimitBuilder::default()
                .typ(rlimit_type(&r.name)?)
                .soft(value(r.soft))
                .hard(value(r.hard))
                .build()?,
        );
    }
    Ok(out)
}

/// `nofile` -> RLIMIT_NOFILE, for go-units' names.
fn rlimit_type(name: &str) -> Result<PosixRlimitType, SpecError> {
    use PosixRlimitType::*;
    Ok(match name {
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        other => {
            return Err(SpecError::InvalidResource(format!(
                "unknown ulimit {other:?}"
            )))
        }
    })
}

/// Docker's NOFILE limits clamped to this process's hard limit: without
/// CAP_SYS_RESOURCE the runtime could not raise them and would fail.
fn nofile_rlimit() -> Result<PosixRlimit, SpecError> {
    let (soft, hard) = NOFILE_LIMITS;
    let cap = current_nofile_hard().unwrap_or(hard);
    Ok(PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(soft.min(cap))
        .hard(hard.min(cap))
        .build()?)
}

/// The calling process's RLIMIT_NOFILE hard limit (None if unreadable).
pub fn current_nofile_hard() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    Some(lim.rlim_max)
}
