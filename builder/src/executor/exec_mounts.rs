//! RUN --mount: host-side preparation of bind, cache, tmpfs, secret and
//! inline-script mounts, as runtime [`MountSpec`]s.
//!
//! Choices: a bind of another stage or image mounts a view of its snapshot
//! (read-only), or an active snapshot that is thrown away afterwards (`rw`);
//! a bind of the context is an overlay view of the context folder without
//! what the context leaves out (see `context_view`), with a throw-away upper
//! folder for `rw`. Either way the `source` is resolved inside that root
//! chroot-style and mounted from its descriptor ([`kiln_inroot`]): no link or
//! `..` in a stage, an image or the context reaches the host. Cache mounts live in
//! `<root>/builder/cache-mounts/<sha256(id)>` and persist; `sharing=locked`
//! holds an flock for the whole step, `private` uses a fresh folder when the
//! cache is locked by another step. Secrets are files on a tmpfs mounted in
//! the step's work folder, bind-mounted read-only: never in a layer. An
//! SSH agent is reached through a [`SshProxy`] socket in the step's work
//! folder (the host's socket is never mounted); an ssh mount whose id was
//! not forwarded with `--ssh` is skipped unless `required`, as in BuildKit.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kiln_inroot::{bind_fd, Root};
use kiln_parser::dockerfile::instructions::CacheSharing;
use kiln_runtime::spec::MountSpec;
use kiln_snapshotter::{mount, Labels, Mount};
use sha2::{Digest as _, Sha256};

use super::context_view::ContextView;
use super::snapshot::unique;
use super::ssh_proxy::SshProxy;
use super::{KilnExecutor, Output};
use crate::graph::{ExecMount, MountKind};
use crate::solver::ExecError;

/// Host-side resources of a step's mounts, released on drop.
pub struct PreparedMounts<'a> {
    ex: &'a KilnExecutor,
    /// The runtime mounts, in order.
    pub specs: Vec<MountSpec>,
    /// Extra `KEY=value` env entries (secrets with `env=`).
    pub env: Vec<String>,
    host_mounts: Vec<PathBuf>,
    snapshots: Vec<String>,
    locks: Vec<File>,
    temp_dirs: Vec<PathBuf>,
    proxies: Vec<SshProxy>,
}

impl Drop for PreparedMounts<'_> {
    fn drop(&mut self) {
        self.proxies.clear();
        for dir in self.host_mounts.iter().rev() {
            let _ = mount::unmount_all(dir, true);
        }
        for key in &self.snapshots {
            let _ = self.ex.snapshotter.remove(key);
        }
        for dir in &self.temp_dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
        self.locks.clear();
    }
}

fn io_err(what: &str, path: &Path, e: impl std::fmt::Display) -> ExecError {
    ExecError::other(format!("{what} {}: {e}", path.display()))
}

/// Prepares every mount of a RUN; `work` is the step's scratch folder.
pub fn prepare<'a>(
    ex: &'a KilnExecutor,
    mounts: &[ExecMount],
    inputs: &[Output],
    work: &Path,
) -> Result<PreparedMounts<'a>, ExecError> {
    let mut p = PreparedMounts {
        ex,
        specs: Vec::new(),
        env: Vec::new(),
        host_mounts: Vec::new(),
        snapshots: Vec::new(),
        locks: Vec::new(),
        temp_dirs: Vec::new(),
        proxies: Vec::new(),
    };
    for (n, m) in mounts.iter().enumerate() {
        let dir = work.join(format!("mount-{n}"));
        p.add(m, inputs, &dir)?;
    }
    Ok(p)
}

impl PreparedMounts<'_> {
    fn bind(&mut self, source: PathBuf, target: &str, read_only: bool) {
        self.specs.push(MountSpec::Bind {
            source,
            destination: target.to_string(),
            read_only,
        });
    }

    fn mount_on(&mut self, mounts: &[Mount], dir: &Path) -> Result<(), ExecError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        mount::mount_all(mounts, dir).map_err(|e| io_err("mount", dir, e))?;
        self.host_mounts.push(dir.to_path_buf());
        Ok(())
    }

    fn add(&mut self, m: &ExecMount, inputs: &[Output], dir: &Path) -> Result<(), ExecError> {
        match &m.kind {
            MountKind::Bind {
                input,
                source,
                read_only,
            } => self.add_bind(m, inputs, *input, source, *read_only, dir),
            MountKind::Cache {
                id,
                sharing,
                mode,
                uid,
                gid,
                read_only,
                ..
            } => self.add_cache(m, id, sharing, (*mode, *uid, *gid), *read_only, dir),
            MountKind::Tmpfs { size } => {
                let mut options = vec!["exec".to_string()];
                if let Some(size) = size {
                    options.push(format!("size={size}"));
                }
                self.specs.push(MountSpec::Tmpfs {
                    destination: m.target.clone(),
                    options,
                });
                Ok(())
            }
            MountKind::Secret {
                id,
                env,
                required,
                mode,
                uid,
                gid,
            } => {
                let Some(bytes) = self.ex.secrets.get(id).cloned() else {
                    if *required {
                        return Err(ExecError::other(format!("secret {id} not found")));
                    }
                    return Ok(());
                };
                if let Some(name) = env {
                    self.env
                        .push(format!("{name}={}", String::from_utf8_lossy(&bytes)));
                }
                // `env=` without `target=` exposes the secret as a variable only.
                if m.target.is_empty() {
                    return Ok(());
                }
                let file = self.secret_file(dir, &bytes, (*mode, *uid, *gid))?;
                self.bind(file, &m.target, true);
                Ok(())
            }
            MountKind::Ssh {
                id,
                required,
                mode,
                uid,
                gid,
            } => self.add_ssh(m, id, *required, (*mode, *uid, *gid), dir),
            MountKind::Inline { content, mode } => {
                std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
                let file = dir.join("script");
                std::fs::write(&file, content).map_err(|e| io_err("write", &file, e))?;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode))
                    .map_err(|e| io_err("chmod", &file, e))?;
                self.bind(file, &m.target, true);
                Ok(())
            }
        }
    }

    fn add_bind(
        &mut self,
        m: &ExecMount,
        inputs: &[Output],
        slot: usize,
        source: &str,
        read_only: bool,
        dir: &Path,
    ) -> Result<(), ExecError> {
        let input = inputs
            .get(slot)
            .ok_or_else(|| ExecError::other(format!("bind mount input {slot} is missing")))?;
        let view = dir.join("view");
        match input {
            Output::Context { context, .. } => {
                let layers = ContextView::prepare(context, &dir.join("mask"))?;
                let writable = (dir.join("upper"), dir.join("work"));
                if !read_only {
                    for d in [&writable.0, &writable.1] {
                        std::fs::create_dir_all(d).map_err(|e| io_err("create", d, e))?;
                    }
                }
                let overlay = layers.overlay((!read_only).then(|| (&*writable.0, &*writable.1)));
                self.mount_on(&[overlay], &view)?;
                self.temp_dirs.push(dir.to_path_buf());
            }
            Output::Root(root) => {
                if let Some(parent) = &root.snapshot {
                    let key = unique("build-bind");
                    let sn = &self.ex.snapshotter;
                    let mounts = if read_only {
                        sn.view(&key, Some(parent))
                    } else {
                        sn.prepare(&key, Some(parent), &Labels::new())
                    }
                    .map_err(|e| ExecError::other(format!("snapshot of {parent}: {e}")))?;
                    self.snapshots.push(key);
                    self.mount_on(&mounts, &view)?;
                } else {
                    std::fs::create_dir_all(&view).map_err(|e| io_err("create", &view, e))?;
                }
            }
        }
        let resolved = self.bind_source_in(&view, source, &dir.join("source"))?;
        self.bind(resolved, &m.target, read_only);
        Ok(())
    }

    /// Resolves a bind mount's `source` inside the mounted `view`
    /// chroot-style (BuildKit's rule: links and `..` never leave it) and
    /// bind-mounts what it resolved to on `at`, from its descriptor.
    fn bind_source_in(
        &mut self,
        view: &Path,
        source: &str,
        at: &Path,
    ) -> Result<PathBuf, ExecError> {
        let root = Root::open(view).map_err(|e| ExecError::other(format!("bind mount: {e}")))?;
        let fd = root.resolve(source).map_err(|e| {
            if e.is_not_found() {
                ExecError::other(format!("bind mount source {source:?}: not found"))
            } else {
                ExecError::other(format!("bind mount source {source:?}: {e}"))
            }
        })?;
        bind_fd(fd.as_fd(), at).map_err(|e| io_err("bind", at, e))?;
        self.host_mounts.push(at.to_path_buf());
        Ok(at.to_path_buf())
    }

    fn add_cache(
        &mut self,
        m: &ExecMount,
        id: &str,
        sharing: &CacheSharing,
        (mode, uid, gid): (u32, u32, u32),
        read_only: bool,
        dir: &Path,
    ) -> Result<(), ExecError> {
        let base = self.ex.root.join("builder/cache-mounts");
        let name = hex::encode(Sha256::digest(id.as_bytes()));
        let mut path = base.join(&name);
        let lock_path = base.join(format!("{name}.lock"));
        std::fs::create_dir_all(&base).map_err(|e| io_err("create", &base, e))?;
        match sharing {
            CacheSharing::Shared => {}
            CacheSharing::Locked => self.locks.push(lock(&lock_path)?),
            CacheSharing::Private => match try_lock(&lock_path)? {
                Some(file) => self.locks.push(file),
                None => {
                    path = dir.join("private-cache");
                    self.temp_dirs.push(dir.to_path_buf());
                }
            },
        }
        if !path.exists() {
            std::fs::create_dir_all(&path).map_err(|e| io_err("create", &path, e))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io_err("chmod", &path, e))?;
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|e| io_err("chown", &path, e))?;
        }
        self.bind(path, &m.target, read_only);
        Ok(())
    }

    fn add_ssh(
        &mut self,
        m: &ExecMount,
        id: &str,
        required: bool,
        owner_mode: (u32, u32, u32),
        dir: &Path,
    ) -> Result<(), ExecError> {
        let Some(agent) = self.ex.ssh_agents.get(id) else {
            if required {
                return Err(ExecError::other(format!(
                    "ssh agent {id}: not forwarded (pass --ssh {id})"
                )));
            }
            return Ok(());
        };
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err("chmod", dir, e))?;
        self.temp_dirs.push(dir.to_path_buf());
        let socket = dir.join("agent.sock");
        let proxy = SshProxy::start(&socket, agent, owner_mode).map_err(|e| {
            ExecError::other(format!(
                "ssh agent {id}: forward {} at {}: {e}",
                agent.display(),
                socket.display()
            ))
        })?;
        self.proxies.push(proxy);
        self.bind(socket, &m.target, true);
        Ok(())
    }

    fn secret_file(
        &mut self,
        dir: &Path,
        bytes: &[u8],
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<PathBuf, ExecError> {
        let tmpfs = Mount {
            kind: "tmpfs".into(),
            source: "tmpfs".into(),
            target: None,
            options: vec!["size=1m".into(), "mode=0700".into()],
        };
        self.mount_on(&[tmpfs], dir)?;
        let file = dir.join("secret");
        std::fs::write(&file, bytes).map_err(|e| io_err("write", &file, e))?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_err("chmod", &file, e))?;
        std::os::unix::fs::chown(&file, Some(uid), Some(gid))
            .map_err(|e| io_err("chown", &file, e))?;
        Ok(file)
    }
}

fn open_lock(path: &Path) -> Result<File, ExecError> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_err("open", path, e))
}

fn flock(file: &File, flags: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; no memory effects.
    if unsafe { libc::flock(file.as_raw_fd(), flags) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// An exclusive flock on `path`, waiting for it (released when the file closes).
fn lock(path: &Path) -> Result<File, ExecError> {
    let file = open_lock(path)?;
    flock(&file, libc::LOCK_EX).map_err(|e| io_err("lock", path, e))?;
    Ok(file)
}

/// An exclusive flock on `path` if free now.
fn try_lock(path: &Path) -> Result<Option<File>, ExecError> {
    let file = open_lock(path)?;
    match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
        Err(e) => Err(io_err("lock", path, e)),
    }
}
