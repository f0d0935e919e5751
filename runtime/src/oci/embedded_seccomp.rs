//! The embedded runtime's seccomp: a cached program installed by kiln's
//! executor, instead of libcontainer compiling the profile at every start.
//!
//! libcontainer 0.7 compiles `linux.seccomp` with libseccomp inside the
//! container's init, every time. When the runtime has a cache directory
//! (see [`super::Embedded::with_seccomp_cache`]), [`prepare`] instead takes
//! the compiled program from [`super::seccomp_bpf::cached_program`] and gives
//! libcontainer a copy of the spec without `linux.seccomp`; the init then
//! installs the program in [`LateSeccomp::install`], called by
//! [`super::executor::KilnExecutor`] first thing in `validate` — after
//! libcontainer has set up the namespaces, the root filesystem, the user and
//! the capabilities, before the init tells its parent it is ready and waits
//! for the start, which is where libcontainer itself loads the filter when
//! `no_new_privileges` is set (and where runc and crun load it too).
//!
//! # Privilege
//!
//! The kernel installs a filter only for a thread with `CAP_SYS_ADMIN` or
//! `no_new_privs`. Docker's semantics keep `no_new_privs` off by default and
//! the default capabilities lack `CAP_SYS_ADMIN`, which is why libcontainer
//! (like runc) loads the filter *before* dropping capabilities in that case.
//! kiln does the equivalent: the spec given to libcontainer also has
//! `CAP_SYS_ADMIN` in the effective and permitted sets (never in the
//! bounding, inheritable or ambient ones), and right after the filter is
//! installed the init removes it from both with `capset(2)`, before anything
//! of the container's program runs. The container's capabilities are then
//! exactly the spec's (a test reads `CapEff`/`CapPrm` from inside).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::runtime::{Capability, Spec};

use super::seccomp_bpf::{self, Program};
use super::{Result, RuntimeError};

/// What the init must do about seccomp itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateSeccomp {
    /// The compiled filter.
    pub program: Arc<Program>,
    /// Whether `CAP_SYS_ADMIN` was added (for loading) and must be removed.
    pub drop_sys_admin: bool,
}

/// The spec libcontainer gets and what the init installs, when the bundle's
/// spec has a cacheable seccomp profile; `None` leaves it all to
/// libcontainer. The copy is written as `<state_dir>/.kiln-bundle-<id>/config.json`;
/// the caller removes it once the container is created and records the
/// original bundle in libcontainer's state, so that `exec` (which reads the
/// recorded bundle) keeps applying the profile to exec'd processes.
pub fn prepare(
    cache: &Path,
    id: &str,
    bundle: &Path,
    state_dir: &Path,
) -> Result<Option<(PathBuf, LateSeccomp)>> {
    let config = bundle.join("config.json");
    let mut spec =
        Spec::load(&config).map_err(|e| failed(id, format!("{}: {e}", config.display())))?;
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) else {
        return Ok(None);
    };
    if !seccomp_bpf::cacheable(&seccomp) {
        return Ok(None);
    }
    let program =
        seccomp_bpf::cached_program(cache, &seccomp).map_err(|e| failed(id, e.to_string()))?;
    let drop_sys_admin = grant_sys_admin(&mut spec);
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
    }
    // A relative root is relative to the original bundle.
    if let Some(root) = spec.root_mut() {
        if root.path().is_relative() {
            let absolute = bundle.join(root.path());
            root.set_path(absolute);
        }
    }
    let dir = state_dir.join(format!(".kiln-bundle-{id}"));
    std::fs::create_dir_all(&dir).map_err(|source| RuntimeError::Io {
        context: format!("create {}", dir.display()),
        source,
    })?;
    spec.save(dir.join("config.json"))
        .map_err(|e| failed(id, format!("write {}: {e}", dir.display())))?;
    let late = LateSeccomp {
        program: Arc::new(program),
        drop_sys_admin,
    };
    Ok(Some((dir, late)))
}

fn failed(id: &str, message: String) -> RuntimeError {
    RuntimeError::Failed {
        runtime: "kiln".into(),
        operation: "create",
        id: id.to_owned(),
        message: format!("seccomp: {message}"),
    }
}

/// Adds `CAP_SYS_ADMIN` to the effective and permitted sets when the init
/// will need it to install the filter (no `no_new_privileges`, not already
/// there); returns whether it did.
fn grant_sys_admin(spec: &mut Spec) -> bool {
    let Some(process) = spec.process_mut() else {
        return false;
    };
    if process.no_new_privileges() == Some(true) {
        return false;
    }
    let Some(mut caps) = process.capabilities().clone() else {
        return false;
    };
    let has = |set: &Option<_>| {
        set.as_ref()
            .is_some_and(|s: &oci_spec::runtime::Capabilities| s.contains(&Capability::SysAdmin))
    };
    if has(caps.effective()) {
        return false;
    }
    let mut effective = caps.effective().clone().unwrap_or_default();
    effective.insert(Capability::SysAdmin);
    let mut permitted = caps.permitted().clone().unwrap_or_default();
    permitted.insert(Capability::SysAdmin);
    caps.set_effective(Some(effective));
    caps.set_permitted(Some(permitted));
    process.set_capabilities(Some(caps));
    true
}

impl LateSeccomp {
    /// In the container's init: installs the filter, then takes back the
    /// `CAP_SYS_ADMIN` that [`prepare`] lent for it.
    pub fn install(&self) -> std::io::Result<()> {
        self.program.load()?;
        if self.drop_sys_admin {
            drop_sys_admin()?;
        }
        Ok(())
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3` (two 32-bit data words).
const CAP_VERSION_3: u32 = 0x2008_0522;
/// `CAP_SYS_ADMIN`'s bit (21, in the first word).
const SYS_ADMIN_BIT: u32 = 1 << 21;

/// Removes `CAP_SYS_ADMIN` from the calling thread's effective and
/// permitted sets, leaving everything else as it is.
fn drop_sys_admin() -> std::io::Result<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget fills two data words for a version-3 header we own.
    if unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    data[0].effective &= !SYS_ADMIN_BIT;
    data[0].permitted &= !SYS_ADMIN_BIT;
    // SAFETY: capset reads the same header and two data words.
    if unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
